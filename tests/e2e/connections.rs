//! Connection hygiene (issue 12, item 1), over raw sockets: idle connections and a slowloris are
//! closed (a request in progress is not); a slow body to the token endpoint or the admin API is answered in
//! that surface's error shape; above the connection cap a new client gets Graph's `503` while an
//! open connection still upgrades; and the accept loop outlives running out of descriptors.
//!
//! Timeouts here are tiny (hundreds of milliseconds) so the tests are quick; every wait on the
//! server is bounded by [`DEADLINE`], which only a hang reaches.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;
use teamsapp_e2e::EmulatorProcess;
use teamsapp_e2e::raw::RawRequest;
use teamsapp_mock::{Emulator, EmulatorConfig, TokenSpec};
use teamsapp_model::demo;
use teamsapp_types::operation::encode_path_segment as enc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The tiny timeout the tests configure.
const TINY: Duration = Duration::from_millis(300);

/// The longest any wait on the server may take: only a hang reaches it.
const DEADLINE: Duration = Duration::from_secs(10);

async fn start(configure: impl FnOnce(&mut EmulatorConfig)) -> Emulator {
    Emulator::builder()
        .demo_tenant()
        .without_throttling()
        .configure(configure)
        .start()
        .await
        .expect("the emulator starts")
}

