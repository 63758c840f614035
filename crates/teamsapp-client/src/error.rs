//! The crate's one error type.

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use teamsapp_types::GraphError;

/// How many bytes of an undecodable body an error keeps.
pub(crate) const EXCERPT_LIMIT: usize = 200;

/// Everything that can go wrong when talking to Microsoft Graph.
///
/// `Display` shows what a support ticket needs: the HTTP status, Graph's error code and message,
/// and the `request-id`, `client-request-id` and `date` of the failed request. Secrets (tokens,
/// client secrets, refresh tokens) never appear in an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Graph answered with a status the operation does not accept as success.
    ///
    /// A body that is not Graph's JSON error envelope (an HTML page from a proxy, an empty body)
    /// still yields a [`GraphError`]: its code is derived from the status and its message is the
    /// start of the body; the tracing fields come from the response headers.
    #[error("graph answered {status}: {error}")]
    Api {
        /// The HTTP status.
        status: StatusCode,
        /// Graph's error envelope, with `request-id`, `client-request-id` and `date` filled in from
        /// the response headers when the body lacks them.
        error: Box<GraphError>,
        /// The wait the server asked for (`Retry-After`), if any.
        retry_after: Option<Duration>,
    },
    /// The request did not get a response: connection, TLS, timeout or body transfer failure.
    #[error("the request for {operation} failed before graph answered")]
    Transport {
        /// Graph's `operationId`, or `token` for a token request.
        operation: &'static str,
        /// The `client-request-id` the request carried.
        client_request_id: String,
        /// What reqwest reported.
        #[source]
        source: reqwest::Error,
    },
    /// A success response's body could not be decoded into the operation's response type.
    #[error(
        "could not decode graph's {status} answer to {operation} (client-request-id: {client_request_id}); the body starts with {excerpt:?}"
    )]
    Decode {
        /// Graph's `operationId`.
        operation: &'static str,
        /// The HTTP status of the response.
        status: StatusCode,
        /// The `client-request-id` the request carried.
        client_request_id: String,
        /// The first 200 bytes of the body, as lossy UTF-8.
        excerpt: String,
        /// What serde reported.
        #[source]
        source: serde_json::Error,
    },
    /// A token could not be obtained.
    #[error("authentication failed: {reason}")]
    Auth {
        /// What went wrong, in words (never containing a secret).
        reason: String,
        /// The identity platform's error code (`invalid_client`, `expired_token`, …), if it sent one.
        code: Option<String>,
        /// The underlying failure, if any.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// Retries ended (attempts or time budget exhausted) on a 429, 503 or 504.
    #[error("gave up after {attempts} attempts and {waited:?} of waiting; last answer: {last}")]
    Throttled {
        /// How many requests were sent.
        attempts: u32,
        /// How long the client waited between them (Retry-After, backoff, shared gate).
        waited: Duration,
        /// The last answer.
        last: Box<Error>,
    },
    /// The request could not be built (serialization, an operation unfit for `$batch`, …).
    #[error("invalid request: {reason}")]
    InvalidRequest {
        /// What is wrong.
        reason: String,
    },
    /// The client could not be built from its configuration.
    #[error("invalid client configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// The operation is not offered in the configured national cloud.
    #[error("{operation} is not available in the {cloud} cloud")]
    Unsupported {
        /// Graph's `operationId`.
        operation: &'static str,
        /// The cloud's short name.
        cloud: &'static str,
    },
    /// A response body was larger than the client accepts.
    #[error("graph's answer to {operation} is larger than {limit} bytes")]
    BodyTooLarge {
        /// Graph's `operationId`.
        operation: &'static str,
        /// The limit in bytes.
        limit: usize,
    },
    /// Graph returned an `@odata.nextLink` that was already followed: paging would never end.
    #[error("paging loop: graph returned the same @odata.nextLink twice ({link})")]
    PagingLoop {
        /// The repeated link (cut to 200 characters).
        link: String,
    },
    /// An `@odata.nextLink` points to another origin than the client's base URL; it is not
    /// followed, so the bearer token never leaves Graph's host.
    #[error("refusing to follow @odata.nextLink to another host ({link})")]
    ForeignNextLink {
        /// The refused link (cut to 200 characters).
        link: String,
    },
    /// A `$batch` item was not run because an item it depends on failed.
    #[error("batch request {id} was not run because request {dependency} failed")]
    FailedDependency {
        /// The item's id.
        id: String,
        /// The id of the failed dependency.
        dependency: String,
    },
    /// The `$batch` request that carried this item failed as a whole.
    #[error("the $batch request carrying request {id} failed")]
    BatchFailed {
        /// The item's id.
        id: String,
        /// Why the `$batch` request failed (shared by every item it carried).
        #[source]
        source: Arc<Error>,
    },
    /// Graph's `$batch` answer had no response for an item.
    #[error("graph's $batch answer has no response for request {id}")]
    MissingBatchResponse {
        /// The item's id.
        id: String,
    },
}

