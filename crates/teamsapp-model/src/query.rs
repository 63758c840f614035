//! Applying a [`Query`] (parsed once, in [`crate::options`]) to an operation: projections,
//! filters and pages of results ([`Page`]).
//!
//! The model answers `400` for anything it cannot honour. Projections follow Graph (reference
//! §1.6, §2): lists and gets
//! return what each entity's default projection holds (an installation: `id` only), `$expand`
//! adds navigation properties, and `$select` narrows to the properties named (`id` is always
//! kept).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use teamsapp_types::Route;

use crate::ModelError;
use crate::error::echo;
use crate::filter::{self, Filter};
use crate::options::{Query, QueryOption};
use teamsapp_types::entity::Entity;

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items of this page, at most the page size (`WorldConfig::page_size`, capped by `$top`).
    pub items: Vec<T>,
    /// The `$skiptoken` of the next page, if there is one. It is opaque and stable: it names the
    /// last item returned, so changes between two requests neither skip nor repeat items. The
    /// emulator builds `@odata.nextLink` from the request's URL with this `$skiptoken` (and the
    /// other options kept).
    pub next_skiptoken: Option<String>,
    /// The number of items matching the filter across all pages, with `$count=true`.
    pub count: Option<u64>,
}

// ---------------------------------------------------------------------------------------------
// Projections: `$select` and `$expand` over the generated entity tables.

/// What to return of an entity: the properties and the expanded navigations.
#[derive(Debug, Clone)]
pub(crate) struct Shape {
    entity: &'static Entity,
    select: Option<Vec<&'static str>>,
    expand: Vec<(&'static str, Shape)>,
}

impl Shape {
    /// The default projection of `entity`.
    pub(crate) fn default_for(entity: &'static Entity) -> Self {
        Self {
            entity,
            select: None,
            expand: Vec::new(),
        }
    }

    /// Parses `$select` and `$expand` for `entity`.
    pub(crate) fn parse(
        entity: &'static Entity,
        select: Option<&str>,
        expand: Option<&str>,
    ) -> Result<Self, ModelError> {
        parse_shape(entity, select, expand, 0)
    }

    /// Whether the structural property `name` is returned.
    pub(crate) fn has(&self, name: &str) -> bool {
        name == "id"
            || match &self.select {
                Some(list) => list.contains(&name),
                None => self.entity.is_default(name),
            }
    }

    /// Whether this is a `/beta` shape (beta's properties and spellings).
    pub(crate) fn is_beta(&self) -> bool {
        self.entity.version == teamsapp_types::ApiVersion::Beta
    }

    /// The shape of the expanded navigation `name`, if expanded.
    pub(crate) fn expanded(&self, name: &str) -> Option<&Shape> {
        self.expand.iter().find(|(n, _)| *n == name).map(|(_, s)| s)
    }
}

fn parse_shape(
    entity: &'static Entity,
    select: Option<&str>,
    expand: Option<&str>,
    depth: usize,
) -> Result<Shape, ModelError> {
    if depth > 4 {
        return Err(ModelError::bad_request(
            "The $expand nests deeper than the emulator supports.",
        ));
    }
    let select = match select {
        None => None,
        Some(raw) => {
            let mut names = Vec::new();
            for item in raw.split(',').map(str::trim) {
                if item.is_empty() {
                    return Err(ModelError::bad_request(format!(
                        "Invalid $select '{}': empty property name.",
                        echo(raw)
                    )));
                }
                if item == "*" {
                    names.extend(entity.selectable());
                    continue;
                }
                let name = entity.property(item).map(|p| p.name).ok_or_else(|| {
                    ModelError::bad_request(format!(
                        "Could not find a property named '{}' on type '{}'.",
                        echo(item),
                        entity.name
                    ))
                })?;
                names.push(name);
            }
            Some(names)
        }
    };
    let mut expanded = Vec::new();
    if let Some(raw) = expand {
        for item in expand_items(raw)? {
            let item = item?;
            let name = item.name;
            if let Some((known, why)) = entity.not_expandable(name) {
                return Err(ModelError::bad_request(format!(
                    "The navigation property '{known}' of type '{}' cannot be expanded: {why}.",
                    entity.name
                )));
            }
            let Some((name, target)) = entity.expandable(name) else {
                return Err(ModelError::bad_request(format!(
                    "Could not find a navigation property named '{}' on type '{}' to expand.",
                    echo(name),
                    entity.name
                )));
            };
            let (nested_select, nested_expand) = item.options()?;
            if expanded.iter().any(|(n, _)| *n == name) {
                return Err(ModelError::bad_request(format!(
                    "The navigation property '{name}' is expanded more than once."
                )));
            }
            let nested = parse_shape(target, nested_select, nested_expand, depth + 1)?;
            expanded.push((name, nested));
        }
    }
    Ok(Shape {
        entity,
        select,
        expand: expanded,
    })
}

/// One item of a `$expand` list as written: the navigation's name and its nested options
/// (`appDefinitions($select=id;$expand=bot)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpandItem<'a> {
    /// The navigation property, as written (trimmed).
    pub name: &'a str,
    /// What is inside the parentheses, if any.
    options: Option<&'a str>,
}

