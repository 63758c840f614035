//! Conformance to the fragment: every request the client sends and every response the emulator
//! answers, checked against the schema `openapi/teamsapp.json` gives for that operation, that
//! direction and that status.
//!
//! The fragment is OpenAPI 3.0, whose schemas are not JSON Schema; [`Spec`] converts them to
//! JSON Schema 2020-12 before compiling them with `jsonschema`:
//!
//! - `nullable: true` allows `null` (`type: [t, "null"]`, `null` added to an `enum`, or an
//!   `anyOf` with `{"type": "null"}` when there is no `type`);
//! - Graph's nullable-reference idiom, `anyOf: [{$ref}, {"type": "object", "nullable": true}]`,
//!   reads as "the referenced schema, or `null`" (as Microsoft's OpenAPI tooling reads it): taken
//!   literally, its second branch would accept any object and no nested entity would ever be
//!   checked;
//! - `#/components/schemas/…` references become `#/$defs/…`, with every component schema embedded
//!   under `$defs`;
//! - OpenAPI-only keywords (`x-*`, `example`, `discriminator`, `xml`, `externalDocs`,
//!   `deprecated`) are dropped, and the boolean `exclusiveMinimum`/`exclusiveMaximum` of OpenAPI
//!   3.0 become numbers.
//!
//! Operations are found by method and path template from [`teamsapp_types::routes::ALL`] (and
//! their aliases), below a `/v1.0` or `/beta` prefix. Below `/beta` a response is checked against
//! the schemas as beta shapes them: each component schema's `x-teamsapp-beta` applied to its own
//! properties (`add`ed ones typed, `rename`d and `remove`d ones forbidden), which `allOf`
//! references then inherit. A response to a Graph path no operation
//! serves must be the fragment's error envelope when it is a 4xx or 5xx. `$batch` requests and
//! responses are checked as wholes (`batchRequest`, `batchResponse`) and item by item, each item
//! against its own operation.
//!
//! Violations read like
//! `GET /chats/{chat-id}/installedApps 200: /value/0/teamsAppDefinition/version: 3 is not of type "string"`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt as _;
use http::{Method, header};
use jsonschema::{ValidationError, Validator, error::ValidationErrorKind};
use serde_json::{Map, Value, json};
use teamsapp_types::Route;
use teamsapp_types::operation::{OperationClass, ResponseShape};
use teamsapp_types::routes;

/// The fragment, as committed.
pub const FRAGMENT: &str = include_str!("../../openapi/teamsapp.json");

/// Keywords of OpenAPI 3.0 schemas that JSON Schema does not have (besides `x-*` and `nullable`).
const OPENAPI_ONLY: &[&str] = &[
    "example",
    "discriminator",
    "xml",
    "externalDocs",
    "deprecated",
];

/// The longest excerpt of an offending value shown in a violation.
const EXCERPT: usize = 240;

/// The fragment, converted and compiled once per process.
static SPEC: LazyLock<Spec> =
    LazyLock::new(|| Spec::from_fragment(FRAGMENT).expect("openapi/teamsapp.json compiles"));

/// The compiled fragment: one entry per operation, with a validator per request body and per
/// documented response.
pub struct Spec {
    operations: Vec<SpecOperation>,
    /// The error envelope (`#/components/responses/error`), for 4xx/5xx of paths no operation
    /// serves.
    error: Arc<Validator>,
}

