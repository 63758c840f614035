//! Raw HTTP/1.1 over a socket, for requests no well-behaved client sends: `..` and `%00` in
//! paths, duplicate query options, lying content types, unparseable bodies. One request per
//! connection (`Connection: close`), read to the end within a deadline, so a hang fails the test
//! instead of stalling it.

use std::fmt::{self, Write as _};
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A request, written byte for byte as given.
#[derive(Debug, Clone, Default)]
pub struct RawRequest {
    /// The method, as sent.
    pub method: String,
    /// The request target, as sent (`/v1.0/chats/..`).
    pub target: String,
    /// Headers besides `Connection`, which is added, and `Host` and `Content-Length`, which are
    /// added unless given here.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl RawRequest {
    /// `method target` without headers or body.
    pub fn new(method: &str, target: impl Into<String>) -> Self {
        Self {
            method: method.to_owned(),
            target: target.into(),
            ..Self::default()
        }
    }

    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Adds `Authorization: Bearer token`.
    #[must_use]
    pub fn bearer(self, token: &str) -> Self {
        self.header("Authorization", format!("Bearer {token}"))
    }

    /// Sets the body and its `Content-Type`.
    #[must_use]
    pub fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self.header("Content-Type", content_type)
    }

    /// Sets a JSON body.
    #[must_use]
    pub fn json(self, body: &serde_json::Value) -> Self {
        self.body("application/json", body.to_string())
    }

    fn to_bytes(&self, host: &str) -> Vec<u8> {
        // A `Host` given as a header replaces the address's.
        let host = self
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("host"))
            .map_or(host, |(_, v)| v.as_str());
        let mut out = format!(
            "{} {} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n",
            self.method, self.target
        );
        for (name, value) in self
            .headers
            .iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case("host"))
        {
            let _ = write!(out, "{name}: {value}\r\n");
        }
        let declared = self
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-length"));
        if !declared
            && (!self.body.is_empty() || matches!(self.method.as_str(), "POST" | "PUT" | "PATCH"))
        {
            let _ = write!(out, "Content-Length: {}\r\n", self.body.len());
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }

    /// Sends it to `addr` and reads the whole answer within `deadline`.
    pub async fn send(&self, addr: SocketAddr, deadline: Duration) -> Result<RawResponse, String> {
        let exchange = async {
            let mut stream = TcpStream::connect(addr)
                .await
                .map_err(|e| format!("connect: {e}"))?;
            stream
                .write_all(&self.to_bytes(&addr.to_string()))
                .await
                .map_err(|e| format!("write: {e}"))?;
            let mut bytes = Vec::new();
            stream
                .read_to_end(&mut bytes)
                .await
                .map_err(|e| format!("read: {e}"))?;
            RawResponse::parse(&bytes)
        };
        tokio::time::timeout(deadline, exchange)
            .await
            .map_err(|_| format!("no complete answer within {deadline:?} (a hang)"))?
    }
}

/// An answer, parsed.
#[derive(Clone)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// The headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl fmt::Debug for RawResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &String::from_utf8_lossy(&self.body))
            .finish()
    }
}

impl RawResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    fn parse(bytes: &[u8]) -> Result<Self, String> {
        let split = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| format!("no header end in {:?}", String::from_utf8_lossy(bytes)))?;
        let head = String::from_utf8_lossy(&bytes[..split]);
        let rest = &bytes[split + 4..];
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or("");
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {status_line:?}"))?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let chunked = headers
            .iter()
            .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
        let body = if chunked {
            dechunk(rest)?
        } else if let Some(len) = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse::<usize>().ok())
        {
            rest.get(..len)
                .ok_or_else(|| format!("body shorter than its Content-Length {len}"))?
                .to_vec()
        } else {
            rest.to_vec()
        };
        Ok(Self {
            status,
            headers,
            body,
        })
    }
}

fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunk size without CRLF")?;
        let size_text = String::from_utf8_lossy(&rest[..end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|e| format!("chunk size {size_text:?}: {e}"))?;
        rest = &rest[end + 2..];
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(rest.get(..size).ok_or("a truncated chunk")?);
        rest = rest.get(size + 2..).ok_or("a chunk without CRLF")?;
    }
}
