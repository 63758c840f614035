//! [`ModelError`]: every way an operation of the model can fail, with the HTTP status, Graph error
//! code, message and inner error an emulator needs to render Graph's envelope (reference §3.1,
//! §3.3).

use std::fmt;

use teamsapp_types::{ErrorDetails, GraphError, InnerError};

/// Everything that can go wrong in the model.
///
/// Each variant knows its HTTP [`status`](Self::status), its Graph [`code`](Self::code) and the
/// [`message`](Self::message) Graph would send. That message is Graph's prose (sentence case, and
/// for 403s Graph's own `Missing role permissions on the request. …` form); `Display` shows the
/// same text in house style: prefixed by the kind of error, starting lowercase, without a trailing
/// period.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// `400 BadRequest`: the request is malformed or breaks one of Graph's rules.
    #[error("bad request: {}", HouseStyle(message))]
    BadRequest {
        /// Graph's message.
        message: String,
        /// A more specific code Graph nests in `innerError`, if any.
        inner_code: Option<&'static str>,
    },
    /// `400 BadRequest` with inner code `UnableToParseTeamsAppManifest`: an app package that is not
    /// a valid zip with a valid `manifest.json` (reference §3.3 #2).
    #[error("invalid app package: {}", HouseStyle(message))]
    InvalidPackage {
        /// Graph's message: every problem as `target | message`, joined by `; `.
        message: String,
        /// One entry per problem (`SchemaError_Required`, …), as in `innerError.details`.
        details: Vec<PackageProblem>,
    },
    /// `401 InvalidAuthenticationToken`: the caller's tenant is not loaded.
    #[error("unauthorized: {}", HouseStyle(message))]
    Unauthorized {
        /// Graph's message.
        message: String,
    },
    /// `403 Forbidden`: the caller's permissions, or the tenant's policies, do not allow the call.
    #[error("forbidden: {}", HouseStyle(message))]
    Forbidden {
        /// Graph's message, naming the permissions that would allow the call.
        message: String,
        /// A more specific code Graph nests in `innerError` (`AccessDenied` for an app blocked
        /// by an app permission policy).
        inner_code: Option<&'static str>,
    },
    /// `404 NotFound`: a resource in the path or the body does not exist.
    #[error("not found: {}", HouseStyle(message))]
    NotFound {
        /// Graph's message.
        message: String,
    },
    /// `409 Conflict`: the change collides with the current state.
    #[error("conflict: {}", HouseStyle(message))]
    Conflict {
        /// Graph's message.
        message: String,
        /// A more specific code Graph nests in `innerError` (`AppDefinitionAlreadyExists`).
        inner_code: Option<&'static str>,
    },
    /// `412 PreconditionFailed`: the request's `If-Match` names another version of the resource.
    #[error("precondition failed: {}", HouseStyle(message))]
    PreconditionFailed {
        /// Graph's message.
        message: String,
    },
    /// A tenant description is invalid (`400` when an admin API loads it).
    #[error("invalid tenant spec: {}", HouseStyle(message))]
    InvalidSpec {
        /// What is wrong, and where.
        message: String,
    },
    /// An event cannot be applied to the current state: the event log does not belong to the
    /// loaded tenants, or is out of order (`500` if it ever reaches HTTP).
    #[error("cannot apply event: {}", HouseStyle(message))]
    InvalidEvent {
        /// What does not match.
        message: String,
    },
}

pub use teamsapp_package::PackageProblem;

impl From<teamsapp_package::PackageError> for ModelError {
    fn from(e: teamsapp_package::PackageError) -> Self {
        Self::InvalidPackage {
            message: e.message,
            details: e.details,
        }
    }
}