impl Error {
    /// The HTTP status Graph answered with, if it answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Api { status, .. } | Self::Decode { status, .. } => Some(*status),
            Self::Throttled { last, .. } => last.status(),
            Self::BatchFailed { source, .. } => source.status(),
            _ => None,
        }
    }

    /// Graph's error envelope, if Graph answered with an error.
    pub fn graph_error(&self) -> Option<&GraphError> {
        match self {
            Self::Api { error, .. } => Some(error),
            Self::Throttled { last, .. } => last.graph_error(),
            Self::BatchFailed { source, .. } => source.graph_error(),
            _ => None,
        }
    }

    /// Graph's top-level error code (`NotFound`, `Forbidden`, `TooManyRequests`, …).
    pub fn graph_code(&self) -> Option<&str> {
        self.graph_error().map(GraphError::code)
    }

    /// The server's `request-id`: the id Microsoft support asks for.
    pub fn request_id(&self) -> Option<&str> {
        self.graph_error().and_then(GraphError::request_id)
    }

    /// The `client-request-id` the failed request carried.
    pub fn client_request_id(&self) -> Option<&str> {
        match self {
            Self::Transport {
                client_request_id, ..
            }
            | Self::Decode {
                client_request_id, ..
            } => Some(client_request_id),
            _ => self.graph_error().and_then(GraphError::client_request_id),
        }
    }

    /// The wait the server asked for in `Retry-After`, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Api { retry_after, .. } => *retry_after,
            Self::Throttled { last, .. } => last.retry_after(),
            _ => None,
        }
    }

    /// Whether Graph throttled the request (`429`), or retries ended on 429, 503 or 504.
    pub fn is_throttled(&self) -> bool {
        matches!(self, Self::Throttled { .. })
            || self.status() == Some(StatusCode::TOO_MANY_REQUESTS)
    }

    /// Whether the request got no answer at all (connection, TLS, timeout), including a token
    /// request that could not reach the identity platform: the network's fault, not the caller's.
    pub fn is_unanswered(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Auth {
                code: None,
                source: Some(source),
                ..
            } => source.downcast_ref::<reqwest::Error>().is_some(),
            _ => false,
        }
    }

    /// Whether Graph answered `404 Not Found`.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// An [`Error::InvalidRequest`].
    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        Self::InvalidRequest {
            reason: reason.into(),
        }
    }

    /// An [`Error::Config`].
    pub(crate) fn config(reason: impl Into<String>) -> Self {
        Self::Config {
            reason: reason.into(),
        }
    }

    /// An [`Error::Auth`] without a source.
    pub(crate) fn auth(reason: impl Into<String>, code: Option<String>) -> Self {
        Self::Auth {
            reason: reason.into(),
            code,
            source: None,
        }
    }
}

/// The first [`EXCERPT_LIMIT`] bytes of `body`, as lossy UTF-8.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let cut = &body[..body.len().min(EXCERPT_LIMIT)];
    String::from_utf8_lossy(cut).into_owned()
}

/// `s` cut to 200 characters, with `…` when cut.
pub(crate) fn bounded(s: &str) -> String {
    match s.char_indices().nth(EXCERPT_LIMIT) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}
