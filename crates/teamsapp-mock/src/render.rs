//! Rendering a model answer as Graph's wire answer: the entity or page with `@odata.context`
//! (and `{navigation}@odata.context` for an expanded collection with a nested `$select`),
//! `@odata.count`, `@odata.nextLink` from the request's origin, a `$count`'s number, or no content.

use std::fmt::Write as _;

use http::{HeaderValue, header};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use serde_json::{Value, json};
use teamsapp_model::{ExpandItem, Page, QueryOption};
use teamsapp_types::operation::encode_path_segment;

use crate::backend::{GraphCall, GraphReply};
use crate::error::ApiError;

/// The content type of a `$count` answer (`render_reply` writes the number's JSON, its digits).
const TEXT_PLAIN: &str = "text/plain";

/// Query-string characters left as they are in `@odata.nextLink`.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b',')
    .remove(b'/')
    .remove(b':');

/// One call being rendered.
pub(crate) struct Ctx<'a> {
    call: &'a GraphCall,
}

impl<'a> Ctx<'a> {
    /// Renders the answers of `call`.
    pub(crate) fn new(call: &'a GraphCall) -> Self {
        Self { call }
    }

    /// The operation's success status, no body.
    pub(crate) fn no_content(&self) -> GraphReply {
        GraphReply::empty(self.call.route.success)
    }

    /// An OData `$count` segment's answer: the number as `text/plain` (Graph's
    /// `ODataCountResponse`), no `@odata.context`.
    pub(crate) fn count(&self, count: u64) -> GraphReply {
        GraphReply {
            status: self.call.route.success,
            headers: vec![(header::CONTENT_TYPE, HeaderValue::from_static(TEXT_PLAIN))],
            body: Some(json!(count)),
        }
    }

    /// `{origin}/{version}/$metadata#…` for this call's resource.
    fn context(&self, suffix: &str) -> String {
        format!(
            "{}/{}/$metadata#{suffix}",
            self.call.origin,
            self.call.version.segment()
        )
    }

    /// The context path of the call's resource: `chats('19%3A…')/installedApps`, with `$select`
    /// or `$expand` in parentheses as Graph writes them ([`context_clause`]).
    fn resource_context(&self) -> (String, bool) {
        let (mut out, ends_with_key) = self.resource_path();
        let q = &self.call.query;
        if q.select().is_some() || q.expand().is_some() {
            let _ = write!(out, "({})", context_clause(q.select(), q.expand()));
        }
        (out, ends_with_key)
    }

