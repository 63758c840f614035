//! Graph's error envelope ([`ODataError`]): constructors, accessors and a `Display` that shows
//! what a support ticket needs: code, message, request-id, client-request-id and date.

use crate::generated::{InnerError, MainError, ODataError};
use std::fmt;

/// Graph's error envelope, `{"error": {"code", "message", "innerError": {…}}}`.
pub type GraphError = ODataError;

impl ODataError {
    /// An error with a code and a message, and no inner error yet.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error: MainError {
                code: code.into(),
                message: message.into(),
                ..MainError::default()
            },
            additional_properties: serde_json::Map::new(),
        }
    }

    /// Sets `innerError` with Graph's three tracing fields.
    #[must_use]
    pub fn with_trace(
        mut self,
        request_id: impl Into<String>,
        client_request_id: Option<String>,
        date: impl Into<String>,
    ) -> Self {
        let inner = self.error.inner_error.get_or_insert_with(Default::default);
        inner.request_id = Some(request_id.into());
        inner.client_request_id = client_request_id;
        inner.date = Some(date.into());
        self
    }

    /// The top-level error code (`Forbidden`, `NotFound`, `TooManyRequests`, …).
    pub fn code(&self) -> &str {
        &self.error.code
    }

    /// The developer-facing message.
    pub fn message(&self) -> &str {
        &self.error.message
    }

    /// `innerError.request-id`: the id Microsoft support asks for.
    pub fn request_id(&self) -> Option<&str> {
        self.error.inner_error.as_ref()?.request_id.as_deref()
    }

    /// `innerError.client-request-id`: the id the client sent.
    pub fn client_request_id(&self) -> Option<&str> {
        self.error
            .inner_error
            .as_ref()?
            .client_request_id
            .as_deref()
    }

    /// `innerError.date`, as Graph sent it (usually without a time zone; it is UTC).
    pub fn date(&self) -> Option<&str> {
        self.error.inner_error.as_ref()?.date.as_deref()
    }

    /// Every error code, from the top level down through nested `innerError`s.
    ///
    /// Graph's guidance: "loop through all the error codes available and use the most detailed one
    /// that they understand".
    pub fn codes(&self) -> Vec<&str> {
        let mut codes = vec![self.error.code.as_str()];
        let mut inner = self.error.inner_error.as_ref();
        while let Some(i) = inner {
            if let Some(code) = i.code.as_deref().filter(|c| !c.is_empty()) {
                codes.push(code);
            }
            inner = i.inner_error.as_deref();
        }
        codes
    }

    /// The most specific (innermost) error code.
    pub fn most_specific_code(&self) -> &str {
        self.codes().last().copied().unwrap_or(&self.error.code)
    }
}

impl fmt::Display for ODataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for ODataError {}

impl fmt::Display for MainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        let mut inner = self.inner_error.as_ref();
        while let Some(i) = inner {
            if let Some(code) = i.code.as_deref().filter(|c| !c.is_empty()) {
                write!(f, "/{code}")?;
            }
            inner = i.inner_error.as_deref();
        }
        if self.message.is_empty() {
            f.write_str(": (no message)")?;
        } else {
            write!(f, ": {}", self.message)?;
        }
        if let Some(inner) = &self.inner_error {
            write!(f, " ({inner})")?;
        }
        Ok(())
    }
}

impl fmt::Display for InnerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields = [
            ("request-id", self.request_id.as_deref()),
            ("client-request-id", self.client_request_id.as_deref()),
            ("date", self.date.as_deref()),
        ];
        let mut first = true;
        for (name, value) in fields {
            if let Some(value) = value {
                if !first {
                    f.write_str(", ")?;
                }
                write!(f, "{name}: {value}")?;
                first = false;
            }
        }
        if first {
            f.write_str("no request id")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_shows_code_message_and_trace() {
        let err = GraphError::new("Forbidden", "Missing role permissions on the request.")
            .with_trace(
                "d1878136-bc88-421a-b342-c3d883db31a1",
                Some("676e8303-44ce-4a69-a752-d25cc7b62e41".into()),
                "2024-01-18T21:47:58",
            );
        assert_eq!(
            err.to_string(),
            "Forbidden: Missing role permissions on the request. (request-id: d1878136-bc88-421a-b342-c3d883db31a1, \
             client-request-id: 676e8303-44ce-4a69-a752-d25cc7b62e41, date: 2024-01-18T21:47:58)"
        );
        assert_eq!(
            err.request_id(),
            Some("d1878136-bc88-421a-b342-c3d883db31a1")
        );
    }

    #[test]
    fn nested_teams_codes_are_found_and_shown() {
        // The Teams service's pattern: innerError carries its own code and an empty nested innerError.
        let body = r#"{"error":{"code":"Conflict","message":"Conflict","innerError":{"message":"","code":"AppDefinitionAlreadyExists","innerError":{},"date":"2023-12-05T08:16:12","request-id":"676e8303-44ce-4a69-a752-d25cc7b62e41","client-request-id":"676e8303-44ce-4a69-a752-d25cc7b62e41"}}}"#;
        let err: GraphError = serde_json::from_str(body).unwrap();
        assert_eq!(err.codes(), ["Conflict", "AppDefinitionAlreadyExists"]);
        assert_eq!(err.most_specific_code(), "AppDefinitionAlreadyExists");
        let shown = err.to_string();
        assert!(
            shown
                .starts_with("Conflict/AppDefinitionAlreadyExists: Conflict (request-id: 676e8303"),
            "{shown}"
        );
        assert!(shown.contains("date: 2023-12-05T08:16:12"), "{shown}");
    }

    #[test]
    fn an_error_without_inner_error_still_displays() {
        let err: GraphError =
            serde_json::from_str(r#"{"error":{"code":"UnknownError","message":""}}"#).unwrap();
        assert_eq!(err.to_string(), "UnknownError: (no message)");
        assert_eq!(err.request_id(), None);
    }
}
