//! Bearer tokens: constant-time comparison, and where a request may carry one.

pub use crate::net::token_eq;

/// Whether a request is allowed: no token configured, or a matching
/// `Authorization: Bearer` header, or (WebSocket upgrades only) a `token` query parameter.
pub fn allowed(expected: Option<&str>, header: Option<&str>, query_token: Option<&str>) -> bool {
    let Some(expected) = expected else { return true };
    if let Some(h) = header.and_then(|h| h.strip_prefix("Bearer "))
        && token_eq(h.trim(), expected)
    {
        return true;
    }
    query_token.is_some_and(|t| token_eq(t, expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert!(allowed(None, None, None));
        assert!(allowed(Some("s3cret"), Some("Bearer s3cret"), None));
        assert!(allowed(Some("s3cret"), None, Some("s3cret")));
        assert!(!allowed(Some("s3cret"), Some("Bearer s3cre"), None));
        assert!(!allowed(Some("s3cret"), Some("s3cret"), None));
        assert!(!allowed(Some("s3cret"), None, None));
        assert!(!token_eq("abc", "abd"));
    }
}
