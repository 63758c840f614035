//! What every generated request type has in common: its [`Route`] (method, path template, documented
//! status) and the [`Operation`] trait that turns a typed request into a path, a query and a body.
//!
//! The route templates are written once, in the generated [`routes::ALL`](crate::generated::routes::ALL)
//! table: the client renders them with [`Route::render`], the emulator registers them with its
//! router. They use OpenAPI's `{name}` syntax, which is also axum 0.8's.

use http::{Method, StatusCode};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::RequestKind;
use crate::cloud::NationalCloud;
use crate::ids::IdKind;
use crate::permissions::OperationPermissions;

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
    /// A `text/plain` body holding a decimal integer: the answer to an OData `$count` segment
    /// (`…/installedApps/$count`, Graph's `ODataCountResponse`).
    Text,
}

/// How a list operation pages (Graph's `x-ms-pageable`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// The property that links to the next page (`@odata.nextLink`).
    pub next_link: &'static str,
    /// The largest `$top` the operation serves (the `$top` parameter's `maximum`).
    pub max_top: u32,
}

/// One operation of the API, as described by the OpenAPI fragment.
///
/// Every field is generated from the fragment: Graph's own annotations where they exist
/// (`x-ms-docs-key-type` for [`path_param_kinds`](Self::path_param_kinds),
/// `x-ms-docs-operation-type` for [`action`](Self::action), `x-ms-pageable` and the `$top`
/// parameter's `maximum` for [`paging`](Self::paging)), `x-teamsapp-*` extensions where not
/// ([`permissions`](Self::permissions), [`clouds`](Self::clouds), [`idempotent`](Self::idempotent)).
#[derive(Debug, Clone)]
pub struct Route {
    /// Graph's `operationId`.
    pub operation_id: &'static str,
    /// The name of the generated request type.
    pub request_type: &'static str,
    /// The operation as a value: what [`Request::decode`](crate::Request::decode) takes and what
    /// the emulator dispatches on.
    pub kind: RequestKind,
    /// The HTTP method.
    pub method: Method,
    /// The path template below the version prefix (`/v1.0`), with `{param}` placeholders.
    pub template: &'static str,
    /// Other templates Graph answers for the same operation (the namespaced action form
    /// `…/microsoft.graph.upgrade`, `/me/chats/…`, `/groups/{team-id}/team/…`, …). Each names
    /// every path parameter of [`template`](Self::template), except a `/me/teamwork/…` alias,
    /// which leaves out `{user-id}`: the signed-in user's, which the emulator takes from the token.
    pub aliases: &'static [&'static str],
    /// The names of the path parameters, in template order.
    pub path_params: &'static [&'static str],
    /// The id each path parameter holds, in template order (Graph's `x-ms-docs-key-type`).
    pub path_param_kinds: &'static [IdKind],
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
    /// The name of the OData action the operation invokes (`upgrade`), if it is one.
    pub action: Option<&'static str>,
    /// The action's parameters: the properties its JSON body may have (OData refuses any other
    /// with `400`); empty for operations that are not actions.
    pub action_parameters: &'static [&'static str],
    /// Whether repeating the operation cannot do harm: every method but `POST`, and the `POST`s
    /// the fragment marks `x-teamsapp-idempotent` (the `upgrade` action, which moves an
    /// installation to the catalog's latest version however often it runs).
    pub idempotent: bool,
    /// The permissions that allow the operation, least privileged first
    /// (`x-teamsapp-permissions`).
    pub permissions: OperationPermissions,
    /// The national clouds that offer the operation (`x-teamsapp-national-clouds`).
    pub clouds: &'static [NationalCloud],
    /// How the operation pages, if it is a paged list.
    pub paging: Option<Paging>,
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

    /// Whether `cloud` offers the operation.
    pub fn available_in(&self, cloud: NationalCloud) -> bool {
        self.clouds.contains(&cloud)
    }

    /// Whether `status` is one a client should treat as success for this operation.
    pub fn accepts(&self, status: StatusCode) -> bool {
        status == self.success || self.accepted.contains(&status)
    }
}

/// Why [`Request::decode`](crate::Request::decode) refused a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A path parameter is not a valid id of its kind.
    #[error("path parameter {param}: {source}")]
    InvalidId {
        /// The template name of the parameter (`chat-id`).
        param: &'static str,
        /// What is wrong with it.
        source: crate::Error,
    },
    /// The caller passed another number of path parameters than the template has.
    #[error("{operation} takes {expected} path parameters, {got} were given")]
    ParamCount {
        /// The operation's `operationId`.
        operation: &'static str,
        /// How many the template has.
        expected: usize,
        /// How many were given.
        got: usize,
    },
    /// The body is not the operation's JSON type.
    #[error("the request body is not a valid {ty}: {source}")]
    Body {
        /// The Rust name of the expected body type.
        ty: &'static str,
        /// The JSON error.
        source: serde_json::Error,
    },
}

/// Validates `params` against `route`'s id kinds: the first half of every generated decoder.
pub(crate) fn check_params<S: AsRef<str>>(
    route: &'static Route,
    params: &[S],
) -> Result<(), DecodeError> {
    if params.len() != route.path_params.len() {
        return Err(DecodeError::ParamCount {
            operation: route.operation_id,
            expected: route.path_params.len(),
            got: params.len(),
        });
    }
    Ok(())
}

/// Decodes a JSON body of type `T`, named `ty` in errors.
pub(crate) fn json_body<T: serde::de::DeserializeOwned>(
    ty: &'static str,
    body: &[u8],
) -> Result<T, DecodeError> {
    serde_json::from_slice(body).map_err(|source| DecodeError::Body { ty, source })
}

/// Decodes an optional JSON body: nothing (or only whitespace) is `T::default()`.
pub(crate) fn optional_json_body<T: serde::de::DeserializeOwned + Default>(
    ty: &'static str,
    body: &[u8],
) -> Result<T, DecodeError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        json_body(ty, body)
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
