//! Routing of the Graph surface: paths normalized as Graph reads them (static segments match
//! ASCII case-insensitively and percent-encoded, as in `/V1.0/Chats` or `%24batch`; one trailing
//! slash is ignored), then one `matchit` table with an entry per template and alias of every
//! operation in [`teamsapp_types::routes::ALL`] under `/v1.0` and `/beta`, whose parameters are
//! percent-decoded once. A path no route has gets Graph's `400`; a known path and another method,
//! `405` with `Allow`. The pipeline a routed request then runs is `graph.rs`'s.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, Uri, header};
use teamsapp_types::operation::OperationClass;
use teamsapp_types::{Route, routes};

use crate::backend::ApiVersion;
use crate::error::ApiError;

/// The first segment of Graph's aliases that name the signed-in user (`/me/teamwork/…`,
/// `/me/chats/…`, `/me/joinedTeams/…`).
pub(crate) const ME_PREFIX: &str = "/me/";

/// What a path and method lead to.
#[derive(Clone, Copy)]
pub(crate) enum Target {
    /// An operation, through its template or one of its aliases (`via_me`: a `/me/…` one).
    Operation {
        /// The operation.
        route: &'static Route,
        /// `/v1.0` or `/beta`.
        version: ApiVersion,
        /// Through a `/me/…` alias.
        via_me: bool,
    },
    /// `$batch`.
    Batch {
        /// `/v1.0` or `/beta`.
        version: ApiVersion,
    },
}

/// The path parameters a route captured, decoded once (or Graph's `400` for a segment that is
/// not UTF-8, answered after authentication).
pub(crate) type Captured = Result<Vec<(&'static str, String)>, ApiError>;

/// One path of the table: its targets by method, and the `Allow` of a `405` there.
struct Endpoint {
    targets: Vec<(http::Method, Target)>,
    allow: HeaderValue,
}

impl Endpoint {
    /// The target of `method`; `HEAD` is answered as `GET` (hyper drops the body), as axum does.
    fn target(&self, method: &http::Method) -> Option<Target> {
        let find = |m: &http::Method| {
            self.targets
                .iter()
                .find(|(each, _)| each == m)
                .map(|(_, target)| *target)
        };
        find(method).or_else(|| (method == http::Method::HEAD).then(|| find(&http::Method::GET))?)
    }
}

/// Every template and alias of every operation under `/v1.0` and `/beta`, as one `matchit` table
/// (static segments before parameters, as axum's router, which is `matchit` too).
pub(crate) struct RouteTable {
    router: matchit::Router<Endpoint>,
}

impl RouteTable {
    /// The table of every operation, with `$batch` when `with_batch` (not for the requests inside
    /// a batch, which cannot nest one).
    pub(crate) fn new(with_batch: bool) -> Self {
        let mut by_path: BTreeMap<String, Vec<(http::Method, Target)>> = BTreeMap::new();
        for route in routes::ALL.iter().copied() {
            let is_batch = route.class == OperationClass::Batch;
            if is_batch && !with_batch {
                continue;
            }
            for version in ApiVersion::ALL {
                for template in std::iter::once(route.template).chain(route.aliases.iter().copied())
                {
                    let target = if is_batch {
                        Target::Batch { version }
                    } else {
                        Target::Operation {
                            route,
                            version,
                            via_me: template.starts_with(ME_PREFIX),
                        }
                    };
                    by_path
                        .entry(format!("/{}{template}", version.segment()))
                        .or_default()
                        .push((route.method.clone(), target));
                }
            }
        }
        let mut router = matchit::Router::new();
        for (path, targets) in by_path {
            let mut methods: Vec<&str> = Vec::new();
            for (method, _) in &targets {
                methods.push(method.as_str());
                if *method == http::Method::GET {
                    methods.push("HEAD");
                }
            }
            let allow = HeaderValue::from_str(&methods.join(","))
                .unwrap_or_else(|_| HeaderValue::from_static(""));
            if let Err(error) = router.insert(path.as_str(), Endpoint { targets, allow }) {
                // The route table's test proves every template fits; a conflict is a bug.
                tracing::error!(%error, path, "route skipped");
            }
        }
        Self { router }
    }

    /// The path's target for the request's method, with its parameters; otherwise the answer:
    /// Graph's `400` for an unknown path, `405` (with `Allow`) for a known path and another
    /// method.
    pub(crate) fn route(&self, request: &Request) -> Lookup {
        let Ok(matched) = self.router.at(request.uri().path()) else {
            return Lookup::Answered(unknown_route(request));
        };
        let Some(target) = matched.value.target(request.method()) else {
            return Lookup::Answered(
                (
                    StatusCode::METHOD_NOT_ALLOWED,
                    [(header::ALLOW, matched.value.allow.clone())],
                )
                    .into_response(),
            );
        };
        let params = match target {
            Target::Operation { route, .. } => decode_params(route, &matched.params),
            Target::Batch { .. } => Ok(Vec::new()),
        };
        Lookup::Found(target, params)
    }
}

/// What the route table made of a request.
pub(crate) enum Lookup {
    /// A target, and the parameters its path captured.
    Found(Target, Captured),
    /// No target: the answer (`400` or `405`).
    Answered(Response),
}

/// The captured parameters the route has, percent-decoded once, named by the route's own
/// (static) names; an alias's others (the user of `/users/{user-id}/chats/{chat-id}/…`) only
/// locate it. A segment that is not UTF-8 once decoded is Graph's `400`, answered after
/// authentication.
fn decode_params(route: &'static Route, captured: &matchit::Params<'_, '_>) -> Captured {
    let mut params = Vec::with_capacity(route.path_params.len());
    for (key, value) in captured.iter() {
        let value = percent_decoded(value).ok_or_else(|| ApiError::bad_request(NOT_UTF8))?;
        if let Some(name) = route.path_params.iter().copied().find(|name| *name == key) {
            params.push((name, value.into_owned()));
        }
    }
    Ok(params)
}

/// `segment` percent-decoded as a URL path is (a `%` without two hex digits after it stays as it
/// is); borrowed when there is no `%`, `None` when the bytes are not UTF-8. Whole runs between
/// escapes are copied at once (`percent_encoding`'s byte-at-a-time iterator was 4 % of a
/// request's cost on two ids).
fn percent_decoded(segment: &str) -> Option<std::borrow::Cow<'_, str>> {
    fn hex(b: u8) -> Option<u8> {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    }
    let bytes = segment.as_bytes();
    let Some(first) = segment.find('%') else {
        return Some(std::borrow::Cow::Borrowed(segment));
    };
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..first]);
    let mut i = first;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| Some(hex(*bytes.get(i + 1)?)? << 4 | hex(*bytes.get(i + 2)?)?))
            .flatten();
        if let Some(byte) = escaped {
            out.push(byte);
            i += 3;
        } else {
            let next = segment[i + 1..]
                .find('%')
                .map_or(bytes.len(), |p| i + 1 + p);
            out.extend_from_slice(&bytes[i..next]);
            i = next;
        }
    }
    String::from_utf8(out).ok().map(std::borrow::Cow::Owned)
}

