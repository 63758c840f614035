//! The seam between the HTTP layer and the domain: a [`GraphCall`] (a request the HTTP layer has
//! authenticated, throttled, parsed and validated) goes to a [`GraphBackend`], which answers a
//! [`GraphReply`] or an [`ApiError`]. The HTTP layer knows nothing of Graph's rules; the backend
//! knows nothing of HTTP beyond statuses and JSON.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};
use teamsapp_types::Route;

use std::sync::Arc;

use crate::auth::Authenticated;
use crate::error::ApiError;

/// A boxed future, for the object-safe backend trait.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The API version a request was sent to (one enum with the model's and the entity tables').
pub use teamsapp_types::ApiVersion;

/// One Graph request, ready for the domain.
#[derive(Debug, Clone)]
pub(crate) struct GraphCall {
    /// The operation.
    pub(crate) route: &'static Route,
    /// `/v1.0` or `/beta`.
    pub(crate) version: ApiVersion,
    /// Path parameters by template name, percent-decoded and validated.
    pub(crate) params: Vec<(&'static str, String)>,
    /// Validated query options.
    pub(crate) query: teamsapp_model::Query,
    /// The body (empty when none was sent).
    pub(crate) body: Bytes,
    /// Who is calling (the verified token, shared with the token memo).
    pub(crate) caller: Arc<Authenticated>,
    /// `scheme://host[:port]` as the client addressed the emulator, for absolute links.
    pub(crate) origin: Arc<str>,
    /// `If-Match`, as sent.
    pub(crate) if_match: Option<String>,
}

impl GraphCall {
    /// The value of path parameter `name`.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A successful answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GraphReply {
    pub(crate) status: StatusCode,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) body: Option<serde_json::Value>,
}

impl GraphReply {
    /// A reply with `status` and no body.
    pub(crate) fn empty(status: StatusCode) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: None,
        }
    }
}

/// The domain behind the Graph routes.
pub(crate) trait GraphBackend: Send + Sync + 'static {
    /// Answers one Graph request.
    fn call(&self, call: GraphCall) -> BoxFuture<'_, Result<GraphReply, ApiError>>;

    /// Returns to the initial state (`POST /_emulator/reset`).
    fn reset(&self) -> BoxFuture<'_, Result<(), ApiError>> {
        Box::pin(async { Ok(()) })
    }

    /// Loads a tenant spec (`POST /_emulator/tenants`).
    fn load_tenant(
        &self,
        _spec: serde_json::Value,
    ) -> BoxFuture<'_, Result<serde_json::Value, ApiError>> {
        Box::pin(async {
            Err(ApiError::NotImplemented {
                what: "loading tenants",
            })
        })
    }

    /// A summary of the state (`GET /_emulator/state`).
    fn summary(&self) -> BoxFuture<'_, Result<serde_json::Value, ApiError>> {
        Box::pin(async { Ok(serde_json::json!({})) })
    }

    /// The directory of the loaded tenants (app registrations, users, grants).
    fn directory(&self) -> Vec<crate::identity::IdentityTenant> {
        Vec::new()
    }

    /// One installation, by id (`GET /_emulator/installations/{id}`).
    fn installation(&self, _id: String) -> BoxFuture<'_, Result<serde_json::Value, ApiError>> {
        Box::pin(async {
            Err(ApiError::NotImplemented {
                what: "inspecting installations",
            })
        })
    }
}
