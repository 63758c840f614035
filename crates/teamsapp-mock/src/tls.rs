//! HTTPS: a self-signed certificate for `localhost`, `127.0.0.1` and `::1` generated with rcgen
//! and written where clients can trust it, or a certificate and key loaded from files. The
//! handshakes run in each connection's task (`connections.rs`), under a timeout.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::config::TlsConfig;
use crate::error::Error;

/// The file a self-signed certificate is written to.
pub const CERT_FILE_NAME: &str = "emulator-cert.pem";

/// A ready TLS server configuration.
#[derive(Debug, Clone)]
pub(crate) struct TlsSetup {
    pub(crate) server_config: Arc<rustls::ServerConfig>,
    /// Where the self-signed certificate was written (none for given files).
    pub(crate) cert_path: Option<PathBuf>,
    /// The certificate (PEM), for clients in the same process.
    pub(crate) cert_pem: String,
}

/// Builds the TLS configuration `config` asks for.
pub(crate) fn setup(
    config: &TlsConfig,
    data_dir: Option<&Path>,
) -> Result<Option<TlsSetup>, Error> {
    match config {
        TlsConfig::Off => Ok(None),
        TlsConfig::SelfSigned { dir } => {
            let dir = match (dir.as_deref(), data_dir) {
                (Some(dir), _) | (None, Some(dir)) => dir.to_path_buf(),
                (None, None) => unique_temp_dir()?,
            };
            self_signed(&dir).map(Some)
        }
        TlsConfig::Files { cert, key } => from_files(cert, key).map(Some),
    }
}

fn unique_temp_dir() -> Result<PathBuf, Error> {
    let dir = std::env::temp_dir().join(format!(
        "teamsapp-mock-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::io("creating the certificate directory", e))?;
    Ok(dir)
}

fn self_signed(dir: &Path) -> Result<TlsSetup, Error> {
    let names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let certified =
        rcgen::generate_simple_self_signed(names).map_err(|e| Error::Tls(e.to_string()))?;
    let cert_pem = certified.cert.pem();
    std::fs::create_dir_all(dir).map_err(|e| Error::io("creating the certificate directory", e))?;
    let cert_path = dir.join(CERT_FILE_NAME);
    write_beside(&cert_path, cert_pem.as_bytes())
        .map_err(|e| Error::io(format!("writing {}", cert_path.display()), e))?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let server_config = server_config(vec![certified.cert.der().clone()], key)?;
    Ok(TlsSetup {
        server_config,
        cert_path: Some(cert_path),
        cert_pem,
    })
}

/// Writes `bytes` to a new file beside `path` (`O_EXCL`, so never through a symbolic link) and
/// renames it over `path`: a link planted there is replaced, its target untouched.
fn write_beside(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(
        ".{}.{}.tmp",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let tmp = PathBuf::from(tmp);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

fn from_files(cert: &Path, key: &Path) -> Result<TlsSetup, Error> {
    let cert_pem = std::fs::read_to_string(cert)
        .map_err(|e| Error::io(format!("reading {}", cert.display()), e))?;
    let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Tls(format!("reading {}: {e}", cert.display())))?;
    if chain.is_empty() {
        return Err(Error::Tls(format!("no certificate in {}", cert.display())));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| Error::Tls(format!("reading {}: {e}", key.display())))?;
    Ok(TlsSetup {
        server_config: server_config(chain, key)?,
        cert_path: None,
        cert_pem,
    })
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| Error::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_certificate_is_written_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let tls = setup(&TlsConfig::SelfSigned { dir: None }, Some(dir.path()))
            .unwrap()
            .unwrap();
        let path = tls.cert_path.clone().unwrap();
        assert_eq!(path, dir.path().join(CERT_FILE_NAME));
        let pem = std::fs::read_to_string(&path).unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(pem, tls.cert_pem);
        assert!(setup(&TlsConfig::Off, None).unwrap().is_none());
        let missing = TlsConfig::Files {
            cert: dir.path().join("nope.pem"),
            key: dir.path().join("nope.key"),
        };
        assert!(setup(&missing, None).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn the_certificate_replaces_a_symlink_and_never_writes_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("precious.txt");
        std::fs::write(&target, "someone else's file").unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join(CERT_FILE_NAME)).unwrap();
        let tls = setup(&TlsConfig::SelfSigned { dir: None }, Some(dir.path()))
            .unwrap()
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(&target).unwrap(),
            "someone else's file"
        );
        let path = tls.cert_path.unwrap();
        assert!(std::fs::symlink_metadata(&path).unwrap().is_file());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), tls.cert_pem);
        let names = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(names, 2, "no temporary file left");
    }
}
