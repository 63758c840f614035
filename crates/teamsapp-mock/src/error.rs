//! [`ApiError`]: every way the emulator answers a Graph (or admin) request with an error, and the
//! one place that turns it into Graph's envelope; [`Error`]: what can go wrong starting or
//! running the emulator itself.
//!
//! An [`ApiError`] renders its envelope at once, and also leaves it in the response's extensions:
//! the request middleware ([`crate::context`]) then adds `innerError`'s `request-id`,
//! `client-request-id` and `date`, which only it knows. Internal details (I/O, store or key
//! errors) are logged and never reach the body.

use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, StatusCode, header};
use teamsapp_types::GraphError;

/// Why a bearer token was refused (`401 InvalidAuthenticationToken`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthFailure {
    /// No `Authorization: Bearer …` header.
    Missing,
    /// Not a compact JWS, or not one this emulator could have issued.
    Malformed,
    /// The signature does not verify against the emulator's signing key.
    BadSignature,
    /// The issuer is not `https://sts.windows.net/{tid}/`.
    WrongIssuer,
    /// The audience is neither Microsoft Graph nor the emulator.
    WrongAudience,
    /// `exp` is in the past.
    Expired,
    /// `nbf` is in the future.
    NotYetValid,
}

impl AuthFailure {
    /// Graph's message for this failure (as seen in real 401s).
    pub fn graph_message(self) -> &'static str {
        match self {
            Self::Missing => "Access token is empty.",
            Self::Malformed => "CompactToken parsing failed with error code: 80049217",
            Self::BadSignature | Self::WrongIssuer => "Access token validation failure.",
            Self::WrongAudience => "Access token validation failure. Invalid audience.",
            Self::Expired => "Lifetime validation failed, the token is expired.",
            Self::NotYetValid => "Lifetime validation failed, the token is not yet valid.",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Missing => "no bearer token",
            Self::Malformed => "malformed token",
            Self::BadSignature => "bad signature",
            Self::WrongIssuer => "wrong issuer",
            Self::WrongAudience => "wrong audience",
            Self::Expired => "expired token",
            Self::NotYetValid => "token not yet valid",
        }
    }
}

impl std::fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

