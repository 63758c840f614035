//! OData query options, read once: [`Query::for_route`] decodes a raw query string (with
//! `form_urlencoded`, as HTML forms and Graph's own examples encode it: `+` is a space) and
//! validates it for an operation as Graph does before its workload sees the request; the model
//! receives the typed [`Query`]. Every message about a query option's name or syntax is here, in
//! [`QueryError`].
//!
//! - Option names match ASCII case-insensitively; the `$` may be left out of system query options
//!   (`select=id`), as Graph allows.
//! - A `$`-option OData does not define (`$foo`) → "The query parameter '$foo' is not supported.".
//! - An OData option the operation does not take (`$orderby` on `installedApps`) → the OData
//!   library's message, which names it (`Query option 'OrderBy' is not allowed. …`).
//! - An option given twice → 400; `$top` must be a non-negative integer, `$count` `true` or
//!   `false`.
//! - Other parameters are kept when the operation takes them (`requiresReview`) and ignored
//!   otherwise, as Graph ignores them.

use std::fmt;

use teamsapp_types::{ApiVersion, Route};

use crate::ModelError;

/// OData system query options, lowercase without `$`, with the name the OData library uses in
/// its messages.
const SYSTEM_OPTIONS: &[(&str, &str)] = &[
    ("select", "Select"),
    ("expand", "Expand"),
    ("filter", "Filter"),
    ("orderby", "OrderBy"),
    ("top", "Top"),
    ("skip", "Skip"),
    ("count", "Count"),
    ("search", "Search"),
    ("skiptoken", "SkipToken"),
    ("deltatoken", "DeltaToken"),
    ("format", "Format"),
    ("apply", "Apply"),
    ("compute", "Compute"),
    ("index", "Index"),
    ("levels", "Levels"),
];

/// The OData library's name of a system option (`$orderby` → `OrderBy`), or the option as given.
fn odata_option_name(option: &str) -> &str {
    let bare = option.trim_start_matches('$');
    SYSTEM_OPTIONS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(bare))
        .map_or(option, |(_, shown)| shown)
}

/// A query option an operation of this API family can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueryOption {
    /// `$filter`.
    Filter,
    /// `$select`.
    Select,
    /// `$expand`.
    Expand,
    /// `$top`.
    Top,
    /// `$count`.
    Count,
    /// `$skiptoken`.
    Skiptoken,
    /// `requiresReview` (catalog publish and update).
    RequiresReview,
}

impl QueryOption {
    /// Every option.
    pub const ALL: [Self; 7] = [
        Self::Filter,
        Self::Select,
        Self::Expand,
        Self::Top,
        Self::Count,
        Self::Skiptoken,
        Self::RequiresReview,
    ];

    /// The canonical wire name, as the fragment's routes list it (`$top`, `requiresReview`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Filter => "$filter",
            Self::Select => "$select",
            Self::Expand => "$expand",
            Self::Top => "$top",
            Self::Count => "$count",
            Self::Skiptoken => "$skiptoken",
            Self::RequiresReview => "requiresReview",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|o| o.name().eq_ignore_ascii_case(name))
    }

    fn is_allowed(self, route: &Route) -> bool {
        route
            .query_options
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(self.name()))
    }
}

/// Why a query string was refused: `400 BadRequest` with [`message`](Self::message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// A `$`-option OData does not define.
    #[error("query option {option} is not supported")]
    Unknown {
        /// The option as sent, e.g. `$foo`.
        option: String,
    },
    /// An OData option the operation does not take.
    #[error("query option {option} is not allowed")]
    NotAllowed {
        /// The option as sent, e.g. `$orderby`.
        option: String,
    },
    /// An option given more than once.
    #[error("query option {option} was given more than once")]
    Repeated {
        /// The canonical name, e.g. `$top`.
        option: String,
    },
    /// A value the option cannot take (`$top=abc`).
    #[error("invalid value for query option {option}")]
    InvalidValue {
        /// The canonical name, e.g. `$top`.
        option: String,
        /// The rejected value.
        value: String,
    },
}