impl<'a> ExpandItem<'a> {
    /// The nested `$select` and `$expand`, the only options Graph takes inside `$expand`.
    ///
    /// # Errors
    /// Any other nested option, or unbalanced parentheses.
    pub fn options(&self) -> Result<(Option<&'a str>, Option<&'a str>), ModelError> {
        let (mut select, mut expand) = (None, None);
        let Some(options) = self.options else {
            return Ok((None, None));
        };
        for option in split_top_level(options, ';')? {
            let option = option.trim();
            let (key, value) = option.split_once('=').unwrap_or((option, ""));
            match key.trim().to_ascii_lowercase().as_str() {
                "$select" if select.is_none() => select = Some(value),
                "$expand" if expand.is_none() => expand = Some(value),
                _ => {
                    return Err(ModelError::bad_request(format!(
                        "The option '{}' inside $expand is not supported; use $select or $expand.",
                        echo(key.trim())
                    )));
                }
            }
        }
        Ok((select, expand))
    }
}

/// The items of a `$expand` value, split at its top-level commas, in order. The model parses a
/// projection with it, and the emulator writes `@odata.context` from the same items, so the
/// syntax has one parser.
///
/// # Errors
/// Unbalanced parentheses in `raw` (at once); an item without a name or whose parentheses do not
/// close it (when that item is reached, so earlier items are checked first).
pub fn expand_items(
    raw: &str,
) -> Result<impl Iterator<Item = Result<ExpandItem<'_>, ModelError>>, ModelError> {
    Ok(split_top_level(raw, ',')?.into_iter().map(move |item| {
        let item = item.trim();
        let (name, options) = match item.find('(') {
            Some(open) if item.ends_with(')') => {
                (item[..open].trim(), Some(&item[open + 1..item.len() - 1]))
            }
            Some(_) => {
                return Err(ModelError::bad_request(format!(
                    "Invalid $expand '{}': unbalanced parentheses.",
                    echo(raw)
                )));
            }
            None => (item, None),
        };
        if name.is_empty() {
            return Err(ModelError::bad_request(format!(
                "Invalid $expand '{}': empty property name.",
                echo(raw)
            )));
        }
        Ok(ExpandItem { name, options })
    }))
}

/// Splits on `separator` outside parentheses.
fn split_top_level(raw: &str, separator: char) -> Result<Vec<&str>, ModelError> {
    let mut parts = Vec::new();
    let mut depth = 0_usize;
    let mut start = 0;
    for (i, c) in raw.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth.checked_sub(1).ok_or_else(|| {
                    ModelError::bad_request(format!(
                        "Invalid $expand '{}': unbalanced parentheses.",
                        echo(raw)
                    ))
                })?;
            }
            c if c == separator && depth == 0 => {
                parts.push(&raw[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(ModelError::bad_request(format!(
            "Invalid $expand '{}': unbalanced parentheses.",
            echo(raw)
        )));
    }
    parts.push(&raw[start..]);
    Ok(parts)
}

// ---------------------------------------------------------------------------------------------
// Lists.

/// Which list a skiptoken belongs to, so a token is not accepted by another list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListKind {
    Installations,
    CatalogApps,
    Definitions,
    Users,
    Chats,
    Teams,
}

impl ListKind {
    fn tag(self) -> &'static str {
        match self {
            Self::Installations => "inst",
            Self::CatalogApps => "apps",
            Self::Definitions => "defs",
            Self::Users => "users",
            Self::Chats => "chats",
            Self::Teams => "teams",
        }
    }
}

