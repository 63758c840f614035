//! What is known about one request as it passes the middleware (`context.rs` builds it):
//! the handlers read it from the request's extensions, and the journal keeps it. A leaf module,
//! so the journal does not depend on the middleware that writes to it.

/// What the middleware knows about a request; handlers read it from the request's extensions.
///
/// The two tracing ids are kept as header values, so answering with them copies nothing (the
/// echoed `client-request-id` shares the request's own bytes); both are visible ASCII, checked
/// when built.
#[derive(Debug, Clone)]
pub(crate) struct RequestContext {
    /// `request-id`: a new GUID.
    pub(crate) request_id: http::HeaderValue,
    /// `client-request-id`: the client's, else the `request-id`.
    pub(crate) client_request_id: http::HeaderValue,
    /// `scheme://host[:port]` as the client addressed the emulator (shared by every request
    /// addressed the same way).
    pub(crate) origin: std::sync::Arc<str>,
    /// Whether this is an item of a `$batch`.
    pub(crate) batch_item: bool,
}

impl RequestContext {
    /// `request-id` as text.
    pub(crate) fn request_id(&self) -> &str {
        self.request_id.to_str().unwrap_or_default()
    }

    /// `client-request-id` as text.
    pub(crate) fn client_request_id(&self) -> &str {
        self.client_request_id.to_str().unwrap_or_default()
    }
}

/// Marks a request built by the `$batch` handler.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchItem;
