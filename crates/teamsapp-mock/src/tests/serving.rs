//! Over a real socket: plain HTTP and HTTPS with the generated certificate, and graceful
//! shutdown.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use super::{INSTALLATION, directory, upgrade_path};
use crate::{AppState, Emulator, EmulatorConfig, TlsConfig, TokenSpec};

async fn roundtrip<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, request: String) -> String {
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

fn upgrade_request(host: &str, token: &str) -> String {
    format!(
        "POST {} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}",
        upgrade_path(INSTALLATION)
    )
}

async fn start(tls: TlsConfig) -> Emulator {
    let state = AppState::with_backend(
        EmulatorConfig {
            identity: directory(),
            tls,
            ..EmulatorConfig::default()
        },
        Box::new(super::Echo),
    )
    .unwrap();
    Emulator::start_with_state("127.0.0.1:0".parse().unwrap(), state)
        .await
        .unwrap()
}

#[tokio::test]
async fn plain_http_on_an_ephemeral_port() {
    let emulator = start(TlsConfig::Off).await;
    assert!(emulator.origin().starts_with("http://127.0.0.1:"));
    assert_eq!(emulator.graph_url(), format!("{}/v1.0", emulator.origin()));
    assert!(
        emulator
            .token_url("contoso.onmicrosoft.com")
            .ends_with("/contoso.onmicrosoft.com/oauth2/v2.0/token")
    );
    let token = emulator
        .state()
        .mint_token(&TokenSpec::default())
        .unwrap()
        .access_token;
    let stream = tokio::net::TcpStream::connect(emulator.local_addr())
        .await
        .unwrap();
    let response = roundtrip(stream, upgrade_request("127.0.0.1", &token)).await;
    assert!(response.starts_with("HTTP/1.1 204"), "{response}");
    assert!(response.to_ascii_lowercase().contains("request-id:"));
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn https_with_the_generated_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = start(TlsConfig::SelfSigned {
        dir: Some(dir.path().to_path_buf()),
    })
    .await;
    assert!(emulator.origin().starts_with("https://127.0.0.1:"));
    let cert_path = emulator.state().tls_cert_path().unwrap().to_path_buf();
    assert_eq!(cert_path, dir.path().join(crate::CERT_FILE_NAME));

    // A client that trusts only the written certificate.
    let pem = std::fs::read(&cert_path).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(&pem) {
        let cert: rustls::pki_types::CertificateDer<'static> = cert.unwrap();
        roots.add(cert).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let token = emulator
        .state()
        .mint_token(&TokenSpec::default())
        .unwrap()
        .access_token;
    for name in ["localhost", "127.0.0.1"] {
        let tcp = tokio::net::TcpStream::connect(emulator.local_addr())
            .await
            .unwrap();
        let server_name = rustls::pki_types::ServerName::try_from(name.to_owned()).unwrap();
        let tls = connector.connect(server_name, tcp).await.unwrap();
        let response = roundtrip(tls, upgrade_request(name, &token)).await;
        assert!(response.starts_with("HTTP/1.1 204"), "{response}");
    }
    emulator.shutdown().await.unwrap();
}