impl QueryError {
    /// Graph's `error.message`.
    pub fn message(&self) -> String {
        match self {
            Self::Unknown { option } => format!("The query parameter '{option}' is not supported."),
            Self::NotAllowed { option } => format!(
                "The query specified in the URI is not valid. Query option '{}' is not allowed. \
                 To allow it, set the 'AllowedQueryOptions' property on EnableQueryAttribute or \
                 QueryValidationSettings.",
                odata_option_name(option)
            ),
            Self::Repeated { option } => format!(
                "Query option '{}' was specified more than once, but it must be specified at most \
                 once.",
                odata_option_name(option)
            ),
            Self::InvalidValue { option, value } => {
                format!("Invalid value '{value}' for query option '{option}'.")
            }
        }
    }
}

impl From<QueryError> for ModelError {
    fn from(error: QueryError) -> Self {
        ModelError::bad_request(error.message())
    }
}

/// The query options of one request: percent-decoded, typed where the type is OData's
/// (`$top`, `$count`), in the order they were sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Each option given, by its canonical name, with its value as sent (percent-decoded).
    options: Vec<(QueryOption, String)>,
    top: Option<u32>,
    count: Option<bool>,
    /// The first problem [`Query::parse`] met, reported by the operation that reads the query.
    problem: Option<QueryError>,
    /// The API version the request was sent to: whose entity tables `$select`, `$expand` and
    /// `$filter` are checked against and whose shapes the answer has.
    version: ApiVersion,
}

impl Query {
    /// No options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads and validates `raw` (the part after `?`, still percent-encoded) for `route`: the one
    /// place where a request's query options are parsed.
    pub fn for_route(route: &Route, raw: Option<&str>) -> Result<Self, QueryError> {
        let query = Self::scan(raw.unwrap_or(""), Some(route));
        match query.problem {
            Some(problem) => Err(problem),
            None => Ok(query),
        }
    }

    /// Reads `raw` without an operation; whatever is wrong with it (an unknown `$`-option, an
    /// option given twice, a bad `$top`) is reported when an operation reads the query, along
    /// with options that operation does not take.
    pub fn parse(raw: &str) -> Self {
        Self::scan(raw.strip_prefix('?').unwrap_or(raw), None)
    }

    fn scan(raw: &str, route: Option<&Route>) -> Self {
        let mut query = Self::default();
        for (key, value) in form_urlencoded::parse(raw.as_bytes()) {
            if let Err(problem) = query.add(&key, value.into_owned(), route) {
                query.problem = Some(problem);
                break;
            }
        }
        query
    }