/// A parsed list request.
#[derive(Debug)]
pub(crate) struct ListRequest {
    pub(crate) filter: Option<Filter>,
    pub(crate) shape: Shape,
    pub(crate) page_size: usize,
    pub(crate) count: bool,
    /// Items are returned only after this position.
    pub(crate) after: Option<u64>,
    kind: ListKind,
}

impl ListRequest {
    /// Parses the options of a list of `entity`: `$filter`, `$select` and `$expand` against the
    /// entity's table, `$top` against the route's [`Paging::max_top`](teamsapp_types::Paging).
    pub(crate) fn parse(
        query: &Query,
        route: &Route,
        entity: &'static Entity,
        kind: ListKind,
        max_page: usize,
    ) -> Result<Self, ModelError> {
        query.check_allowed(route)?;
        let entity = entity.in_version(query.version());
        let filter = match query.filter() {
            None => None,
            Some(raw) => {
                let parsed = filter::parse_filter(raw)
                    .and_then(|f| filter::check(&f, entity).map(|()| f))
                    .map_err(|e| ModelError::bad_request(e.message))?;
                Some(parsed)
            }
        };
        let shape = Shape::parse(entity, query.select(), query.expand())?;
        // A list the fragment does not mark pageable (installations: Graph documents no paging
        // there) comes whole; `check_allowed` has refused `$top` and `$skiptoken` for it.
        let page_size = match (route.paging, query.top()) {
            (None, _) => usize::MAX,
            (Some(_), None) => max_page,
            (Some(paging), Some(n)) if (1..=paging.max_top).contains(&n) => {
                max_page.min(n as usize)
            }
            (Some(paging), Some(_)) => {
                return Err(ModelError::bad_request(format!(
                    "Invalid value '{}' for $top: it must be an integer from 1 to {}.",
                    echo(query.get(QueryOption::Top).unwrap_or_default()),
                    paging.max_top
                )));
            }
        }
        .max(1);
        let count = query.count().unwrap_or(false);
        let after = match query.skiptoken() {
            None => None,
            Some(token) => Some(decode_token(token, kind)?),
        };
        Ok(Self {
            filter,
            shape,
            page_size,
            count,
            after,
            kind,
        })
    }

    /// Whether an item passes the filter.
    pub(crate) fn keeps(&self, record: &dyn filter::Record) -> bool {
        self.filter
            .as_ref()
            .is_none_or(|f| filter::matches(f, record))
    }

    /// Collects one page from matching `(position, item)` pairs in increasing position order.
    pub(crate) fn collect_page<X, T>(
        &self,
        matching: impl Iterator<Item = (u64, X)>,
        mut project: impl FnMut(X) -> T,
    ) -> Page<T> {
        let mut items = Vec::new();
        let mut next = None;
        let mut total: u64 = 0;
        let mut last = None;
        for (position, item) in matching {
            total += 1;
            if self.after.is_some_and(|after| position <= after) {
                continue;
            }
            if items.len() < self.page_size {
                items.push(project(item));
                last = Some(position);
            } else if next.is_none() {
                next = last.map(|p| encode_token(self.kind, p));
                if !self.count {
                    break;
                }
            }
        }
        Page {
            items,
            next_skiptoken: next,
            count: self.count.then_some(total),
        }
    }
}

fn encode_token(kind: ListKind, position: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}.{position}", kind.tag()))
}