impl fmt::Debug for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spec")
            .field(
                "operations",
                &self
                    .operations
                    .iter()
                    .map(|o| o.route.operation_id)
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// One documented body: a media type and, for JSON, its validator.
struct Content {
    media_type: String,
    schema: Option<Arc<Validator>>,
}

/// A documented response: no content means no body.
struct SpecResponse {
    content: Vec<Content>,
    /// The same, with the component schemas as `/beta` shapes them.
    beta: Vec<Content>,
}

struct SpecRequest {
    required: bool,
    content: Vec<Content>,
}

struct SpecOperation {
    route: &'static Route,
    /// The template and the aliases, split into segments.
    templates: Vec<Vec<String>>,
    request: Option<SpecRequest>,
    /// By status key as written in the fragment: `200`, `4XX`, `default`.
    responses: BTreeMap<String, SpecResponse>,
}

/// Why the fragment could not be compiled.
#[derive(Debug)]
pub struct SpecError(String);

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpecError {}

fn spec_error(message: impl Into<String>) -> SpecError {
    SpecError(message.into())
}

impl Spec {
    /// The committed fragment, compiled once per process.
    pub fn get() -> &'static Spec {
        &SPEC
    }

    /// Converts and compiles a fragment; every route of [`routes::ALL`] must be in it, with the
    /// same method, template and aliases.
    pub fn from_fragment(text: &str) -> Result<Self, SpecError> {
        let doc: Value =
            serde_json::from_str(text).map_err(|e| spec_error(format!("not json: {e}")))?;
        let schemas = doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .ok_or_else(|| spec_error("no components.schemas"))?;
        let defs = schemas
            .iter()
            .map(|(name, schema)| (name.clone(), convert_schema(schema)))
            .collect::<Map<String, Value>>();
        let mut compiler = Compiler {
            defs: Value::Object(defs),
            cache: HashMap::new(),
        };
        let beta_defs = schemas
            .iter()
            .map(|(name, schema)| Ok((name.clone(), convert_schema(&beta_schema(name, schema)?))))
            .collect::<Result<Map<String, Value>, SpecError>>()?;
        let mut beta_compiler = Compiler {
            defs: Value::Object(beta_defs),
            cache: HashMap::new(),
        };
        let error_schema = resolve(&doc, &json!({"$ref": "#/components/responses/error"}))
            .and_then(|r| r.pointer("/content/application~1json/schema").cloned())
            .ok_or_else(|| spec_error("no #/components/responses/error JSON schema"))?;
        let error = compiler.compile(&error_schema)?;

        let mut by_id: HashMap<&str, (&str, &str, &Value)> = HashMap::new();
        let paths = doc
            .get("paths")
            .and_then(Value::as_object)
            .ok_or_else(|| spec_error("no paths"))?;
        for (path, item) in paths {
            for (method, operation) in item.as_object().into_iter().flatten() {
                if let Some(id) = operation.get("operationId").and_then(Value::as_str) {
                    by_id.insert(id, (path.as_str(), method.as_str(), operation));
                }
            }
        }

        let mut operations = Vec::new();
        for route in routes::ALL.iter().copied() {
            let (path, method, operation) =
                by_id.get(route.operation_id).copied().ok_or_else(|| {
                    spec_error(format!(
                        "routes::ALL has {}, the fragment does not",
                        route.operation_id
                    ))
                })?;
            if path != route.template || !method.eq_ignore_ascii_case(route.method.as_str()) {
                return Err(spec_error(format!(
                    "{}: the fragment says {method} {path}, routes::ALL {} {}",
                    route.operation_id, route.method, route.template
                )));
            }
            let aliases: Vec<&str> = operation
                .get("x-teamsapp-aliases")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if aliases != route.aliases {
                return Err(spec_error(format!(
                    "{}: the fragment's aliases {aliases:?} differ from routes::ALL's {:?}",
                    route.operation_id, route.aliases
                )));
            }
            let request = match operation.get("requestBody") {
                Some(body) => {
                    let body = resolve(&doc, body).ok_or_else(|| {
                        spec_error(format!("{}: unresolved requestBody", route.operation_id))
                    })?;
                    Some(SpecRequest {
                        required: body
                            .get("required")
                            .and_then(Value::as_bool)
                            .unwrap_or(false),
                        content: compiler.contents(body)?,
                    })
                }
                None => None,
            };
            let mut responses = BTreeMap::new();
            for (status, response) in operation
                .get("responses")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let response = resolve(&doc, response).ok_or_else(|| {
                    spec_error(format!(
                        "{}: unresolved response {status}",
                        route.operation_id
                    ))
                })?;
                responses.insert(
                    status.clone(),
                    SpecResponse {
                        content: compiler.contents(response)?,
                        beta: beta_compiler.contents(response)?,
                    },
                );
            }
            let templates = std::iter::once(route.template)
                .chain(route.aliases.iter().copied())
                .map(split_template)
                .collect();
            operations.push(SpecOperation {
                route,
                templates,
                request,
                responses,
            });
        }
        if by_id.len() != operations.len() {
            let known: BTreeSet<&str> = operations.iter().map(|o| o.route.operation_id).collect();
            let missing: Vec<&&str> = by_id.keys().filter(|id| !known.contains(**id)).collect();
            return Err(spec_error(format!(
                "the fragment has operations routes::ALL lacks: {missing:?}"
            )));
        }
        Ok(Self { operations, error })
    }

    /// The operation serving `method` at `path` (below the version prefix, no query), if any: the
    /// one whose template matches with the most static segments.
    fn find(&self, method: &Method, path: &str) -> Option<&SpecOperation> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        self.operations
            .iter()
            .filter(|operation| operation.route.method == method)
            .filter_map(|operation| {
                let score = operation
                    .templates
                    .iter()
                    .filter_map(|t| match_template(t, &segments))
                    .max()?;
                Some((operation, score))
            })
            .max_by_key(|(_, score)| *score)
            .map(|(operation, _)| operation)
    }

    /// Checks one exchange; `check_request` also checks what the client sent.
    pub fn check(&self, exchange: &Exchange, check_request: bool) -> Checked {
        let Some(graph_path) = graph_path(&exchange.path) else {
            return Checked::default();
        };
        let mut checked = Checked::default();
        let Some(operation) = self.find(&exchange.method, &graph_path) else {
            let label = format!("{} {}", exchange.method, graph_path);
            if exchange.status >= 400 {
                checked.operation = Some("(no operation)".to_owned());
                check_value_bytes(
                    &self.error,
                    &label,
                    &Direction::Response(exchange.status),
                    exchange.response_content_type.as_deref(),
                    &exchange.response_body,
                    &mut checked.violations,
                );
            } else {
                checked.violations.push(Violation {
                    operation: label,
                    direction: Direction::Response(exchange.status),
                    pointer: String::new(),
                    message: "no operation of the fragment serves this request, yet it succeeded"
                        .to_owned(),
                });
            }
            return checked;
        };
        checked.operation = Some(operation.route.operation_id.to_owned());
        checked.status = Some(exchange.status);
        if check_request {
            Self::check_request(
                operation,
                exchange.request_content_type.as_deref(),
                &exchange.request_body,
                &mut checked.violations,
            );
        }
        Self::check_response(
            operation,
            is_beta(&exchange.path),
            exchange.status,
            exchange.response_content_type.as_deref(),
            &exchange.response_body,
            &mut checked.violations,
        );
        if operation.route.class == OperationClass::Batch && exchange.status == 200 {
            self.check_batch(exchange, check_request, &mut checked);
        }
        checked
    }

    fn label(operation: &SpecOperation) -> String {
        format!("{} {}", operation.route.method, operation.route.template)
    }

    fn check_request(
        operation: &SpecOperation,
        content_type: Option<&str>,
        body: &[u8],
        out: &mut Vec<Violation>,
    ) {
        let label = Self::label(operation);
        let violation = |message: String| Violation {
            operation: label.clone(),
            direction: Direction::Request,
            pointer: String::new(),
            message,
        };
        let Some(request) = &operation.request else {
            if !body.is_empty() {
                out.push(violation(format!(
                    "the fragment documents no request body, the client sent {} bytes",
                    body.len()
                )));
            }
            return;
        };
        if body.is_empty() {
            if request.required {
                out.push(violation(
                    "the fragment requires a request body, the client sent none".to_owned(),
                ));
            }
            return;
        }
        let Some(content_type) = content_type else {
            out.push(violation(
                "the client sent a body without Content-Type".to_owned(),
            ));
            return;
        };
        let Some(content) = request
            .content
            .iter()
            .find(|c| media_type_matches(&c.media_type, content_type))
        else {
            out.push(violation(format!(
                "Content-Type {content_type:?} is not one the fragment documents ({})",
                request
                    .content
                    .iter()
                    .map(|c| c.media_type.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
            return;
        };
        if let Some(schema) = &content.schema {
            check_value_bytes(
                schema,
                &label,
                &Direction::Request,
                Some(content_type),
                body,
                out,
            );
        }
    }

    fn check_response(
        operation: &SpecOperation,
        beta: bool,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
        out: &mut Vec<Violation>,
    ) {
        let label = Self::label(operation);
        let Some(response) = documented_response(&operation.responses, status) else {
            out.push(Violation {
                operation: label,
                direction: Direction::Response(status),
                pointer: String::new(),
                message: format!(
                    "status {status} is not documented (documented: {})",
                    operation
                        .responses
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
            return;
        };
        let violation = |message: String| Violation {
            operation: label.clone(),
            direction: Direction::Response(status),
            pointer: String::new(),
            message,
        };
        let contents = if beta {
            &response.beta
        } else {
            &response.content
        };
        if contents.is_empty() {
            if !body.is_empty() {
                out.push(violation(format!(
                    "the fragment documents no body, the emulator sent {}",
                    excerpt_bytes(body)
                )));
            }
            return;
        }
        if body.is_empty() {
            // A body on some statuses and none on others (`MaybeJson`): the fragment's way of
            // saying that clients accept a success without one ("Clients accept both").
            if operation.route.response != ResponseShape::MaybeJson || status >= 300 {
                out.push(violation(
                    "the fragment documents a body, the emulator sent none".to_owned(),
                ));
            }
            return;
        }
        let content_type = content_type.unwrap_or("");
        let Some(content) = contents
            .iter()
            .find(|c| media_type_matches(&c.media_type, content_type))
        else {
            out.push(violation(format!(
                "Content-Type {content_type:?} is not one the fragment documents"
            )));
            return;
        };
        if let Some(schema) = &content.schema {
            check_value_bytes(
                schema,
                &label,
                &Direction::Response(status),
                Some(content_type),
                body,
                out,
            );
        }
    }

    /// Each item of a `$batch`: its request body (when `check_request`) and its response,
    /// against the item's own operation.
    fn check_batch(&self, exchange: &Exchange, check_request: bool, checked: &mut Checked) {
        let (Ok(request), Ok(response)) = (
            serde_json::from_slice::<Value>(&exchange.request_body),
            serde_json::from_slice::<Value>(&exchange.response_body),
        ) else {
            return;
        };
        let items: HashMap<String, &Value> = request
            .get("requests")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|item| Some((item.get("id")?.as_str()?.to_ascii_lowercase(), item)))
            .collect();
        for answer in response
            .get("responses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(id) = answer.get("id").and_then(Value::as_str) else {
                continue;
            };
            let Some(item) = items.get(&id.to_ascii_lowercase()) else {
                checked.violations.push(Violation {
                    operation: "POST /$batch".to_owned(),
                    direction: Direction::Response(200),
                    pointer: String::new(),
                    message: format!("a response with id {id:?}, which no request has"),
                });
                continue;
            };
            let method = item
                .get("method")
                .and_then(Value::as_str)
                .and_then(|m| Method::from_bytes(m.to_ascii_uppercase().as_bytes()).ok());
            let url = item.get("url").and_then(Value::as_str).unwrap_or("");
            let path = url.split(['?', '#']).next().unwrap_or("");
            let path = graph_path(path).unwrap_or_else(|| path.to_owned());
            let Some(method) = method else { continue };
            let Some(operation) = self.find(&method, &path) else {
                continue;
            };
            let status = answer
                .get("status")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok())
                .unwrap_or(0);
            let prefix = |mut v: Violation| {
                v.operation = format!("POST /$batch [{id}] {}", v.operation);
                v
            };
            let mut found = Vec::new();
            if let (true, Some(body)) = (check_request, item.get("body")) {
                let content_type = header_value(item.get("headers"), "content-type");
                let bytes = body_bytes(body, content_type.as_deref());
                Self::check_request(operation, content_type.as_deref(), &bytes, &mut found);
            }
            let content_type = header_value(answer.get("headers"), "content-type");
            let bytes = answer
                .get("body")
                .map(|b| body_bytes(b, content_type.as_deref()))
                .unwrap_or_default();
            // Graph's batch items carry JSON bodies without always naming their type.
            let content_type =
                content_type.or_else(|| (!bytes.is_empty()).then(|| "application/json".to_owned()));
            // An item's relative URL is below the batch's version.
            let beta = if graph_path(url).is_some() {
                is_beta(url)
            } else {
                is_beta(&exchange.path)
            };
            Self::check_response(
                operation,
                beta,
                status,
                content_type.as_deref(),
                &bytes,
                &mut found,
            );
            checked.violations.extend(found.into_iter().map(prefix));
            checked
                .batch_items
                .push((operation.route.operation_id.to_owned(), status));
        }
    }
}

/// Checks that `body` is JSON (by its content type and its bytes) valid under `schema`.
fn check_value_bytes(
    schema: &Validator,
    label: &str,
    direction: &Direction,
    content_type: Option<&str>,
    body: &[u8],
    out: &mut Vec<Violation>,
) {
    if content_type.is_some_and(|ct| !is_json(ct)) {
        out.push(Violation {
            operation: label.to_owned(),
            direction: direction.clone(),
            pointer: String::new(),
            message: format!("Content-Type {content_type:?} where JSON is documented"),
        });
        return;
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => validate(schema, &value, label, direction, out),
        Err(e) => out.push(Violation {
            operation: label.to_owned(),
            direction: direction.clone(),
            pointer: String::new(),
            message: format!("not JSON ({e}): {}", excerpt_bytes(body)),
        }),
    }
}

/// A `$batch` item's body as bytes: JSON as is, a base64 string for other types.
fn body_bytes(body: &Value, content_type: Option<&str>) -> Vec<u8> {
    match (body, content_type) {
        (Value::Null, _) => Vec::new(),
        (Value::String(s), Some(ct)) if !is_json(ct) => s.as_bytes().to_vec(),
        (value, _) => serde_json::to_vec(value).unwrap_or_default(),
    }
}

fn header_value(headers: Option<&Value>, name: &str) -> Option<String> {
    headers?
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
        .map(str::to_owned)
}

/// The response documented for `status`: exact, then its range (`4XX`), then `default`.
fn documented_response(
    responses: &BTreeMap<String, SpecResponse>,
    status: u16,
) -> Option<&SpecResponse> {
    responses
        .get(&status.to_string())
        .or_else(|| responses.get(&format!("{}XX", status / 100)))
        .or_else(|| responses.get(&format!("{}xx", status / 100)))
        .or_else(|| responses.get("default"))
}

/// The path below `/v1.0` or `/beta` (ASCII case-insensitive, percent-decoded), without query or
/// trailing slash; `None` for the admin API, the identity platform and anything else.
fn graph_path(path: &str) -> Option<String> {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let trimmed = path.trim_start_matches('/');
    let (first, rest) = trimmed.split_once('/').unwrap_or((trimmed, ""));
    let first = percent_encoding::percent_decode_str(first).decode_utf8_lossy();
    if !(first.eq_ignore_ascii_case("v1.0") || first.eq_ignore_ascii_case("beta")) {
        return None;
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    Some(format!("/{rest}"))
}

/// Whether `path` is below `/beta` (ASCII case-insensitive, percent-decoded).
fn is_beta(path: &str) -> bool {
    let trimmed = path.trim_start_matches('/');
    let first = trimmed.split(['/', '?', '#']).next().unwrap_or("");
    percent_encoding::percent_decode_str(first)
        .decode_utf8_lossy()
        .eq_ignore_ascii_case("beta")
}

/// A component schema (OpenAPI) as `/beta` shapes it: its `x-teamsapp-beta` applied to its own
/// properties (the schema's, or those of its `allOf` part that has them). `add`ed properties get
/// their schemas; `remove`d and `rename`d-from ones become `false` (beta has no such property).
fn beta_schema(name: &str, schema: &Value) -> Result<Value, SpecError> {
    let Some(ext) = schema.get("x-teamsapp-beta") else {
        return Ok(schema.clone());
    };
    let bad = |what: &str| spec_error(format!("{name}: x-teamsapp-beta: {what}"));
    let mut schema = schema.clone();
    let object = if schema.get("allOf").is_some() {
        schema
            .get_mut("allOf")
            .and_then(Value::as_array_mut)
            .and_then(|parts| parts.iter_mut().find(|p| p.get("properties").is_some()))
    } else {
        Some(&mut schema)
    };
    let properties = object
        .and_then(|o| o.get_mut("properties"))
        .and_then(Value::as_object_mut)
        .ok_or_else(|| bad("the schema has no properties of its own"))?;
    for removed in ext
        .get("remove")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let removed = removed.as_str().ok_or_else(|| bad("remove lists names"))?;
        properties.insert(removed.to_owned(), Value::Bool(false));
    }
    for (from, to) in ext
        .get("rename")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let to = to
            .as_str()
            .ok_or_else(|| bad("rename maps names to names"))?;
        let property = properties
            .insert(from.clone(), Value::Bool(false))
            .ok_or_else(|| bad(&format!("{from} is not a property")))?;
        properties.insert(to.to_owned(), property);
    }
    for (added, property) in ext
        .get("add")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        properties.insert(added.clone(), property.clone());
    }
    Ok(schema)
}

fn split_template(template: &str) -> Vec<String> {
    template
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// How many static segments of `template` match `segments`, if the whole template matches.
fn match_template(template: &[String], segments: &[&str]) -> Option<usize> {
    if template.len() != segments.len() {
        return None;
    }
    let mut score = 0;
    for (want, have) in template.iter().zip(segments) {
        if want.starts_with('{') {
            if have.is_empty() {
                return None;
            }
        } else {
            let decoded = percent_encoding::percent_decode_str(have).decode_utf8_lossy();
            if !decoded.eq_ignore_ascii_case(want) {
                return None;
            }
            score += 1;
        }
    }
    Some(score)
}

fn media_type_matches(documented: &str, sent: &str) -> bool {
    let essence = sent.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case(documented)
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json") || essence.ends_with("+json")
}

/// Follows a `#/components/…` `$ref` (once: the fragment does not chain response refs).
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> Option<&'a Value> {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => doc.pointer(reference.strip_prefix('#')?),
        None => Some(value),
    }
}

