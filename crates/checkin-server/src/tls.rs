//! TLS without a certificate authority. A venue has no domain name and no
//! CA: `checkin serve` and every hall hub make their own certificate once
//! (ECDSA P-256, self-signed, with rcgen) and keep it. Desks do not check
//! it against a CA; they pin it by its SHA-256 fingerprint, which they get
//! by a channel they already trust: the pairing link or QR for the central
//! server (`…&fp=…`), a coordinator's signed `hub_key` change for a hub.
//! The crypto is rustls with the *ring* provider.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot make a TLS certificate: {0}")]
    Generate(String),
    #[error(
        "the TLS files {path} cannot be read or written: {source}; check the folder's permissions, or pass --tls-cert and --tls-key"
    )]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the TLS certificate or key is not valid PEM ({0}): remove the files to have new ones made, or pass others"
    )]
    Pem(String),
    #[error("the TLS certificate and key do not go together: {0}")]
    Config(String),
}

/// A certificate and its key, in PEM.
#[derive(Clone)]
pub struct Identity {
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identity(fp {})", self.fingerprint().unwrap_or_default())
    }
}

impl Identity {
    /// A new self-signed certificate for `names` (host names or addresses;
    /// desks pin the certificate, so the names are for people reading it).
    pub fn generate(names: &[String]) -> Result<Identity, TlsError> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| TlsError::Generate(e.to_string()))?;
        let mut names: Vec<String> = names.to_vec();
        if names.is_empty() {
            names.push("checkin".into());
        }
        let mut params =
            rcgen::CertificateParams::new(names).map_err(|e| TlsError::Generate(e.to_string()))?;
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            "checkin (self-signed, pinned by desks)",
        );
        // Valid for years: desks pin it, and an event's server must not
        // stop working at a date nobody remembers.
        params.not_before = rcgen::date_time_ymd(2025, 1, 1);
        params.not_after = rcgen::date_time_ymd(2045, 1, 1);
        let cert = params
            .self_signed(&key)
            .map_err(|e| TlsError::Generate(e.to_string()))?;
        Ok(Identity {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// The certificate's DER.
    pub fn cert_der(&self) -> Result<CertificateDer<'static>, TlsError> {
        CertificateDer::from_pem_slice(self.cert_pem.as_bytes()).map_err(|e| TlsError::Pem(e.to_string()))
    }

    /// SHA-256 of the certificate's DER, lower-case hex: what desks pin.
    pub fn fingerprint(&self) -> Result<String, TlsError> {
        Ok(fingerprint(&self.cert_der()?))
    }

    /// The certificate and key kept in `dir` (`cert.pem`, `key.pem`, the
    /// key readable by its owner only), made there the first time.
    pub fn load_or_create(dir: &Path, names: &[String]) -> Result<Identity, TlsError> {
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| TlsError::Io { path, source }
        };
        if cert.exists() && key.exists() {
            return Ok(Identity {
                cert_pem: std::fs::read_to_string(&cert).map_err(io(&cert))?,
                key_pem: std::fs::read_to_string(&key).map_err(io(&key))?,
            });
        }
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let id = Identity::generate(names)?;
        write_private(&key, &id.key_pem).map_err(io(&key))?;
        std::fs::write(&cert, &id.cert_pem).map_err(io(&cert))?;
        Ok(id)
    }

    /// A rustls server configuration serving this certificate.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let cert = self.cert_der()?;
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes())
            .map_err(|e| TlsError::Pem(e.to_string()))?;
        let config =
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| TlsError::Config(e.to_string()))?
                .with_no_client_auth()
                .with_single_cert(vec![cert], key)
                .map_err(|e| TlsError::Config(e.to_string()))?;
        Ok(Arc::new(config))
    }
}

/// SHA-256 of a certificate's DER, lower-case hex.
pub fn fingerprint(cert: &CertificateDer<'_>) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(cert.as_ref()))
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)?.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = Identity::load_or_create(dir.path(), &["127.0.0.1".into()]).unwrap();
        let b = Identity::load_or_create(dir.path(), &[]).unwrap();
        assert_eq!(a.fingerprint().unwrap(), b.fingerprint().unwrap());
        assert_eq!(a.fingerprint().unwrap().len(), 64);
        a.server_config().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("key.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let c = Identity::generate(&[]).unwrap();
        assert_ne!(a.fingerprint().unwrap(), c.fingerprint().unwrap());
    }
}