    fn add(&mut self, key: &str, value: String, route: Option<&Route>) -> Result<(), QueryError> {
        let bare = key.strip_prefix('$');
        let lower = bare.unwrap_or(key);
        let system = SYSTEM_OPTIONS
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case(lower));
        let option = if system {
            match (QueryOption::from_name(&format!("${lower}")), route) {
                (Some(option), None) => option,
                (Some(option), Some(route)) if option.is_allowed(route) => option,
                (_, Some(_)) => {
                    return Err(QueryError::NotAllowed {
                        option: key.to_owned(),
                    });
                }
                // Without an operation: no operation of this API family takes it.
                (None, None) => {
                    return Err(QueryError::Unknown {
                        option: key.to_owned(),
                    });
                }
            }
        } else if bare.is_some() {
            return Err(QueryError::Unknown {
                option: key.to_owned(),
            });
        } else {
            match QueryOption::from_name(key) {
                Some(option) if route.is_none_or(|r| option.is_allowed(r)) => option,
                // Graph ignores query parameters it does not know.
                _ => return Ok(()),
            }
        };
        if self.options.iter().any(|(o, _)| *o == option) {
            return Err(QueryError::Repeated {
                option: option.name().to_owned(),
            });
        }
        let invalid = || QueryError::InvalidValue {
            option: option.name().to_owned(),
            value: value.clone(),
        };
        match option {
            QueryOption::Top => self.top = Some(value.parse().map_err(|_| invalid())?),
            QueryOption::Count => {
                self.count = Some(if value.eq_ignore_ascii_case("true") {
                    true
                } else if value.eq_ignore_ascii_case("false") {
                    false
                } else {
                    return Err(invalid());
                });
            }
            _ => {}
        }
        self.options.push((option, value));
        Ok(())
    }

    /// Sets an option, replacing an earlier value.
    fn set(mut self, option: QueryOption, value: String) -> Self {
        self.options.retain(|(o, _)| *o != option);
        self.options.push((option, value));
        self
    }

    /// Sets the API version the request was sent to (`/v1.0` unless set): `/beta` checks
    /// `$select`, `$expand` and `$filter` against the beta entity tables
    /// ([`Entity::in_version`](teamsapp_types::entity::Entity::in_version)) and answers with
    /// beta's shapes.
    #[must_use]
    pub fn with_version(mut self, version: ApiVersion) -> Self {
        self.version = version;
        self
    }

    /// The API version the request was sent to.
    pub fn version(&self) -> ApiVersion {
        self.version
    }

    /// Sets `$filter`.
    #[must_use]
    pub fn with_filter(self, value: impl Into<String>) -> Self {
        self.set(QueryOption::Filter, value.into())
    }

    /// Sets `$select`.
    #[must_use]
    pub fn with_select(self, value: impl Into<String>) -> Self {
        self.set(QueryOption::Select, value.into())
    }

    /// Sets `$expand`.
    #[must_use]
    pub fn with_expand(self, value: impl Into<String>) -> Self {
        self.set(QueryOption::Expand, value.into())
    }

    /// Sets `$top`.
    #[must_use]
    pub fn with_top(mut self, value: u32) -> Self {
        self.top = Some(value);
        self.set(QueryOption::Top, value.to_string())
    }

    /// Sets `$count`.
    #[must_use]
    pub fn with_count(mut self, value: bool) -> Self {
        self.count = Some(value);
        self.set(QueryOption::Count, value.to_string())
    }

    /// Sets `$skiptoken`.
    #[must_use]
    pub fn with_skiptoken(self, value: impl Into<String>) -> Self {
        self.set(QueryOption::Skiptoken, value.into())
    }

    /// Sets `requiresReview`.
    #[must_use]
    pub fn with_requires_review(self, value: bool) -> Self {
        self.set(QueryOption::RequiresReview, value.to_string())
    }

    /// The value of `option` as sent, if given.
    pub fn get(&self, option: QueryOption) -> Option<&str> {
        self.options
            .iter()
            .find(|(o, _)| *o == option)
            .map(|(_, v)| v.as_str())
    }

    /// Every option given, in request order, by canonical name.
    pub fn iter(&self) -> impl Iterator<Item = (QueryOption, &str)> {
        self.options.iter().map(|(o, v)| (*o, v.as_str()))
    }

    /// Whether no option was given.
    pub fn is_empty(&self) -> bool {
        self.options.is_empty()
    }

    /// `$filter`.
    pub fn filter(&self) -> Option<&str> {
        self.get(QueryOption::Filter)
    }

    /// `$select`.
    pub fn select(&self) -> Option<&str> {
        self.get(QueryOption::Select)
    }

    /// `$expand`.
    pub fn expand(&self) -> Option<&str> {
        self.get(QueryOption::Expand)
    }

    /// `$top`.
    pub fn top(&self) -> Option<u32> {
        self.top
    }

    /// `$count`.
    pub fn count(&self) -> Option<bool> {
        self.count
    }

    /// `$skiptoken`.
    pub fn skiptoken(&self) -> Option<&str> {
        self.get(QueryOption::Skiptoken)
    }

    /// `requiresReview`, as sent.
    pub fn requires_review(&self) -> Option<&str> {
        self.get(QueryOption::RequiresReview)
    }

    /// Refuses a query [`Query::parse`] found wrong, and options `route` does not take.
    pub(crate) fn check_allowed(&self, route: &Route) -> Result<(), QueryError> {
        if let Some(problem) = &self.problem {
            return Err(problem.clone());
        }
        match self.options.iter().find(|(o, _)| !o.is_allowed(route)) {
            Some((option, _)) => Err(QueryError::NotAllowed {
                option: option.name().to_owned(),
            }),
            None => Ok(()),
        }
    }
}