/// Compiles schemas against the converted components, once per distinct schema.
struct Compiler {
    defs: Value,
    cache: HashMap<String, Arc<Validator>>,
}

impl Compiler {
    fn compile(&mut self, schema: &Value) -> Result<Arc<Validator>, SpecError> {
        let key = schema.to_string();
        if let Some(validator) = self.cache.get(&key) {
            return Ok(validator.clone());
        }
        let mut root = match convert_schema(schema) {
            Value::Object(map) => map,
            other => {
                let mut map = Map::new();
                map.insert("allOf".to_owned(), json!([other]));
                map
            }
        };
        root.insert(
            "$schema".to_owned(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        root.insert("$defs".to_owned(), self.defs.clone());
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&Value::Object(root))
            .map_err(|e| spec_error(format!("schema {key} does not compile: {e}")))?;
        let validator = Arc::new(validator);
        self.cache.insert(key, validator.clone());
        Ok(validator)
    }

    /// The media types of a request body or response, each with its validator when it is JSON.
    fn contents(&mut self, holder: &Value) -> Result<Vec<Content>, SpecError> {
        let mut out = Vec::new();
        for (media_type, content) in holder
            .get("content")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let schema = match content.get("schema") {
                // `#/components/schemas/…` references resolve inside the compiled schema.
                Some(schema) if is_json(media_type) => Some(self.compile(schema)?),
                _ => None,
            };
            out.push(Content {
                media_type: media_type.clone(),
                schema,
            });
        }
        Ok(out)
    }
}