    /// The context path of the call's resource without its options, and whether the template
    /// ends with a key (a single entity, whose key the path leaves out).
    fn resource_path(&self) -> (String, bool) {
        let template: Vec<&str> = self
            .call
            .route
            .template
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        let ends_with_key = template.last().is_some_and(|s| s.starts_with('{'));
        let mut out = String::new();
        for (i, segment) in template.iter().enumerate() {
            if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                if i + 1 == template.len() {
                    break;
                }
                let value = self.call.param(name).unwrap_or("");
                let _ = write!(out, "('{}')", encode_path_segment(value));
            } else {
                if !out.is_empty() {
                    out.push('/');
                }
                out.push_str(segment);
            }
        }
        (out, ends_with_key)
    }

    /// Adds `{navigation}@odata.context` to an entity for each collection it expands with a
    /// nested `$select`, as the catalog's Example 7 shows (`appDefinitions@odata.context`:
    /// `…#appCatalogs/teamsApps('…')/appDefinitions(id,authorization)`).
    fn annotate_nested(&self, base: &str, entity: &mut Value) {
        let Some(expand) = self.call.query.expand() else {
            return;
        };
        let Some(object) = entity.as_object_mut() else {
            return;
        };
        let Some(id) = object.get("id").and_then(Value::as_str).map(str::to_owned) else {
            return;
        };
        for item in accepted_expand_items(expand) {
            let name = item.name;
            let (select, inner_expand) = item.options().unwrap_or_default();
            if select.is_none() || !is_collection(name) || !object.contains_key(name) {
                continue;
            }
            let context = self.context(&format!(
                "{base}('{}')/{name}({})",
                encode_path_segment(&id),
                context_clause(select, inner_expand)
            ));
            object.insert(format!("{name}@odata.context"), json!(context));
        }
    }

    /// One entity with the `@odata.context` of the call's resource and its options.
    pub(crate) fn entity<T: Serialize>(&self, value: &T) -> Result<GraphReply, ApiError> {
        let (path, _) = self.resource_context();
        let mut reply = self.entity_with_context(value, &format!("{path}/$entity"))?;
        if let Some(body) = reply.body.as_mut() {
            self.annotate_nested(&self.resource_path().0, body);
        }
        Ok(reply)
    }

    /// One entity with the `@odata.context` `{origin}/{version}/$metadata#{context}`.
    pub(crate) fn entity_with_context<T: Serialize>(
        &self,
        value: &T,
        context: &str,
    ) -> Result<GraphReply, ApiError> {
        let mut body = serde_json::to_value(value).map_err(ApiError::internal)?;
        if let Some(object) = body.as_object_mut() {
            object.insert("@odata.context".to_owned(), json!(self.context(context)));
        }
        Ok(GraphReply {
            status: self.call.route.success,
            headers: Vec::new(),
            body: Some(body),
        })
    }

    /// One page of a list: `@odata.context`, `@odata.count` when asked, the next link when
    /// there are more, and the items.
    pub(crate) fn page<T: Serialize>(&self, page: &Page<T>) -> Result<GraphReply, ApiError> {
        let (path, _) = self.resource_context();
        let mut body = serde_json::Map::new();
        body.insert("@odata.context".to_owned(), json!(self.context(&path)));
        if let Some(count) = page.count {
            body.insert("@odata.count".to_owned(), json!(count));
        }
        if let Some(token) = &page.next_skiptoken {
            // The route's generated paging fact (Graph's `x-ms-pageable` `nextLinkName`); only a
            // pageable operation's model method returns a page.
            let paging = self.call.route.paging.ok_or_else(|| {
                ApiError::internal(format!(
                    "{} returned a page but does not page",
                    self.call.route.operation_id
                ))
            })?;
            body.insert(paging.next_link.to_owned(), json!(self.next_link(token)));
        }
        let mut items = serde_json::to_value(&page.items).map_err(ApiError::internal)?;
        if let Some(items) = items.as_array_mut() {
            let (base, _) = self.resource_path();
            for item in items {
                self.annotate_nested(&base, item);
            }
        }
        body.insert("value".to_owned(), items);
        Ok(GraphReply {
            status: self.call.route.success,
            headers: Vec::new(),
            body: Some(Value::Object(body)),
        })
    }

    /// The absolute URL of the next page: this request's path and options with `$skiptoken`.
    fn next_link(&self, skiptoken: &str) -> String {
        let values: Vec<&str> = self.call.params.iter().map(|(_, v)| v.as_str()).collect();
        let path = self.call.route.render(&values);
        let mut query: Vec<String> = self
            .call
            .query
            .iter()
            .filter(|(option, _)| *option != QueryOption::Skiptoken)
            .map(|(option, value)| {
                format!(
                    "{}={}",
                    option.name(),
                    utf8_percent_encode(value, QUERY_VALUE)
                )
            })
            .collect();
        query.push(format!(
            "$skiptoken={}",
            utf8_percent_encode(skiptoken, QUERY_VALUE)
        ));
        format!(
            "{}/{}{path}?{}",
            self.call.origin,
            self.call.version.segment(),
            query.join("&")
        )
    }
}

/// The `$select`/`$expand` clause of a context URL, without its parentheses: the selected
/// properties, then each expanded navigation as `name()`. A collection carries its nested
/// options' clause (`appDefinitions(id,authorization)`, `appDefinitions(bot())`: the catalog's
/// Examples 5 and 7); a single navigation does not (`teamsAppDefinition()` for
/// `$expand=teamsAppDefinition($expand=bot)`: chat-list Example 2).
fn context_clause(select: Option<&str>, expand: Option<&str>) -> String {
    let mut items: Vec<String> = select
        .into_iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    for item in expand.into_iter().flat_map(accepted_expand_items) {
        let inner = if is_collection(item.name) {
            let (select, expand) = item.options().unwrap_or_default();
            context_clause(select, expand)
        } else {
            String::new()
        };
        items.push(format!("{}({inner})", item.name));
    }
    items.join(",")
}

/// The items of a `$expand` that the model already accepted (it answered), parsed by the model's
/// own parser, so none fails here.
fn accepted_expand_items(expand: &str) -> impl Iterator<Item = ExpandItem<'_>> {
    teamsapp_model::expand_items(expand)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
}

/// Whether `name` is a collection-valued navigation property (from the generated entities).
fn is_collection(name: &str) -> bool {
    teamsapp_types::entities::ALL.iter().any(|entity| {
        entity
            .property(name)
            .is_some_and(|p| matches!(p.kind, teamsapp_types::entity::PropertyKind::Collection(_)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_clauses_follow_the_models_expand_items() {
        // A collection carries its nested options' clause, a single navigation does not.
        assert_eq!(
            context_clause(
                Some("id, displayName"),
                Some("appDefinitions($select=id,version;$expand=bot),teamsApp($select=id)")
            ),
            "id,displayName,appDefinitions(id,version,bot()),teamsApp()"
        );
        assert_eq!(context_clause(None, None), "");
    }
}