/// Reads until the server closes the connection (or resets it), within [`DEADLINE`]; the bytes
/// read.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut bytes = Vec::new();
    let read = tokio::time::timeout(DEADLINE, async {
        let mut buf = [0_u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the server held the connection for {DEADLINE:?}; read so far: {:?}",
        String::from_utf8_lossy(&bytes)
    );
    bytes
}

/// The status and JSON body of the one answer in `bytes`.
fn answer(bytes: &[u8]) -> (u16, Vec<(String, String)>, Value) {
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no answer in {text:?}"));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let json = serde_json::from_str(body).unwrap_or(Value::Null);
    (status, headers, json)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn token(emulator: &Emulator) -> String {
    let app = emulator.credentials().expect("demo credentials").client_id;
    emulator
        .state()
        .mint_token(&TokenSpec {
            app: Some(app),
            ..TokenSpec::default()
        })
        .expect("a token")
        .access_token
}

fn upgrade(addr: SocketAddr, token: &str, keep_alive: bool) -> Vec<u8> {
    let chat = enc(demo::SEED_CHAT_ID);
    let installation = enc(demo::SEED_INSTALLATION_ID);
    let connection = if keep_alive { "keep-alive" } else { "close" };
    format!(
        "POST /v1.0/chats/{chat}/installedApps/{installation}/upgrade HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\
         Connection: {connection}\r\n\r\n{{}}"
    )
    .into_bytes()
}

/// Reads one `204` answer (no body) from a kept-alive connection.
async fn read_no_content(stream: &mut TcpStream) -> String {
    let mut bytes = Vec::new();
    tokio::time::timeout(DEADLINE, async {
        let mut buf = [0_u8; 4096];
        while !bytes.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).await.expect("reads the answer");
            assert!(n > 0, "closed before answering");
            bytes.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("an answer within the deadline");
    String::from_utf8_lossy(&bytes).into_owned()
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_header_timeout() {
    let emulator = start(|c| c.connections.header_timeout = TINY).await;
    let addr = emulator.local_addr();
    // Never sends a byte.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    assert!(read_until_closed(&mut silent).await.is_empty());
    assert!(started.elapsed() >= TINY, "closed before its time");
    // Kept alive after one request, then silent.
    let token = token(&emulator);
    let mut kept = TcpStream::connect(addr).await.unwrap();
    kept.write_all(&upgrade(addr, &token, true)).await.unwrap();
    let first = read_no_content(&mut kept).await;
    assert!(first.starts_with("HTTP/1.1 204"), "{first}");
    let rest = read_until_closed(&mut kept).await;
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_slowloris_is_closed_after_the_header_timeout() {
    let emulator = start(|c| c.connections.header_timeout = TINY).await;
    let stream = TcpStream::connect(emulator.local_addr()).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    write
        .write_all(b"GET /v1.0/chats HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    // One more header line every 50 ms, forever: only the server can end this.
    let trickle = tokio::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_millis(50));
        loop {
            ticks.tick().await;
            if write.write_all(b"X-Slow: 1\r\n").await.is_err() {
                break;
            }
        }
    });
    let closed = tokio::time::timeout(DEADLINE, async {
        let mut buf = [0_u8; 1024];
        let mut bytes = Vec::new();
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => break bytes,
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    trickle.abort();
    let bytes = closed.expect("the server closed the trickling connection");
    // hyper closes it, with at most a bare 408.
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_idle_timeout() {
    // The header timeout far away: only the idle timeout can close it.
    let emulator = start(|c| {
        c.connections.header_timeout = Duration::from_mins(10);
        c.connections.idle_timeout = TINY;
    })
    .await;
    let mut stream = TcpStream::connect(emulator.local_addr()).await.unwrap();
    let started = Instant::now();
    assert!(read_until_closed(&mut stream).await.is_empty());
    assert!(started.elapsed() >= TINY, "closed before its time");
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_idle_timeout_spares_a_request_in_progress() {
    // Idle after 300 ms, but the admin API waits a second for the body: its 408 still arrives.
    let emulator = start(|c| {
        c.connections.idle_timeout = TINY;
        c.request_timeout = Duration::from_secs(1);
    })
    .await;
    let bytes = slow_post(
        emulator.local_addr(),
        "/_emulator/tenants",
        "application/json",
        b"{\"tenantId\":",
    )
    .await;
    let (status, _, body) = answer(&bytes);
    assert_eq!(status, 408, "{body}");
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_tls_client_that_never_says_hello_is_closed_after_the_handshake_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = start(|c| {
        c.tls = teamsapp_mock::TlsConfig::SelfSigned {
            dir: Some(dir.path().to_path_buf()),
        };
        c.connections.handshake_timeout = TINY;
    })
    .await;
    assert!(emulator.origin().starts_with("https://"));
    let mut stream = TcpStream::connect(emulator.local_addr()).await.unwrap();
    let started = Instant::now();
    assert!(read_until_closed(&mut stream).await.is_empty());
    assert!(started.elapsed() >= TINY, "closed before its time");
    emulator.shutdown().await.unwrap();
}

/// Sends the head of a `POST` and the first bytes of its body, then nothing.
async fn slow_post(addr: SocketAddr, target: &str, content_type: &str, start: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\n\
         client-request-id: slow-body\r\nContent-Length: 4096\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(start).await.unwrap();
    let mut bytes = Vec::new();
    tokio::time::timeout(DEADLINE, async {
        let mut buf = [0_u8; 4096];
        loop {
            let n = stream.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            bytes.extend_from_slice(&buf[..n]);
            if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
                let (_, headers, _) = answer(&bytes);
                let len: usize = header(&headers, "content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                if bytes.len() >= end + 4 + len {
                    break;
                }
            }
        }
    })
    .await
    .expect("an answer to the slow body within the deadline");
    bytes
}

#[tokio::test]
async fn a_slow_body_to_the_token_endpoint_is_answered_in_entras_shape() {
    let emulator = start(|c| c.request_timeout = TINY).await;
    let bytes = slow_post(
        emulator.local_addr(),
        &format!("/{}/oauth2/v2.0/token", demo::TENANT_ID),
        "application/x-www-form-urlencoded",
        b"grant_type=client_credentials&client_id=",
    )
    .await;
    let (status, headers, body) = answer(&bytes);
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    assert_eq!(body["error_codes"][0], 90_033, "{body}");
    assert_eq!(body["correlation_id"], "slow-body", "{body}");
    let description = body["error_description"].as_str().unwrap();
    assert!(description.starts_with("AADSTS90033: "), "{description}");
    assert_eq!(header(&headers, "client-request-id"), Some("slow-body"));
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_slow_body_to_the_admin_api_is_answered_in_graphs_envelope() {
    let emulator = start(|c| c.request_timeout = TINY).await;
    let bytes = slow_post(
        emulator.local_addr(),
        "/_emulator/tenants",
        "application/json",
        b"{\"tenantId\":",
    )
    .await;
    let (status, headers, body) = answer(&bytes);
    assert_eq!(status, 408, "{body}");
    assert_eq!(body["error"]["code"], "RequestTimeout", "{body}");
    let inner = &body["error"]["innerError"];
    assert_eq!(inner["client-request-id"], "slow-body", "{body}");
    assert!(inner["request-id"].is_string(), "{body}");
    assert!(inner["date"].is_string(), "{body}");
    assert!(header(&headers, "request-id").is_some());
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_admin_api_names_its_body_limit() {
    const LIMIT: usize = 1024;
    let emulator = start(|c| c.admin_body_limit = LIMIT).await;
    let big = vec![b' '; LIMIT + 1];
    // With a length: refused before the body is read, naming the limit.
    let declared = RawRequest::new("POST", "/_emulator/tenants")
        .body("application/json", big.clone())
        .send(emulator.local_addr(), DEADLINE)
        .await
        .unwrap();
    assert_eq!(declared.status, 413, "{declared:?}");
    let message = declared.json().unwrap()["error"]["message"].clone();
    assert_eq!(
        message, "The request body is larger than the limit of 1024 bytes.",
        "{declared:?}"
    );
    // Chunked: refused while reading, and never "a limit of 0".
    let mut stream = TcpStream::connect(emulator.local_addr()).await.unwrap();
    let head = "POST /_emulator/tenants HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
                Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    let mut request = head.as_bytes().to_vec();
    request.extend_from_slice(format!("{:x}\r\n", big.len()).as_bytes());
    request.extend_from_slice(&big);
    request.extend_from_slice(b"\r\n0\r\n\r\n");
    stream.write_all(&request).await.unwrap();
    let (status, _, body) = answer(&read_until_closed(&mut stream).await);
    let chunked = body;
    assert_eq!(status, 413, "{chunked}");
    let message = chunked["error"]["message"].as_str().unwrap();
    assert!(!message.contains("limit of 0"), "{chunked}");
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn above_the_connection_cap_a_new_client_gets_503_and_open_ones_keep_working() {
    let emulator = start(|c| c.connections.max_connections = Some(2)).await;
    let addr = emulator.local_addr();
    let token = token(&emulator);
    // Two connections, each answered once and kept open: both hold their place.
    let mut open = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(&upgrade(addr, &token, true))
            .await
            .unwrap();
        let answer = read_no_content(&mut stream).await;
        assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");
        open.push(stream);
    }
    // The third is refused with Graph's 503, Retry-After and Connection: close.
    let refused = RawRequest::new("GET", "/_emulator/state")
        .send(addr, DEADLINE)
        .await
        .unwrap();
    assert_eq!(refused.status, 503, "{refused:?}");
    assert_eq!(refused.header("retry-after"), Some("1"), "{refused:?}");
    assert_eq!(refused.header("connection"), Some("close"), "{refused:?}");
    let body = refused.json().expect("a JSON body");
    assert!(body["error"]["code"].is_string(), "{body}");
    // The open ones still upgrade.
    for stream in &mut open {
        stream
            .write_all(&upgrade(addr, &token, true))
            .await
            .unwrap();
        let answer = read_no_content(stream).await;
        assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");
    }
    // Once one closes, a new client is served again.
    drop(open.pop());
    let served = tokio::time::timeout(DEADLINE, async {
        loop {
            let response = RawRequest::new("GET", "/_emulator/state")
                .send(addr, DEADLINE)
                .await
                .unwrap();
            if response.status == 200 {
                break;
            }
            // The server notices the close when it reads the EOF: try again.
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(
        served.is_ok(),
        "no client was served after a connection closed"
    );
    emulator.shutdown().await.unwrap();
}

/// `teamsapp mock serve` with 64 descriptors and 100 connections held open: accept fails with
/// `EMFILE`, and as soon as the connections close a new client is served.
#[tokio::test]
async fn the_accept_loop_outlives_running_out_of_descriptors() {
    let server = tokio::task::spawn_blocking(|| {
        EmulatorProcess::spawn_with_open_files(
            64,
            &["--max-connections", "10000", "--header-timeout", "600"],
        )
    })
    .await
    .unwrap();
    let addr: SocketAddr = server
        .origin()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let mut held = Vec::new();
    for _ in 0..100 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    // Accept ran out of descriptors: the server says so (once a second at most).
    let log = server.dir().join("stderr.log");
    let said = tokio::time::timeout(DEADLINE, async {
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("accept failed") {
                break text;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the server logged the failed accept");
    assert!(said.to_ascii_lowercase().contains("open files"), "{said}");
    drop(held);
    let response = RawRequest::new("GET", "/_emulator/state")
        .send(addr, DEADLINE)
        .await
        .expect("a new client is served once descriptors free up");
    assert_eq!(response.status, 200, "{response:?}");
}

/// What hyper answers itself, before any service runs (FIDELITY.md: no hook for the body, so no
/// Graph envelope): a request line it cannot parse is `400`, more headers than it reads `431`;
/// both without a body, and the connection is closed.
#[tokio::test]
async fn protocol_errors_are_hypers_own_bare_answers() {
    let emulator = start(|_| {}).await;
    let addr = emulator.local_addr();
    let mut many_headers = format!("GET /v1.0/users HTTP/1.1\r\nHost: {addr}\r\n");
    for i in 0..200 {
        let _ = write!(many_headers, "X-Filler-{i}: {i}\r\n");
    }
    many_headers.push_str("\r\n");
    for (request, expected) in [
        ("NOT AN HTTP REQUEST\r\n\r\n".to_owned(), 400),
        (many_headers, 431),
    ] {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let bytes = read_until_closed(&mut stream).await;
        let text = String::from_utf8_lossy(&bytes);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        assert!(
            head.starts_with(&format!("HTTP/1.1 {expected} ")),
            "{expected}: {text:?}"
        );
        assert!(body.is_empty(), "{expected}: {text:?}");
    }
    emulator.shutdown().await.unwrap();
}