/// Converts one OpenAPI 3.0 schema object to JSON Schema 2020-12 (see the module docs).
pub fn convert_schema(schema: &Value) -> Value {
    let Value::Object(object) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (key, value) in object {
        if key.starts_with("x-") || key == "nullable" || OPENAPI_ONLY.contains(&key.as_str()) {
            continue;
        }
        let converted = match key.as_str() {
            "$ref" => match value.as_str() {
                Some(r) => json!(r.replace("#/components/schemas/", "#/$defs/")),
                None => value.clone(),
            },
            "properties" | "patternProperties" | "$defs" | "definitions" => Value::Object(
                value
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(name, s)| (name.clone(), convert_schema(s)))
                    .collect(),
            ),
            "items" | "additionalProperties" | "not" | "propertyNames" | "contains" => {
                convert_schema(value)
            }
            "allOf" | "anyOf" | "oneOf" => {
                let branches = value.as_array().cloned().unwrap_or_default();
                let has_ref = branches.iter().any(|b| b.get("$ref").is_some());
                Value::Array(
                    branches
                        .iter()
                        .map(|b| {
                            if key != "allOf" && has_ref && is_nullable_placeholder(b) {
                                json!({"type": "null"})
                            } else {
                                convert_schema(b)
                            }
                        })
                        .collect(),
                )
            }
            _ => value.clone(),
        };
        out.insert(key.clone(), converted);
    }
    for bound in ["Minimum", "Maximum"] {
        let exclusive = format!("exclusive{bound}");
        if out.get(&exclusive).and_then(Value::as_bool) == Some(true) {
            let limit = out.remove(&bound.to_ascii_lowercase());
            match limit {
                Some(limit) => out.insert(exclusive, limit),
                None => out.remove(&exclusive),
            };
        } else if out.get(&exclusive).and_then(Value::as_bool) == Some(false) {
            out.remove(&exclusive);
        }
    }
    if object.get("nullable").and_then(Value::as_bool) == Some(true) {
        allow_null(&mut out);
    }
    Value::Object(out)
}