/// Graph's `400` for a path segment that is not UTF-8 once percent-decoded.
const NOT_UTF8: &str =
    "The request URI is not valid: a path segment is not valid UTF-8 once percent-decoded.";

/// Normalizes `request`'s path (see the module docs) in place.
pub(crate) fn normalize(request: &mut Request) {
    if let Some(uri) = normalize_uri(request.uri()) {
        *request.uri_mut() = uri;
    }
}

/// Whether a normalized path is below a Graph version (`/v1.0/…`, `/beta/…`).
pub(crate) fn is_graph_path(path: &str) -> bool {
    let first = path
        .strip_prefix('/')
        .unwrap_or(path)
        .split('/')
        .next()
        .unwrap_or("");
    ApiVersion::ALL.iter().any(|v| v.segment() == first)
}

/// Static path segments of every route, lowercase → as written (our keys: a fast hasher).
static VOCABULARY: LazyLock<HashMap<String, &'static str, foldhash::fast::RandomState>> =
    LazyLock::new(|| {
        let mut words = HashMap::default();
        for version in ApiVersion::ALL {
            words.insert(version.segment().to_owned(), version.segment());
        }
        for route in routes::ALL {
            for template in std::iter::once(route.template).chain(route.aliases.iter().copied()) {
                for segment in template.split('/') {
                    if !segment.is_empty() && !segment.starts_with('{') {
                        words.insert(segment.to_ascii_lowercase(), segment);
                    }
                }
            }
        }
        words
    });

/// The longest static segment, in bytes: a longer segment (an id) is never looked up.
const MAX_WORD: usize = 48;

/// Bytes that may appear in a static segment once percent-decoded (letters, digits, `$`, `.`, …,
/// taken from the routes): a segment with any other byte (an id's `:`, `@`, `=`) is no word.
static WORD_BYTES: LazyLock<[bool; 256]> = LazyLock::new(|| {
    let mut table = [false; 256];
    for word in VOCABULARY.keys() {
        for b in word.bytes() {
            table[usize::from(b)] = true;
            table[usize::from(b.to_ascii_uppercase())] = true;
        }
    }
    table
});

/// The static segment `segment` names when it is not already written that way (another case,
/// percent-encoded); `None` for ids and for segments already canonical. Allocates nothing: the
/// segment is decoded and lowercased into a buffer on the stack, and given up at the first byte
/// no word has.
fn respelled(segment: &str) -> Option<&'static str> {
    // A percent-encoded word is at most three times as long.
    if segment.is_empty() || segment.len() > 3 * MAX_WORD {
        return None;
    }
    let mut buffer = [0u8; MAX_WORD];
    let mut len = 0;
    let bytes = segment.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                i += 3;
                u8::from_str_radix(hex, 16).ok()?
            }
            b => {
                i += 1;
                b
            }
        };
        if !WORD_BYTES[usize::from(b)] || len == MAX_WORD {
            return None;
        }
        buffer[len] = b.to_ascii_lowercase();
        len += 1;
    }
    let lower = std::str::from_utf8(&buffer[..len]).ok()?;
    VOCABULARY
        .get(lower)
        .copied()
        .filter(|canonical| *canonical != segment)
}

