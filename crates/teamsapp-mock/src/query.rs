//! OData query options: parsed from the query string and checked against the operation's
//! [`Route::query_options`](teamsapp_types::Route::query_options), as Graph does before the
//! workload sees the request.
//!
//! - `$`-options are matched ASCII case-insensitively; the `$` may be left out for system query
//!   options (`select=id`), as Graph allows.
//! - An option OData does not define (`$foo`) → 400 "The query parameter '$foo' is not supported.".
//! - An OData option the operation does not support (`$orderby` on `installedApps`) → 400 with the
//!   OData library's message, which names it (`Query option 'OrderBy' is not allowed. …`).
//! - An option given twice → 400; `$top` must be a non-negative integer, `$count` `true` or
//!   `false`.
//! - Other parameters are kept when the route lists them (`requiresReview`) and ignored otherwise.

use percent_encoding::percent_decode_str;
use teamsapp_types::Route;

use crate::error::ApiError;

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
pub(crate) fn odata_option_name(option: &str) -> String {
    let bare = option.trim_start_matches('$').to_ascii_lowercase();
    SYSTEM_OPTIONS
        .iter()
        .find(|(name, _)| *name == bare)
        .map_or_else(|| option.to_owned(), |(_, shown)| (*shown).to_owned())
}

/// The query options of one request, validated for its route.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ODataQuery {
    options: Vec<(String, String)>,
}

impl ODataQuery {
    /// Parses and validates `query` (the part after `?`, still percent-encoded) for `route`.
    pub fn parse(route: &Route, query: Option<&str>) -> Result<Self, ApiError> {
        let mut options: Vec<(String, String)> = Vec::new();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = decode_component(raw_key);
            let value = decode_component(raw_value);
            let bare = key.strip_prefix('$');
            let lower = bare.unwrap_or(&key).to_ascii_lowercase();
            let is_system = SYSTEM_OPTIONS.iter().any(|(name, _)| *name == lower);
            let name = if is_system {
                format!("${lower}")
            } else if bare.is_some() {
                return Err(ApiError::UnknownQueryOption { option: key });
            } else if let Some(custom) = route
                .query_options
                .iter()
                .find(|o| o.eq_ignore_ascii_case(&key))
            {
                (*custom).to_owned()
            } else {
                // Graph ignores query parameters it does not know.
                continue;
            };
            if is_system
                && !route
                    .query_options
                    .iter()
                    .any(|allowed| allowed.eq_ignore_ascii_case(&name))
            {
                return Err(ApiError::QueryOptionNotAllowed { option: key });
            }
            if options.iter().any(|(existing, _)| *existing == name) {
                return Err(ApiError::bad_request(format!(
                    "Query option '{}' was specified more than once, but it must be specified at \
                     most once.",
                    odata_option_name(&name)
                )));
            }
            validate_value(&name, &value)?;
            options.push((name, value));
        }
        Ok(Self { options })
    }

    /// The value of an option by its canonical name (`$top`, `$filter`, `requiresReview`).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every option, in request order, with canonical names.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.options.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// `$top`, if given.
    pub fn top(&self) -> Option<u32> {
        self.get("$top").and_then(|v| v.parse().ok())
    }

    /// Whether no option was given.
    pub fn is_empty(&self) -> bool {
        self.options.is_empty()
    }
}

fn validate_value(name: &str, value: &str) -> Result<(), ApiError> {
    let ok = match name {
        "$top" | "$skip" => value.parse::<u32>().is_ok(),
        "$count" => value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false"),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::InvalidQueryValue {
            option: name.to_owned(),
            value: value.to_owned(),
        })
    }
}

/// Decodes one `application/x-www-form-urlencoded` component: `+` is a space, then
/// percent-decoding (invalid UTF-8 is replaced, never rejected).
pub(crate) fn decode_component(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

/// Parses an `application/x-www-form-urlencoded` body into name/value pairs.
pub(crate) fn parse_form(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode_component(k), decode_component(v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use teamsapp_types::routes;

    #[test]
    fn accepts_the_routes_options_in_any_case_and_without_dollar() {
        let q = ODataQuery::parse(
            &routes::LIST_CHAT_INSTALLED_APPS,
            Some("$EXPAND=teamsApp,teamsAppDefinition&$filter=teamsApp/externalId+eq+'x'&top=5"),
        )
        .unwrap();
        assert_eq!(q.get("$expand"), Some("teamsApp,teamsAppDefinition"));
        assert_eq!(q.get("$filter"), Some("teamsApp/externalId eq 'x'"));
        assert_eq!(q.top(), Some(5));
    }

    #[test]
    fn rejects_options_the_route_does_not_take() {
        let err =
            ODataQuery::parse(&routes::LIST_CHAT_INSTALLED_APPS, Some("$orderby=id")).unwrap_err();
        assert!(
            matches!(err, ApiError::QueryOptionNotAllowed { ref option } if option == "$orderby")
        );
        let err = ODataQuery::parse(&routes::UPGRADE_CHAT_APP, Some("%24select=id")).unwrap_err();
        assert!(err.message().contains("'Select'"), "{}", err.message());
    }

    #[test]
    fn rejects_unknown_dollar_options_duplicates_and_bad_values() {
        let route = &routes::LIST_CHAT_INSTALLED_APPS;
        assert!(matches!(
            ODataQuery::parse(route, Some("$foo=1")),
            Err(ApiError::UnknownQueryOption { .. })
        ));
        assert!(ODataQuery::parse(route, Some("$top=1&$top=2")).is_err());
        assert!(matches!(
            ODataQuery::parse(route, Some("$top=abc")),
            Err(ApiError::InvalidQueryValue { .. })
        ));
        assert!(ODataQuery::parse(route, Some("$count=maybe")).is_err());
    }

    #[test]
    fn keeps_declared_custom_parameters_and_ignores_others() {
        let q = ODataQuery::parse(
            &routes::PUBLISH_CATALOG_APP,
            Some("requiresreview=true&api-version=2"),
        )
        .unwrap();
        assert_eq!(q.get("requiresReview"), Some("true"));
        assert_eq!(q.iter().count(), 1);
    }

    #[test]
    fn form_bodies_decode() {
        let form = parse_form(
            "grant_type=client_credentials&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&x=a+b",
        );
        assert_eq!(form[1].1, "https://graph.microsoft.com/.default");
        assert_eq!(form[2].1, "a b");
    }
}