/// `{"type": "object", "nullable": true}` and nothing else but a description: Graph's "or null".
fn is_nullable_placeholder(branch: &Value) -> bool {
    let Some(object) = branch.as_object() else {
        return false;
    };
    object.get("nullable").and_then(Value::as_bool) == Some(true)
        && object.get("type").and_then(Value::as_str) == Some("object")
        && object
            .keys()
            .all(|k| matches!(k.as_str(), "type" | "nullable" | "description" | "title"))
}

fn allow_null(schema: &mut Map<String, Value>) {
    if let Some(values) = schema.get_mut("enum").and_then(Value::as_array_mut)
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
    match schema.get("type").cloned() {
        Some(Value::String(t)) => {
            schema.insert("type".to_owned(), json!([t, "null"]));
        }
        Some(Value::Array(mut types)) => {
            if !types.contains(&json!("null")) {
                types.push(json!("null"));
            }
            schema.insert("type".to_owned(), Value::Array(types));
        }
        _ => {
            let rest = std::mem::take(schema);
            schema.insert("anyOf".to_owned(), json!([rest, {"type": "null"}]));
        }
    }
}

fn validate(
    validator: &Validator,
    value: &Value,
    label: &str,
    direction: &Direction,
    out: &mut Vec<Violation>,
) {
    for error in validator.iter_errors(value) {
        for (pointer, message) in leaves(&error) {
            out.push(Violation {
                operation: label.to_owned(),
                direction: direction.clone(),
                pointer,
                message,
            });
        }
    }
}