/// An error answered to an HTTP request, in Graph's envelope.
///
/// `Display` is for logs (lowercase, house style); [`message`](Self::message) is what Graph would
/// put in `error.message`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// `401 InvalidAuthenticationToken`, with `WWW-Authenticate`.
    #[error("invalid authentication token: {0}")]
    InvalidToken(AuthFailure),
    /// `400 BadRequest`: a query string the operation does not take (an unknown or unsupported
    /// `$`-option, an option given twice, a bad `$top`); the message is the model's.
    #[error(transparent)]
    Query(#[from] teamsapp_model::QueryError),
    /// `400 BadRequest`: a path parameter is not a valid id of its kind.
    #[error("invalid path parameter {param}")]
    InvalidId {
        /// The template's parameter name, e.g. `chat-id`.
        param: &'static str,
        /// What the id rules say.
        #[source]
        source: teamsapp_types::Error,
    },
    /// `400 BadRequest`: a path segment that no route has (OData's "Resource not found for the
    /// segment").
    #[error("no resource for segment {segment:?}")]
    UnknownSegment {
        /// The first segment that matched no route.
        segment: String,
    },
    /// `400 BadRequest`: the path does not start with `/v1.0` or `/beta`.
    #[error("invalid version {version:?}")]
    InvalidVersion {
        /// The first path segment.
        version: String,
    },
    /// `405`: the path exists but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// `415`: the body's content type is not the operation's.
    #[error("unsupported content type {content_type:?}")]
    UnsupportedMediaType {
        /// The `Content-Type` sent.
        content_type: String,
        /// The content type the operation takes.
        expected: &'static str,
    },
    /// `400 BadRequest`: the body could not be read as the operation's JSON.
    #[error("unreadable json body")]
    MalformedJson,
    /// `413`: the body is larger than the configured limit.
    #[error("body larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// `400 BadRequest` with a message of its own (batch validation, admin input, …).
    #[error("bad request")]
    BadRequest {
        /// Graph's (or the admin API's) message.
        message: String,
    },
    /// `429 TooManyRequests`, with `Retry-After`.
    #[error("throttled for {retry_after} s")]
    TooManyRequests {
        /// Whole seconds, rounded up.
        retry_after: u64,
        /// The throttling category named in the message.
        category: String,
    },
    /// `503`, with `Retry-After` when given.
    #[error("service unavailable")]
    ServiceUnavailable {
        /// Whole seconds.
        retry_after: Option<u64>,
    },
    /// `504`: an injected gateway timeout, or the request took longer than the configured limit.
    #[error("gateway timeout")]
    GatewayTimeout,
    /// `424 FailedDependency`: a `$batch` request whose `dependsOn` failed.
    #[error("failed dependency {depends_on:?}")]
    FailedDependency {
        /// The id of the request that failed.
        depends_on: String,
    },
    /// A scripted response (`PUT /_emulator/scenarios`).
    #[error("scripted response {status}")]
    Scripted {
        /// The status to answer.
        status: StatusCode,
        /// `error.code`.
        code: String,
        /// `error.message`.
        message: String,
        /// `Retry-After`, in seconds.
        retry_after: Option<u64>,
        /// Extra response headers.
        headers: Vec<(HeaderName, HeaderValue)>,
    },
    /// An error the model (or any other source) already phrased as Graph does.
    #[error("graph error {status}: {}", error.code())]
    Graph {
        /// The status.
        status: StatusCode,
        /// The envelope, without its tracing fields.
        error: Box<GraphError>,
    },
    /// `403` from the admin API (no or wrong admin key).
    #[error("forbidden")]
    Forbidden {
        /// The message.
        message: String,
    },
    /// `404` from the admin API.
    #[error("not found")]
    NotFound {
        /// The message.
        message: String,
    },
    /// `501`: the emulator does not implement this yet.
    #[error("not implemented: {what}")]
    NotImplemented {
        /// What is missing.
        what: &'static str,
    },
    /// `500`: a bug or an I/O failure inside the emulator; the detail is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// An internal error; logs `detail` and answers a detail-free `500`.
    pub(crate) fn internal(detail: impl std::fmt::Display) -> Self {
        let detail = detail.to_string();
        tracing::error!(%detail, "internal error");
        Self::Internal(detail)
    }

    /// A `400 BadRequest` with `message`.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest {
            message: message.into(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            Self::Query(_)
            | Self::InvalidId { .. }
            | Self::UnknownSegment { .. }
            | Self::InvalidVersion { .. }
            | Self::MalformedJson
            | Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::ServiceUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::GatewayTimeout => StatusCode::GATEWAY_TIMEOUT,
            Self::FailedDependency { .. } => StatusCode::FAILED_DEPENDENCY,
            Self::Scripted { status, .. } | Self::Graph { status, .. } => *status,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::NotImplemented { .. } => StatusCode::NOT_IMPLEMENTED,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Graph's `error.code`.
    pub fn code(&self) -> &str {
        match self {
            Self::InvalidToken(_) => "InvalidAuthenticationToken",
            Self::Query(_)
            | Self::InvalidId { .. }
            | Self::UnknownSegment { .. }
            | Self::InvalidVersion { .. }
            | Self::MalformedJson
            | Self::BadRequest { .. } => "BadRequest",
            Self::MethodNotAllowed => "Request_BadRequest",
            Self::UnsupportedMediaType { .. } => "UnsupportedMediaType",
            Self::PayloadTooLarge { .. } => "RequestEntityTooLarge",
            Self::TooManyRequests { .. } => "TooManyRequests",
            Self::ServiceUnavailable { .. } => "serviceNotAvailable",
            Self::GatewayTimeout => "GatewayTimeout",
            Self::FailedDependency { .. } => "FailedDependency",
            Self::Scripted { code, .. } => code,
            Self::Graph { error, .. } => error.code(),
            Self::Forbidden { .. } => "Forbidden",
            Self::NotFound { .. } => "NotFound",
            Self::NotImplemented { .. } => "NotImplemented",
            Self::Internal(_) => "InternalServerError",
        }
    }

    /// Graph's `error.message`.
    pub fn message(&self) -> String {
        match self {
            Self::InvalidToken(failure) => failure.graph_message().to_owned(),
            Self::Query(error) => error.message(),
            Self::InvalidId { source, .. } => sentence(&source.to_string()),
            Self::UnknownSegment { segment } => {
                format!("Resource not found for the segment '{segment}'.")
            }
            Self::InvalidVersion { version } => format!("Invalid version: {version}"),
            Self::MethodNotAllowed => {
                "Specified HTTP method is not allowed for the request target.".to_owned()
            }
            Self::UnsupportedMediaType {
                content_type,
                expected,
            } => format!(
                "The content type '{content_type}' is not supported for this request; send \
                 '{expected}'."
            ),
            Self::MalformedJson => "Unable to read JSON request payload. Please ensure \
                                    Content-Type header is set and payload is of valid JSON \
                                    format."
                .to_owned(),
            Self::PayloadTooLarge { limit } => {
                format!("The request body is larger than the limit of {limit} bytes.")
            }
            Self::BadRequest { message }
            | Self::Scripted { message, .. }
            | Self::Forbidden { message }
            | Self::NotFound { message } => message.clone(),
            Self::TooManyRequests { category, .. } => {
                format!("Too many requests from Identifier:{category}. Please try again later.")
            }
            Self::ServiceUnavailable { .. } => {
                "The service is temporarily unavailable. Please retry after the number of \
                 seconds in the Retry-After header."
                    .to_owned()
            }
            Self::GatewayTimeout => "The request timed out.".to_owned(),
            Self::FailedDependency { depends_on } => format!(
                "The request could not run because the request '{depends_on}' it depends on \
                 failed."
            ),
            Self::Graph { error, .. } => error.message().to_owned(),
            Self::NotImplemented { what } => {
                format!("The emulator does not implement {what} yet.")
            }
            Self::Internal(_) => "An internal server error occurred.".to_owned(),
        }
    }

    /// `Retry-After`, in seconds, if the error carries one.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::TooManyRequests { retry_after, .. } => Some(*retry_after),
            Self::ServiceUnavailable { retry_after } | Self::Scripted { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// The envelope, without tracing fields.
    pub fn to_graph_error(&self) -> GraphError {
        match self {
            Self::Graph { error, .. } => (**error).clone(),
            _ => GraphError::new(self.code(), self.message()),
        }
    }
}

/// Turns a house-style message (`invalid chat id "x": …`) into Graph's prose (capitalized, with a
/// final period).
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// The Graph error a response carries, before the request middleware adds tracing fields.
#[derive(Debug, Clone)]
pub(crate) struct PendingError(pub(crate) GraphError);

/// The `Content-Type` of every JSON response, as Graph sends it.
pub(crate) const ODATA_JSON: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// Renders a Graph error envelope with `status` (tracing fields are added later, by the request
/// middleware).
pub(crate) fn graph_error_response(status: StatusCode, error: GraphError) -> Response {
    let body = serde_json::to_vec(&error).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ODATA_JSON));
    response.extensions_mut().insert(PendingError(error));
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(detail) = &self {
            tracing::debug!(%detail, "answering 500");
        }
        let mut response = graph_error_response(self.status(), self.to_graph_error());
        if let Some(seconds) = self.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Self::Scripted { headers, .. } = self {
            for (name, value) in headers {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

/// What can go wrong starting, configuring or running the emulator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Binding, accepting or writing a file failed.
    #[error("i/o error while {context}")]
    Io {
        /// What the emulator was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The TLS certificate or key could not be generated or loaded.
    #[error("tls setup failed: {0}")]
    Tls(String),
    /// The signing key could not be generated or loaded.
    #[error("signing key setup failed: {0}")]
    Keys(String),
    /// The durable store failed.
    #[error("event store error")]
    Store(#[from] crate::store::StoreError),
    /// The configuration is inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The emulator's server task failed or panicked.
    #[error("server task failed: {0}")]
    Server(String),
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

/// Rounds a wait up to whole seconds, at least 1 (`Retry-After` is an integer).
pub(crate) fn ceil_seconds(wait: Duration) -> u64 {
    let secs = wait
        .as_secs()
        .saturating_add(u64::from(wait.subsec_nanos() > 0));
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The model's error for an option the operation does not take.
    fn not_allowed(option: &str) -> teamsapp_model::QueryError {
        teamsapp_model::Query::for_route(
            &teamsapp_types::routes::LIST_CHAT_INSTALLED_APPS,
            Some(&format!("{option}=x")),
        )
        .unwrap_err()
    }

    #[test]
    fn every_variant_has_a_graph_code_and_message() {
        let errors = [
            ApiError::InvalidToken(AuthFailure::Expired),
            ApiError::Query(not_allowed("$orderby")),
            ApiError::MethodNotAllowed,
            ApiError::TooManyRequests {
                retry_after: 2,
                category: "x".into(),
            },
            ApiError::internal("disk on fire"),
        ];
        for error in errors {
            assert!(!error.code().is_empty());
            assert!(error.message().ends_with('.'), "{}", error.message());
            let shown = error.to_string();
            assert!(shown.starts_with(|c: char| c.is_lowercase()), "{shown}");
        }
    }

    #[test]
    fn internal_details_never_reach_the_message() {
        let error = ApiError::internal("secret path /var/lib/x");
        assert!(!error.message().contains("secret"));
        assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn query_option_message_names_the_option_as_odata_does() {
        let error = ApiError::Query(not_allowed("$orderby"));
        assert!(
            error
                .message()
                .contains("Query option 'OrderBy' is not allowed."),
            "{}",
            error.message()
        );
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(ceil_seconds(Duration::from_millis(1)), 1);
        assert_eq!(ceil_seconds(Duration::from_secs(1)), 1);
        assert_eq!(ceil_seconds(Duration::from_millis(1001)), 2);
        assert_eq!(ceil_seconds(Duration::ZERO), 1);
        assert_eq!(ceil_seconds(Duration::MAX), u64::MAX);
    }
}