impl ModelError {
    /// The HTTP status Graph answers with.
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest { .. } | Self::InvalidPackage { .. } | Self::InvalidSpec { .. } => 400,
            Self::Unauthorized { .. } => 401,
            Self::Forbidden { .. } => 403,
            Self::NotFound { .. } => 404,
            Self::Conflict { .. } => 409,
            Self::PreconditionFailed { .. } => 412,
            Self::InvalidEvent { .. } => 500,
        }
    }

    /// Graph's top-level `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { .. } | Self::InvalidPackage { .. } | Self::InvalidSpec { .. } => {
                "BadRequest"
            }
            Self::Unauthorized { .. } => "InvalidAuthenticationToken",
            Self::Forbidden { .. } => "Forbidden",
            Self::NotFound { .. } => "NotFound",
            Self::Conflict { .. } => "Conflict",
            Self::PreconditionFailed { .. } => "PreconditionFailed",
            Self::InvalidEvent { .. } => "InternalServerError",
        }
    }

    /// Graph's `error.message`.
    pub fn message(&self) -> &str {
        match self {
            Self::BadRequest { message, .. }
            | Self::InvalidPackage { message, .. }
            | Self::Unauthorized { message }
            | Self::Forbidden { message, .. }
            | Self::NotFound { message }
            | Self::Conflict { message, .. }
            | Self::PreconditionFailed { message }
            | Self::InvalidSpec { message }
            | Self::InvalidEvent { message } => message,
        }
    }

    /// The code Graph nests in `innerError.code`, if any (`UnableToParseTeamsAppManifest`,
    /// `AppDefinitionAlreadyExists`).
    pub fn inner_code(&self) -> Option<&'static str> {
        match self {
            Self::BadRequest { inner_code, .. }
            | Self::Conflict { inner_code, .. }
            | Self::Forbidden { inner_code, .. } => *inner_code,
            Self::InvalidPackage { .. } => Some("UnableToParseTeamsAppManifest"),
            _ => None,
        }
    }

    /// The problems of an invalid package (empty for other errors).
    pub fn details(&self) -> &[PackageProblem] {
        match self {
            Self::InvalidPackage { details, .. } => details,
            _ => &[],
        }
    }

    /// Graph's envelope for this error, without the tracing fields: the emulator adds
    /// `request-id`, `client-request-id` and `date` with [`GraphError::with_trace`].
    ///
    /// An inner code becomes the Teams service's nested pattern: `innerError` carries `code`,
    /// `message` (the top-level message for package errors and a `403`'s, as the policy block
    /// report shows, empty otherwise, as in §3.3 #1),
    /// `details`, and an empty nested `innerError`.
    pub fn to_graph_error(&self) -> GraphError {
        let mut error = GraphError::new(self.code(), self.message());
        if let Some(code) = self.inner_code() {
            let details = self.details();
            error.error.inner_error = Some(InnerError {
                code: Some(code.to_owned()),
                message: Some(
                    if details.is_empty() && !matches!(self, Self::Forbidden { .. }) {
                        String::new()
                    } else {
                        self.message().to_owned()
                    },
                ),
                details: (!details.is_empty()).then(|| {
                    details
                        .iter()
                        .map(|d| ErrorDetails {
                            code: d.code.to_owned(),
                            message: d.message.clone(),
                            target: Some(d.target.clone()),
                            additional_properties: serde_json::Map::new(),
                        })
                        .collect()
                }),
                inner_error: Some(Box::default()),
                ..InnerError::default()
            });
        }
        error
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest {
            message: message.into(),
            inner_code: None,
        }
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden {
            message: message.into(),
            inner_code: None,
        }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound {
            message: message.into(),
        }
    }

    pub(crate) fn conflict(message: impl Into<String>, inner_code: Option<&'static str>) -> Self {
        Self::Conflict {
            message: message.into(),
            inner_code,
        }
    }

    pub(crate) fn spec(message: impl Into<String>) -> Self {
        Self::InvalidSpec {
            message: message.into(),
        }
    }

    pub(crate) fn event(message: impl Into<String>) -> Self {
        Self::InvalidEvent {
            message: message.into(),
        }
    }
}

/// Shows a Graph message in house style: first letter lowercase (unless the message starts with
/// an acronym or a name such as `API`), no trailing period.
struct HouseStyle<'a>(&'a str);

impl fmt::Display for HouseStyle<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.trim_end_matches('.');
        let mut chars = text.chars();
        match (chars.next(), chars.next()) {
            (Some(first), Some(second)) if first.is_uppercase() && !second.is_uppercase() => {
                write!(f, "{}{}", first.to_lowercase(), &text[first.len_utf8()..])
            }
            _ => f.write_str(text),
        }
    }
}

pub(crate) use teamsapp_types::echo;

#[cfg(test)]
mod tests {
    #[test]
    fn a_bad_package_is_graphs_unable_to_parse_manifest() {
        let err = ModelError::from(teamsapp_package::parse_package(b"not a zip").unwrap_err());
        assert_eq!(err.status(), 400);
        assert_eq!(err.inner_code(), Some("UnableToParseTeamsAppManifest"));
        assert_eq!(err.details()[0].code, "InvalidPackage");
    }

    use super::*;

    #[test]
    fn display_is_house_style_and_message_is_graphs() {
        let err = ModelError::forbidden(
            "Missing role permissions on the request. API requires one of 'A'. Roles on the request ''.",
        );
        assert_eq!(err.status(), 403);
        assert_eq!(err.code(), "Forbidden");
        assert!(err.message().starts_with("Missing role"));
        let shown = err.to_string();
        assert!(shown.starts_with("forbidden: missing role"), "{shown}");
        assert!(!shown.ends_with('.'), "{shown}");
        let api = ModelError::bad_request("API version is not supported.");
        assert_eq!(api.to_string(), "bad request: API version is not supported");
    }

    #[test]
    fn conflict_renders_the_teams_nested_pattern() {
        let err = ModelError::conflict("Conflict", Some("AppDefinitionAlreadyExists"));
        let graph = err.to_graph_error();
        assert_eq!(graph.codes(), ["Conflict", "AppDefinitionAlreadyExists"]);
        let json = serde_json::to_value(&graph).unwrap();
        assert_eq!(json["error"]["innerError"]["message"], "");
        assert_eq!(
            json["error"]["innerError"]["innerError"],
            serde_json::json!({})
        );
    }

    #[test]
    fn package_errors_carry_details() {
        let err = ModelError::InvalidPackage {
            message: "name | Required properties are missing from object: [short].".into(),
            details: vec![PackageProblem {
                code: "SchemaError_Required",
                message: "Required properties are missing from object: [short].".into(),
                target: "name".into(),
            }],
        };
        assert_eq!(err.status(), 400);
        let graph = err.to_graph_error();
        assert_eq!(graph.most_specific_code(), "UnableToParseTeamsAppManifest");
        let inner = graph.error.inner_error.unwrap();
        let details = inner.details.unwrap();
        assert_eq!(details[0].code, "SchemaError_Required");
        assert_eq!(details[0].target.as_deref(), Some("name"));
    }
}