/// The most specific errors under `error`: an `anyOf`/`oneOf` failure is explained by the
/// errors of its branches, leaving out the `null` branch of a nullable property.
fn leaves(error: &ValidationError<'_>) -> Vec<(String, String)> {
    let context = match error.kind() {
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            Some(context)
        }
        _ => None,
    };
    if let Some(context) = context {
        let branches: Vec<&Vec<ValidationError<'static>>> = context
            .iter()
            .filter(|branch| !is_null_branch_failure(branch, error))
            .collect();
        if branches.len() == 1 && !branches[0].is_empty() {
            return branches[0].iter().flat_map(|e| leaves(e)).collect();
        }
    }
    vec![(
        error.instance_path().to_string(),
        truncate(&error.to_string(), EXCERPT),
    )]
}

/// Whether a branch failed only because the value is not `null` (the `{"type": "null"}` branch).
fn is_null_branch_failure(
    branch: &[ValidationError<'static>],
    parent: &ValidationError<'_>,
) -> bool {
    branch.len() == 1
        && branch[0].instance_path() == parent.instance_path()
        && matches!(
            branch[0].kind(),
            ValidationErrorKind::Type { kind } if format!("{kind:?}").contains("Null")
        )
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

fn excerpt_bytes(body: &[u8]) -> String {
    truncate(&String::from_utf8_lossy(body), EXCERPT)
}

/// Which way a checked body travelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Direction {
    /// What the client sent.
    Request,
    /// What the emulator answered, with the status.
    Response(u16),
}

/// One way a body strayed from the fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The operation as `METHOD /template` (or the raw path when no operation serves it).
    pub operation: String,
    /// The request, or the response and its status.
    pub direction: Direction,
    /// Where in the body (a JSON pointer, empty for the whole body).
    pub pointer: String,
    /// What is wrong, with the offending value.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.direction {
            Direction::Request => write!(f, "{} request: ", self.operation)?,
            Direction::Response(status) => write!(f, "{} {status}: ", self.operation)?,
        }
        if self.pointer.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.pointer, self.message)
        }
    }
}