impl fmt::Display for Query {
    /// The options as a query string, in request order (values not re-encoded).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (option, value)) in self.options.iter().enumerate() {
            if i > 0 {
                f.write_str("&")?;
            }
            write!(f, "{}={value}", option.name())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use teamsapp_types::routes;

    #[test]
    fn accepts_the_routes_options_in_any_case_and_without_dollar() {
        let q = Query::for_route(
            &routes::LIST_USER_CHATS,
            Some("$EXPAND=members&$filter=chatType+eq+'x'&top=5"),
        )
        .unwrap();
        assert_eq!(q.expand(), Some("members"));
        assert_eq!(q.filter(), Some("chatType eq 'x'"));
        assert_eq!(q.top(), Some(5));
        assert_eq!(
            q.iter().map(|(o, _)| o).collect::<Vec<_>>(),
            [QueryOption::Expand, QueryOption::Filter, QueryOption::Top]
        );
    }

    #[test]
    fn rejects_options_the_route_does_not_take() {
        let err =
            Query::for_route(&routes::LIST_CHAT_INSTALLED_APPS, Some("$orderby=id")).unwrap_err();
        assert!(matches!(err, QueryError::NotAllowed { ref option } if option == "$orderby"));
        let err = Query::for_route(&routes::UPGRADE_CHAT_APP, Some("%24select=id")).unwrap_err();
        assert!(err.message().contains("'Select'"), "{}", err.message());
        let err = Query::for_route(&routes::GET_CHAT_INSTALLED_APP, Some("$top=5")).unwrap_err();
        assert!(
            err.message().contains("'Top' is not allowed"),
            "{}",
            err.message()
        );
        // Graph documents `$filter`, `$select` and `$expand` only on installation lists.
        for option in ["$top=5", "$count=true", "$skiptoken=abc"] {
            let err =
                Query::for_route(&routes::LIST_CHAT_INSTALLED_APPS, Some(option)).unwrap_err();
            assert!(err.message().contains("is not allowed"), "{option}: {err}");
        }
    }

    #[test]
    fn rejects_unknown_dollar_options_duplicates_and_bad_values() {
        let route = &routes::LIST_USERS;
        assert!(matches!(
            Query::for_route(route, Some("$foo=1")),
            Err(QueryError::Unknown { .. })
        ));
        let err = Query::for_route(route, Some("$top=1&$TOP=2")).unwrap_err();
        assert_eq!(
            err.message(),
            "Query option 'Top' was specified more than once, but it must be specified at most once."
        );
        assert!(matches!(
            Query::for_route(route, Some("$top=abc")),
            Err(QueryError::InvalidValue { .. })
        ));
        assert!(Query::for_route(route, Some("$count=maybe")).is_err());
    }

    #[test]
    fn keeps_declared_custom_parameters_and_ignores_others() {
        let q = Query::for_route(
            &routes::PUBLISH_CATALOG_APP,
            Some("requiresreview=true&api-version=2"),
        )
        .unwrap();
        assert_eq!(q.requires_review(), Some("true"));
        assert_eq!(q.iter().count(), 1);
    }

    #[test]
    fn parse_defers_problems_to_the_operation() {
        let q = Query::parse("?$filter=id+eq+'a%27b'&$TOP=5&$orderby=x&foo=bar");
        assert_eq!(q.filter(), Some("id eq 'a'b'"));
        assert_eq!(q.top(), Some(5));
        let err = q
            .check_allowed(&routes::LIST_CHAT_INSTALLED_APPS)
            .unwrap_err();
        assert_eq!(
            err.message(),
            "The query parameter '$orderby' is not supported."
        );
        let err = Query::new()
            .with_top(5)
            .check_allowed(&routes::GET_CHAT_INSTALLED_APP)
            .unwrap_err();
        assert!(err.message().contains("'Top' is not allowed"), "{err}");
        assert!(
            Query::new()
                .check_allowed(&routes::UPGRADE_CHAT_APP)
                .is_ok()
        );
    }

    #[test]
    fn every_option_a_route_takes_is_known() {
        for route in routes::ALL {
            for name in route.query_options {
                assert!(
                    QueryOption::from_name(name).is_some(),
                    "{} takes {name}",
                    route.operation_id
                );
            }
        }
    }
}
