//! What is known about one request as it passes the middleware (`context.rs` builds it):
//! the handlers read it from the request's extensions, and the journal keeps it. A leaf module,
//! so the journal does not depend on the middleware that writes to it.

/// What the middleware knows about a request; handlers read it from the request's extensions.
#[derive(Debug, Clone)]
pub(crate) struct RequestContext {
    /// `request-id`: a new GUID.
    pub(crate) request_id: String,
    /// `client-request-id`: the client's, else the `request-id`.
    pub(crate) client_request_id: String,
    /// `scheme://host[:port]` as the client addressed the emulator.
    pub(crate) origin: String,
    /// Whether this is an item of a `$batch`.
    pub(crate) batch_item: bool,
}

/// Marks a request built by the `$batch` handler.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchItem;