/// What [`Spec::check`] found for one exchange.
#[derive(Debug, Default)]
pub struct Checked {
    /// The operation it matched (`None` outside Graph).
    pub operation: Option<String>,
    /// The response status, when an operation matched.
    pub status: Option<u16>,
    /// `$batch` items checked: operation and status.
    pub batch_items: Vec<(String, u16)>,
    /// What strayed from the fragment.
    pub violations: Vec<Violation>,
}

/// A request and its response, bodies read.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The method.
    pub method: Method,
    /// The path and query as sent (`/v1.0/chats/…?$top=1`).
    pub path: String,
    /// The request's `Content-Type`.
    pub request_content_type: Option<String>,
    /// The request body.
    pub request_body: Bytes,
    /// The response status.
    pub status: u16,
    /// The response's `Content-Type`.
    pub response_content_type: Option<String>,
    /// The response body.
    pub response_body: Bytes,
}

/// Collects the violations of every exchange it sees, and which operations and statuses were
/// seen; cheap to clone (shared).
#[derive(Clone)]
pub struct Checker {
    inner: Arc<CheckerInner>,
}

struct CheckerInner {
    spec: &'static Spec,
    check_requests: bool,
    record: Mutex<Record>,
}

#[derive(Default)]
struct Record {
    violations: Vec<Violation>,
    exchanges: usize,
    /// Operation id → statuses seen (`$batch` items included).
    seen: BTreeMap<String, BTreeSet<u16>>,
}

impl fmt::Debug for Checker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let record = self.lock();
        f.debug_struct("Checker")
            .field("check_requests", &self.inner.check_requests)
            .field("exchanges", &record.exchanges)
            .field("violations", &record.violations.len())
            .finish()
    }
}

impl Default for Checker {
    fn default() -> Self {
        Self::new()
    }
}

impl Checker {
    /// Checks requests (what the client sends) and responses.
    pub fn new() -> Self {
        Self::with(Spec::get(), true)
    }

    /// Checks only responses: for traffic that is wrong on purpose (the bad-input matrix), whose
    /// answers must still be the fragment's error envelope.
    pub fn responses_only() -> Self {
        Self::with(Spec::get(), false)
    }