fn decode_token(token: &str, kind: ListKind) -> Result<u64, ModelError> {
    let invalid = || {
        ModelError::bad_request(format!(
            "Invalid $skiptoken '{}': use the @odata.nextLink of a previous page as given.",
            echo(token)
        ))
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(token.trim().trim_end_matches('='))
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (tag, position) = text.split_once('.').ok_or_else(invalid)?;
    if tag != kind.tag() {
        return Err(invalid());
    }
    position.parse().map_err(|_| invalid())
}

/// Parses the options of a get (only `$select` and `$expand`, as the route allows).
pub(crate) fn get_shape(
    query: &Query,
    route: &Route,
    entity: &'static Entity,
) -> Result<Shape, ModelError> {
    query.check_allowed(route)?;
    Shape::parse(
        entity.in_version(query.version()),
        query.select(),
        query.expand(),
    )
}

/// Parses `requiresReview` (`true`/`false`, default `false`).
pub(crate) fn requires_review(query: &Query, route: &Route) -> Result<bool, ModelError> {
    query.check_allowed(route)?;
    match query.requires_review().map(str::trim) {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(ModelError::bad_request(format!(
            "Invalid value '{}' for requiresReview: it must be true or false.",
            echo(v)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use teamsapp_types::entities::{CHAT, TEAMS_APP, TEAMS_APP_INSTALLATION as INSTALLATION, USER};
    use teamsapp_types::routes;

    #[test]
    fn expand_items_split_at_top_level_with_their_options() {
        let items: Vec<ExpandItem<'_>> =
            expand_items("teamsApp, teamsAppDefinition($expand=bot;$select=id,version)")
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].name, "teamsApp");
        assert_eq!(items[0].options().unwrap(), (None, None));
        assert_eq!(items[1].name, "teamsAppDefinition");
        assert_eq!(
            items[1].options().unwrap(),
            (Some("id,version"), Some("bot"))
        );
        assert!(expand_items("a(b").is_err(), "unbalanced at once");
        let mut later = expand_items("teamsApp,(x)").unwrap();
        assert!(later.next().unwrap().is_ok());
        assert!(later.next().unwrap().is_err(), "an item without a name");
        let unsupported = expand_items("bot($top=1)")
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        assert!(unsupported.options().is_err());
    }

    #[test]
    fn shapes() {
        let s = Shape::parse(
            &INSTALLATION,
            None,
            Some("teamsApp,teamsAppDefinition($expand=bot)"),
        )
        .unwrap();
        assert!(s.has("id") && !s.has("consentedPermissionSet"));
        assert!(s.expanded("teamsApp").is_some());
        let def = s.expanded("teamsAppDefinition").unwrap();
        assert!(def.expanded("bot").is_some() && def.has("version"));

        let s = Shape::parse(&INSTALLATION, Some("consentedPermissionSet,id"), None).unwrap();
        assert!(s.has("consentedPermissionSet"));

        let s = Shape::parse(
            &TEAMS_APP,
            None,
            Some("appDefinitions($select=id,authorization)"),
        )
        .unwrap();
        let defs = s.expanded("appDefinitions").unwrap();
        assert!(defs.has("authorization") && !defs.has("version"));

        for (select, expand, expected) in [
            (Some("foo"), None, "Could not find a property named 'foo'"),
            (Some("id,"), None, "empty property name"),
            (None, Some("foo"), "navigation property named 'foo'"),
            (None, Some("teamsApp("), "unbalanced"),
            (None, Some("teamsApp)"), "unbalanced"),
            (None, Some("teamsApp($top=1)"), "'$top' inside $expand"),
            (None, Some("teamsApp,teamsApp"), "more than once"),
        ] {
            let err = Shape::parse(&INSTALLATION, select, expand).unwrap_err();
            assert!(err.message().contains(expected), "{err}");
        }
        let err = Shape::parse(&CHAT, None, Some("installedApps")).unwrap_err();
        assert!(err.message().contains("NonExpandableProperties"), "{err}");
    }

    #[test]
    fn skiptokens_round_trip_and_are_bound_to_their_list() {
        let token = encode_token(ListKind::Installations, 42);
        assert_eq!(decode_token(&token, ListKind::Installations).unwrap(), 42);
        assert!(decode_token(&token, ListKind::Users).is_err());
        assert!(decode_token("!!", ListKind::Users).is_err());
    }

    #[test]
    fn pages() {
        let q = Query::new().with_top(2).with_count(true);
        let req = ListRequest::parse(&q, &routes::LIST_USERS, &USER, ListKind::Users, 100).unwrap();
        let page = req.collect_page((0..5_u64).map(|i| (i * 10, i)), |i| i);
        assert_eq!(page.items, [0, 1]);
        assert_eq!(page.count, Some(5));
        let token = page.next_skiptoken.unwrap();
        let q = q.with_skiptoken(token);
        let req = ListRequest::parse(&q, &routes::LIST_USERS, &USER, ListKind::Users, 100).unwrap();
        let page = req.collect_page((0..5_u64).map(|i| (i * 10, i)), |i| i);
        assert_eq!(page.items, [2, 3]);
        for bad in [("$top", "0"), ("$top", "x"), ("$count", "yes")] {
            let q = Query::parse(&format!("{}={}", bad.0, bad.1));
            assert!(
                ListRequest::parse(&q, &routes::LIST_USERS, &USER, ListKind::Users, 100).is_err()
            );
        }
    }
}
