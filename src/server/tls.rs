//! TLS (rustls, ring provider) for the HTTP listener and the TCP ingest listener, from
//! `tls.cert` / `tls.key` (PEM). warp 0.4 has no TLS of its own: both listeners accept
//! TCP, then run the handshake here, in the connection's own task, within
//! [`HANDSHAKE_TIMEOUT`], so a peer that never finishes it holds nothing but its slot.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

use crate::config::{ConfigError, TlsConfig};

/// A peer has this long from connecting to completing the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

fn invalid(key: &str, message: String) -> ConfigError {
    ConfigError::Invalid { key: key.into(), message }
}

/// The acceptors of the two listeners (same certificate; only ALPN differs).
#[derive(Clone)]
pub struct Acceptors {
    /// Offers ALPN `http/1.1` only: WebSocket upgrades (/ws, /ingest) need HTTP/1.1, and
    /// it is all the HTTP listener serves.
    pub http: TlsAcceptor,
    /// No ALPN: NDJSON senders need not offer any.
    pub tcp: TlsAcceptor,
}

/// Builds the acceptors from `[tls]`, or `None` when TLS is not configured. Paths are
/// relative to `base_dir` (the config file's directory). Errors name the key.
pub fn acceptors(tls: &TlsConfig, base_dir: &Path) -> Result<Option<Acceptors>, ConfigError> {
    let (Some(cert), Some(key)) = (&tls.cert, &tls.key) else {
        if tls.cert.is_some() || tls.key.is_some() {
            return Err(invalid("tls", "set both tls.cert and tls.key, or neither".into()));
        }
        return Ok(None);
    };
    let read = |k: &str, p: &str| {
        let path = base_dir.join(p);
        std::fs::read(&path).map_err(|e| invalid(k, format!("cannot read {}: {e}", path.display())))
    };
    let cert_pem = read("tls.cert", cert)?;
    let key_pem = read("tls.key", key)?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| invalid("tls.cert", format!("{cert}: not a PEM certificate chain: {e}")))?;
    if chain.is_empty() {
        return Err(invalid("tls.cert", format!("{cert}: no CERTIFICATE block found")));
    }
    let key_der = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| invalid("tls.key", format!("{key}: no PEM private key (PKCS#8, PKCS#1 or SEC1): {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid("tls", e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| invalid("tls.key", format!("does not fit tls.cert: {e}")))?;
    let mut http = config.clone();
    http.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(Acceptors { http: TlsAcceptor::from(Arc::new(http)), tcp: TlsAcceptor::from(Arc::new(config)) }))
}
