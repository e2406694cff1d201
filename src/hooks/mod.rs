//! Alert hooks (SPEC §5.5). Being written — TEMPORARY STUB by the lead so the crate builds;
//! the hooks helper replaces this whole file.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct HookConfig {}
#[derive(Debug)]
pub struct HookError(pub String);
impl std::fmt::Display for HookError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(&self.0) }
}
pub struct Hooks;
impl Hooks {
    pub fn validate(_h: &[HookConfig], _b: &std::path::Path) -> Result<(), HookError> { Ok(()) }
}