/// The normalized form of `uri`, if it differs.
fn normalize_uri(uri: &Uri) -> Option<Uri> {
    let path = uri.path();
    let trimmed = if path.len() > 1 && path.ends_with('/') {
        &path[..path.len() - 1]
    } else {
        path
    };
    // The common case, a path already as Graph writes it, is checked without building anything.
    if trimmed.len() == path.len() && trimmed.split('/').all(|s| respelled(s).is_none()) {
        return None;
    }
    let mut rebuilt = String::with_capacity(uri.path_and_query().map_or(0, |p| p.as_str().len()));
    for (i, segment) in trimmed.split('/').enumerate() {
        if i > 0 {
            rebuilt.push('/');
        }
        rebuilt.push_str(respelled(segment).unwrap_or(segment));
    }
    if let Some(query) = uri.query() {
        rebuilt.push('?');
        rebuilt.push_str(query);
    }
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = rebuilt.parse().ok();
    Uri::from_parts(parts).ok()
}

/// 400 for a path no route has: `Resource not found for the segment '…'` below a version,
/// `Invalid version: …` otherwise.
pub(crate) fn unknown_route(request: &Request) -> Response {
    let segments = decoded_segments(request.uri().path());
    let error = match segments.first().map(String::as_str) {
        Some(v) if ApiVersion::ALL.iter().any(|a| a.segment() == v) => ApiError::UnknownSegment {
            segment: first_unknown_segment(&segments[1..]),
        },
        Some("_emulator") => ApiError::NotFound {
            message: format!("no admin endpoint at {}", request.uri().path()),
        },
        Some(version) => ApiError::InvalidVersion {
            version: version.to_owned(),
        },
        None => ApiError::InvalidVersion {
            version: String::new(),
        },
    };
    error.into_response()
}

/// The non-empty segments of `path`, each percent-decoded (bytes that are not UTF-8 replaced),
/// for messages and matching, not routing.
pub(crate) fn decoded_segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect()
}

/// The first segment of `segments` (below the version) that no template can match there.
fn first_unknown_segment(segments: &[String]) -> String {
    let mut best = 0;
    for route in routes::ALL {
        for template in std::iter::once(route.template).chain(route.aliases.iter().copied()) {
            let parts: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
            let matched = parts
                .iter()
                .zip(segments)
                .take_while(|(t, s)| t.starts_with('{') || **t == s.as_str())
                .count();
            best = best.max(matched);
        }
    }
    segments
        .get(best)
        .cloned()
        .unwrap_or_else(|| segments.last().cloned().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_fixes_case_encoding_and_trailing_slash() {
        let uri: Uri = "/V1.0/Chats/19%3Aabc%40thread.v2/INSTALLEDAPPS/?$top=1"
            .parse()
            .unwrap();
        assert_eq!(
            normalize_uri(&uri).unwrap().to_string(),
            "/v1.0/chats/19%3Aabc%40thread.v2/installedApps?$top=1"
        );
        let uri: Uri = "/v1.0/%24batch".parse().unwrap();
        assert_eq!(normalize_uri(&uri).unwrap().path(), "/v1.0/$batch");
        let uri: Uri = "/v1.0/chats/x/installedApps".parse().unwrap();
        assert_eq!(normalize_uri(&uri), None);
    }

    #[test]
    fn path_segments_decode_as_percent_encoding_does() {
        for segment in [
            "",
            "plain",
            "19%3Aea28e88c00e94c7786b065394a61f296%40thread.v2",
            "a%3D%3d",
            "%",
            "%4",
            "%zz%41",
            "100%",
            "%%41",
            "%C3%A9t%C3%A9",
            "%E2%82",
            "%ff",
        ] {
            let expected = percent_encoding::percent_decode_str(segment)
                .decode_utf8()
                .ok()
                .map(std::borrow::Cow::into_owned);
            assert_eq!(
                super::percent_decoded(segment).map(std::borrow::Cow::into_owned),
                expected,
                "{segment:?}"
            );
        }
    }

    #[test]
    fn every_static_segment_fits_the_lookup_buffer() {
        assert!(VOCABULARY.keys().all(|word| word.len() <= MAX_WORD));
    }

    #[test]
    fn unknown_segments_are_found() {
        let s = |p: &str| p.split('/').map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(first_unknown_segment(&s("chats/x/foo")), "foo");
        assert_eq!(first_unknown_segment(&s("drives/chats")), "drives");
        assert_eq!(first_unknown_segment(&s("me/chats/x/messages")), "messages");
        assert_eq!(
            first_unknown_segment(&s("chats/x/installedApps/y/upgrade/z")),
            "z"
        );
    }
}