    /// A checker over any compiled spec.
    pub fn with(spec: &'static Spec, check_requests: bool) -> Self {
        Self {
            inner: Arc::new(CheckerInner {
                spec,
                check_requests,
                record: Mutex::new(Record::default()),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Record> {
        self.inner
            .record
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Checks one exchange and keeps what it found.
    pub fn record(&self, exchange: &Exchange) -> Vec<Violation> {
        let checked = self.inner.spec.check(exchange, self.inner.check_requests);
        let mut record = self.lock();
        record.exchanges += 1;
        if let (Some(operation), Some(status)) = (&checked.operation, checked.status) {
            record
                .seen
                .entry(operation.clone())
                .or_default()
                .insert(status);
        }
        for (operation, status) in &checked.batch_items {
            record
                .seen
                .entry(operation.clone())
                .or_default()
                .insert(*status);
        }
        record.violations.extend(checked.violations.iter().cloned());
        checked.violations
    }

    /// Checks only the answer of an exchange whose request body the emulator did not read whole.
    pub fn record_response_only(&self, exchange: &Exchange) -> Vec<Violation> {
        let checked = self.inner.spec.check(exchange, false);
        let mut record = self.lock();
        record.exchanges += 1;
        record.violations.extend(checked.violations.iter().cloned());
        checked.violations
    }

    /// Every violation so far.
    pub fn violations(&self) -> Vec<Violation> {
        self.lock().violations.clone()
    }

    /// How many exchanges were checked.
    pub fn exchanges(&self) -> usize {
        self.lock().exchanges
    }

    /// Operation id → the statuses seen for it.
    pub fn seen(&self) -> BTreeMap<String, BTreeSet<u16>> {
        self.lock().seen.clone()
    }

    /// Forgets the violations so far (for tests that provoke one on purpose).
    pub fn take_violations(&self) -> Vec<Violation> {
        std::mem::take(&mut self.lock().violations)
    }

    /// Panics listing every violation, if there is any.
    #[track_caller]
    pub fn assert_clean(&self) {
        let violations = self.violations();
        assert!(
            violations.is_empty(),
            "{} conformance violation(s) of openapi/teamsapp.json:\n{}",
            violations.len(),
            violations
                .iter()
                .map(|v| format!("  {v}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    /// Wraps `service` (the emulator's router, or a proxy) so every exchange through it is
    /// checked: bodies are read whole, checked after the response is produced, and passed on
    /// unchanged.
    pub fn wrap(&self, service: axum::Router) -> axum::Router {
        axum::Router::new()
            .fallback_service(service)
            .layer(axum::middleware::from_fn_with_state(
                self.clone(),
                middleware,
            ))
    }
}

async fn middleware(State(checker): State<Checker>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let method = parts.method.clone();
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), ToString::to_string);
    let request_content_type = content_type(&parts.headers);
    // The request body is recorded as the emulator reads it, not read ahead: an emulator that
    // answers before reading (a declared length over its limit) must not be made to wait.
    let tap = Arc::new(Mutex::new(Tap::default()));
    let recorder = tap.clone();
    let stream = body.into_data_stream().map(move |chunk| {
        let mut tap = recorder.lock().unwrap_or_else(PoisonError::into_inner);
        match &chunk {
            Ok(bytes) => tap.bytes.extend_from_slice(bytes),
            Err(_) => tap.failed = true,
        }
        chunk
    });
    let stream = TapEnd {
        inner: Box::pin(stream),
        tap: tap.clone(),
    };
    let response = next
        .run(Request::from_parts(parts, Body::from_stream(stream)))
        .await;
    let (parts, body) = response.into_parts();
    let response_body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let (request_body, complete) = {
        let tap = tap.lock().unwrap_or_else(PoisonError::into_inner);
        (Bytes::from(tap.bytes.clone()), tap.complete && !tap.failed)
    };
    let exchange = Exchange {
        method,
        path,
        request_content_type,
        request_body,
        status: parts.status.as_u16(),
        response_content_type: content_type(&parts.headers),
        response_body: response_body.clone(),
    };
    if complete || exchange.request_body.is_empty() && parts.status.is_client_error() {
        checker.record(&exchange);
    } else {
        // The emulator answered without reading the whole body: only its answer can be checked.
        checker.record_response_only(&exchange);
    }
    Response::from_parts(parts, Body::from(response_body))
}

/// A request body as the emulator read it.
#[derive(Default)]
struct Tap {
    bytes: Vec<u8>,
    complete: bool,
    failed: bool,
}

/// Marks the tap complete when the body stream ends.
struct TapEnd<S> {
    inner: std::pin::Pin<Box<S>>,
    tap: Arc<Mutex<Tap>>,
}

impl<S, T> futures_util::Stream for TapEnd<S>
where
    S: futures_util::Stream<Item = T>,
{
    type Item = T;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<T>> {
        let polled = self.inner.as_mut().poll_next(cx);
        if let std::task::Poll::Ready(None) = polled {
            self.tap
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .complete = true;
        }
        polled
    }
}

fn content_type(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
