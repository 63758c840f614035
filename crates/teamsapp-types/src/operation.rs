//! What every generated request type has in common: its [`Route`] (method, path template, documented
//! status) and the [`Operation`] trait that turns a typed request into a path, a query and a body.
//!
//! The route templates are written once, in the generated [`routes::ALL`](crate::generated::routes::ALL)
//! table: the client renders them with [`Route::render`], the emulator registers them with its
//! router. They use OpenAPI's `{name}` syntax, which is also axum 0.8's.

use http::{Method, StatusCode};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Characters left as they are in a path segment; everything else is percent-encoded.
///
/// Microsoft's SDKs encode `:` `@` `=` `+` `/` in ids (Kiota's `{chat%2Did}` simple expansion), and
/// so do we: chat ids (`19:…@thread.v2`) and base64 installation ids (`…+/=`) travel encoded.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one path segment the way Microsoft's Graph SDKs do.
pub fn encode_path_segment(segment: &str) -> String {
    utf8_percent_encode(segment, PATH_SEGMENT).to_string()
}

/// The Teams throttling class of an operation: Graph's published Teams limits are per app, per
/// tenant and per class (GET 30 rps, POST/PUT 30 rps, PATCH 30 rps, DELETE 15 rps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OperationClass {
    /// `GET` requests.
    Read,
    /// `POST` and `PUT` requests (install, upgrade, publish).
    Write,
    /// `PATCH` requests.
    Patch,
    /// `DELETE` requests.
    Delete,
    /// `POST /$batch`: not limited itself; each of its requests counts in its own class.
    Batch,
}

/// How a successful response carries its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseShape {
    /// No body (`204 No Content`, or a documented empty `200`/`201`).
    Empty,
    /// A JSON body.
    Json,
    /// A JSON body on some documented statuses and none on others.
    MaybeJson,
}

/// One operation of the API, as described by the OpenAPI fragment.
#[derive(Debug, Clone)]
pub struct Route {
    /// Graph's `operationId`.
    pub operation_id: &'static str,
    /// The name of the generated request type.
    pub request_type: &'static str,
    /// The HTTP method.
    pub method: Method,
    /// The path template below the version prefix (`/v1.0`), with `{param}` placeholders.
    pub template: &'static str,
    /// Other templates Graph answers for the same operation (the namespaced action form
    /// `…/microsoft.graph.upgrade`).
    pub aliases: &'static [&'static str],
    /// The names of the path parameters, in template order.
    pub path_params: &'static [&'static str],
    /// The query options the operation accepts; any other `$option` is a 400 in Graph.
    pub query_options: &'static [&'static str],
    /// The request body's content type, if the operation takes a body.
    pub request_content_type: Option<&'static str>,
    /// Whether the request body may be omitted.
    pub request_body_optional: bool,
    /// The documented success status.
    pub success: StatusCode,
    /// Every success status a client should accept (Graph's docs and service disagree for some).
    pub accepted: &'static [StatusCode],
    /// The payload of a successful response.
    pub response: ResponseShape,
    /// The Teams throttling class.
    pub class: OperationClass,
    /// A one-line summary.
    pub summary: &'static str,
}

impl Route {
    /// Renders the template with percent-encoded values, one per path parameter in order.
    ///
    /// # Panics
    ///
    /// Panics if `values` does not have one value per path parameter: generated code always passes
    /// the right number, so a mismatch is a bug in the generator.
    pub fn render(&self, values: &[&str]) -> String {
        assert_eq!(
            values.len(),
            self.path_params.len(),
            "{} takes {} path parameters",
            self.operation_id,
            self.path_params.len()
        );
        let mut out = String::with_capacity(self.template.len() + 64);
        let mut rest = self.template;
        let mut values = values.iter();
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let close = rest[open..].find('}').map_or(rest.len(), |c| open + c);
            let value = values.next().expect("counted above");
            out.push_str(&encode_path_segment(value));
            rest = &rest[(close + 1).min(rest.len())..];
        }
        out.push_str(rest);
        out
    }

    /// Whether `status` is one a client should treat as success for this operation.
    pub fn accepts(&self, status: StatusCode) -> bool {
        status == self.success || self.accepted.contains(&status)
    }
}

/// A serialized request body and its content type.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestBody {
    /// The `Content-Type` to send.
    pub content_type: &'static str,
    /// The bytes to send.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestBody")
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// A typed request for one operation; implemented by every generated request type.
pub trait Operation {
    /// What a successful response decodes to (`()` for `204 No Content`).
    type Response;

    /// The operation's route.
    const ROUTE: &'static Route;

    /// The path below the version prefix, with every parameter percent-encoded.
    fn path(&self) -> String;

    /// The query options to send, as name/value pairs (`("$select", "id,teamsApp")`).
    fn query(&self) -> Vec<(&'static str, String)>;

    /// The request body, if any.
    fn body(&self) -> Result<Option<RequestBody>, serde_json::Error>;

    /// Decodes a successful response body.
    fn decode(body: &[u8]) -> Result<Self::Response, serde_json::Error>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_ids_like_microsofts_sdks() {
        assert_eq!(
            encode_path_segment("19:ea28e88c00e94c7786b065394a61f296@thread.v2"),
            "19%3Aea28e88c00e94c7786b065394a61f296%40thread.v2"
        );
        assert_eq!(encode_path_segment("ab+/c=="), "ab%2B%2Fc%3D%3D");
        assert_eq!(encode_path_segment("a-b_c.d~e"), "a-b_c.d~e");
    }
}
