//! Which hosts and origins the emulator answers as its own, from its configuration and the address
//! it listens on — never from the request.
//!
//! - **`Host`** (every surface): an IP literal, `localhost` or `*.localhost`, or the host of a
//!   configured origin ([`EmulatorConfig::origins`](crate::EmulatorConfig::origins)). Any other
//!   name is refused with `421 Misdirected Request`: a web page that rebinds its own DNS name to
//!   127.0.0.1 (DNS rebinding) reaches the emulator with its own name in `Host`.
//! - **Own origins** (token audiences, the `{origin}/.default` scope, the admin API's `Origin`):
//!   `http(s)://` a loopback address or `localhost` on any port (a local proxy in front of the
//!   emulator is still the developer's machine), the address the emulator is bound to (any IP
//!   literal on its port when bound to all interfaces), and the configured origins.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;

use crate::error::Error;

/// A configured origin, parsed: scheme, lowercase host (IPv6 without brackets) and port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    https: bool,
    host: String,
    port: u16,
}

/// The emulator's own hosts and origins.
#[derive(Debug, Default)]
pub(crate) struct Origins {
    configured: Vec<Origin>,
    listener: OnceLock<SocketAddr>,
}

impl Origins {
    /// Parses the configured origins (`http(s)://host[:port]`, nothing after the authority).
    pub(crate) fn new(configured: &[String]) -> Result<Self, Error> {
        let configured = configured
            .iter()
            .map(|text| {
                parse_origin(text).ok_or_else(|| {
                    Error::Config(format!(
                        "origin {text:?}: expected http(s)://host[:port], without a path"
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            configured,
            listener: OnceLock::new(),
        })
    }

    /// Records the address the emulator listens on (once: the first listener wins).
    pub(crate) fn set_listener(&self, addr: SocketAddr) {
        let _ = self.listener.set(addr);
    }

    /// The address the emulator listens on, once it does.
    pub(crate) fn listener(&self) -> Option<SocketAddr> {
        self.listener.get().copied()
    }

    /// Whether a request's `Host` header names this emulator.
    pub(crate) fn host_allowed(&self, host: &str) -> bool {
        let Some((name, _port)) = split_host(host) else {
            return false;
        };
        name.parse::<IpAddr>().is_ok()
            || is_localhost(&name)
            || self.configured.iter().any(|o| o.host == name)
    }

    /// Whether `origin` (`scheme://host[:port]`, an optional trailing `/`) is this emulator's.
    pub(crate) fn is_own(&self, origin: &str) -> bool {
        let Some(origin) = parse_origin(origin) else {
            return false;
        };
        if is_localhost(&origin.host)
            || origin
                .host
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
        {
            return true;
        }
        if let Some(bound) = self.listener.get()
            && origin.port == bound.port()
            && let Ok(ip) = origin.host.parse::<IpAddr>()
            && (ip == bound.ip() || bound.ip().is_unspecified())
        {
            return true;
        }
        self.configured.contains(&origin)
    }
}

/// `localhost` and its subdomains, which resolve to loopback (RFC 6761 §6.3).
fn is_localhost(name: &str) -> bool {
    name == "localhost" || name.ends_with(".localhost")
}

/// A `Host` header's name (lowercase, IPv6 without brackets) and port, if well formed.
fn split_host(host: &str) -> Option<(Cow<'_, str>, Option<u16>)> {
    let host = host.trim();
    if host.is_empty() {
        return None;
    }
    let (name, port) = if let Some(rest) = host.strip_prefix('[') {
        let (name, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?.parse().ok()?),
        };
        (name, port)
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) => (name, Some(port.parse().ok()?)),
            None => (host, None),
        }
    };
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'_'))
    {
        return None;
    }
    // Borrowed when already lowercase (every request names the host: no copy for it).
    let name = teamsapp_types::ids::ascii_lowercase(name);
    Some((name, port))
}

fn parse_origin(text: &str) -> Option<Origin> {
    let text = text.trim().trim_end_matches('/');
    let (https, rest) = if let Some(rest) = strip_prefix_ignore_case(text, "https://") {
        (true, rest)
    } else {
        (false, strip_prefix_ignore_case(text, "http://")?)
    };
    if rest.contains(['/', '?', '#', '@']) {
        return None;
    }
    let (host, port) = split_host(rest)?;
    Some(Origin {
        https,
        host: host.into_owned(),
        port: port.unwrap_or(if https { 443 } else { 80 }),
    })
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.get(..prefix.len())
        .filter(|head| head.eq_ignore_ascii_case(prefix))
        .map(|_| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(configured: &[&str]) -> Origins {
        Origins::new(
            &configured
                .iter()
                .map(|s| (*s).to_owned())
                .collect::<Vec<_>>(),
        )
        .unwrap()
    }

    #[test]
    fn hosts_are_ip_literals_localhost_or_configured() {
        let o = origins(&["https://Teamsapp.CI.example:8443"]);
        for ok in [
            "127.0.0.1:8080",
            "127.0.0.1",
            "[::1]:9",
            "10.1.2.3:80",
            "localhost:3000",
            "LOCALHOST",
            "api.localhost:1",
            "teamsapp.ci.example:8443",
            "teamsapp.ci.example",
        ] {
            assert!(o.host_allowed(ok), "{ok}");
        }
        for refused in [
            "evil.example",
            "evil.example:8080",
            "127.0.0.1.evil.example",
            "localhost.evil.example",
            "",
            "a b",
            "[::1",
            "host:port",
        ] {
            assert!(!o.host_allowed(refused), "{refused}");
        }
    }

    #[test]
    fn own_origins_come_from_configuration_and_the_listener() {
        let o = origins(&["https://teamsapp.ci.example:8443"]);
        assert!(o.is_own("http://127.0.0.1:1234"));
        assert!(o.is_own("http://localhost:5/"));
        assert!(o.is_own("https://[::1]:7"));
        assert!(o.is_own("https://TEAMSAPP.ci.example:8443"));
        assert!(!o.is_own("https://teamsapp.ci.example"), "another port");
        assert!(
            !o.is_own("http://teamsapp.ci.example:8443"),
            "another scheme"
        );
        assert!(!o.is_own("http://evil.example"));
        assert!(!o.is_own("http://10.0.0.5:8080"), "not bound there");
        assert!(!o.is_own("null"));
        assert!(!o.is_own("http://127.0.0.1:1/path"));
        o.set_listener("0.0.0.0:8080".parse().unwrap());
        assert!(o.is_own("http://10.0.0.5:8080"));
        assert!(!o.is_own("http://10.0.0.5:8081"));
        let bound = origins(&[]);
        bound.set_listener("192.168.1.5:80".parse().unwrap());
        assert!(bound.is_own("http://192.168.1.5"));
        assert!(!bound.is_own("http://192.168.1.6"));
    }

    #[test]
    fn a_bad_configured_origin_is_a_configuration_error() {
        for bad in [
            "graph.test",
            "ftp://x",
            "http://x/path",
            "http://",
            "http://u@x",
        ] {
            assert!(
                Origins::new(&[bad.to_owned()]).is_err(),
                "{bad} should be refused"
            );
        }
    }
}
