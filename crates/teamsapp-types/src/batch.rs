//! JSON batching's rule on `dependsOn`, shared by the client (which builds batches) and the
//! emulator (which refuses what Graph refuses).
//!
//! Graph's JSON batching documentation says a batch "should be either fully sequential or fully
//! parallel" (<https://learn.microsoft.com/en-us/graph/json-batching>, known limitations), and
//! Microsoft's JavaScript SDK (`BatchRequestContent.validateDependencies`, msgraph-sdk-javascript,
//! citing the same known issue) refuses any batch that is not one of three shapes:
//!
//! - **parallel**: no request has a `dependsOn`;
//! - **serial**: the first request has none and every other depends on exactly the one before it;
//! - **same**: every request that has a `dependsOn` names the same single request (the first
//!   request, or the one the first request depends on), and only that request has none.
//!
//! A batch of any other shape (some requests chained, others independent) is refused by Graph with
//! `400`; [`is_accepted_shape`] tells which batches pass.
//!
//! Bodies travel inside the batch's JSON: a JSON body as JSON, any other (a zip, a `$count`'s
//! `text/plain`) as a base64 string ([`encode_body`], [`body_bytes`], [`decode_base64`]).

use base64::Engine as _;

/// Whether a batch whose request `i` depends on the requests `depends_on[i]` (indexes into the
/// batch, in request order) has one of the shapes Graph accepts (see the module docs). An empty
/// batch has none.
pub fn is_accepted_shape(depends_on: &[Vec<usize>]) -> bool {
    if depends_on.is_empty() {
        return false;
    }
    is_parallel(depends_on) || is_serial(depends_on) || is_same(depends_on)
}

fn is_parallel(depends_on: &[Vec<usize>]) -> bool {
    depends_on.iter().all(Vec::is_empty)
}

fn is_serial(depends_on: &[Vec<usize>]) -> bool {
    depends_on[0].is_empty()
        && depends_on
            .iter()
            .enumerate()
            .skip(1)
            .all(|(i, deps)| deps.as_slice() == [i - 1])
}

fn is_same(depends_on: &[Vec<usize>]) -> bool {
    let hub = match depends_on[0].as_slice() {
        [] => 0,
        [d] if *d != 0 && *d < depends_on.len() => *d,
        _ => return false,
    };
    depends_on
        .iter()
        .enumerate()
        .all(|(i, deps)| match deps.as_slice() {
            [] => i == hub,
            [d] => i != hub && *d == hub,
            _ => false,
        })
}

#[cfg(test)]
mod tests {
    use super::is_accepted_shape;

    fn shape(deps: &[&[usize]]) -> bool {
        is_accepted_shape(&deps.iter().map(|d| d.to_vec()).collect::<Vec<_>>())
    }

    #[test]
    fn parallel_serial_and_same_pass() {
        assert!(shape(&[&[]]));
        assert!(shape(&[&[], &[], &[]]), "parallel");
        assert!(shape(&[&[], &[0], &[1], &[2]]), "serial");
        assert!(shape(&[&[], &[0], &[0], &[0]]), "same: all on the first");
        assert!(shape(&[&[2], &[2], &[]]), "same: all on the third");
    }

    #[test]
    fn mixed_batches_are_refused() {
        assert!(!shape(&[]), "empty");
        assert!(
            !shape(&[&[], &[0], &[]]),
            "a chain beside an independent request"
        );
        assert!(
            !shape(&[&[], &[], &[1]]),
            "an independent first request, then a chain"
        );
        assert!(!shape(&[&[], &[0], &[0, 1]]), "two dependencies");
        assert!(!shape(&[&[], &[0], &[1], &[1]]), "a chain that forks");
        assert!(!shape(&[&[1], &[0]]), "a cycle");
        assert!(!shape(&[&[0]]), "a request on itself");
        assert!(
            !shape(&[&[], &[2], &[]]),
            "a dependency on a later request beside a root"
        );
    }
}

/// Whether a `Content-Type` is JSON (`application/json`, with or without parameters).
fn is_json(content_type: Option<&str>) -> bool {
    content_type.is_none_or(|c| {
        c.trim_start()
            .get(..16)
            .is_some_and(|p| p.eq_ignore_ascii_case("application/json"))
    })
}

/// A body as a batch carries it: JSON bytes of a JSON content type as JSON, anything else as a
/// base64 string; `None` for no body (or JSON that does not parse).
pub fn encode_body(content_type: Option<&str>, bytes: &[u8]) -> Option<serde_json::Value> {
    if bytes.is_empty() {
        None
    } else if is_json(content_type) {
        serde_json::from_slice(bytes).ok()
    } else {
        Some(serde_json::Value::String(
            base64::engine::general_purpose::STANDARD.encode(bytes),
        ))
    }
}

/// The bytes of a body a batch carries ([`encode_body`]'s inverse): a JSON body serialized, a
/// base64 string of another content type decoded (its text as it is if it is not base64).
pub fn body_bytes(content_type: Option<&str>, body: Option<&serde_json::Value>) -> Vec<u8> {
    match body {
        None => Vec::new(),
        Some(serde_json::Value::String(text)) if !is_json(content_type) => {
            decode_base64(text).unwrap_or_else(|| text.clone().into_bytes())
        }
        Some(value) => serde_json::to_vec(value).unwrap_or_default(),
    }
}

/// Base64 in either alphabet (standard or URL-safe), padded or not.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let trimmed = text.trim_end_matches('=');
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed))
        .ok()
}

#[cfg(test)]
mod body_tests {
    use super::*;

    #[test]
    fn bodies_round_trip_through_a_batch() {
        let json = encode_body(Some("application/json; charset=utf-8"), br#"{"a":1}"#);
        assert_eq!(json, Some(serde_json::json!({"a": 1})));
        assert_eq!(
            body_bytes(Some("application/json"), json.as_ref()),
            br#"{"a":1}"#
        );
        let text = encode_body(Some("text/plain"), b"12");
        assert_eq!(text, Some(serde_json::json!("MTI=")));
        assert_eq!(body_bytes(Some("text/plain"), text.as_ref()), b"12");
        // Either alphabet, padded or not; text that is not base64 stays as it is.
        assert_eq!(decode_base64("-_8=").unwrap(), [0xfb, 0xff]);
        assert_eq!(decode_base64("+/8").unwrap(), [0xfb, 0xff]);
        let odd = serde_json::json!("not base64!");
        assert_eq!(body_bytes(Some("text/plain"), Some(&odd)), b"not base64!");
        assert_eq!(encode_body(Some("text/plain"), b""), None);
    }
}
