//! Reads the OpenAPI fragment into a small model of what to generate: structs, enums, operations
//! (with their permissions, clouds and paging). Entities are read by `super::entities`.

use anyhow::{Context, Result, anyhow, bail};
use openapiv3::{
    AdditionalProperties, IntegerFormat, OpenAPI, Parameter, ParameterSchemaOrContent, ReferenceOr,
    Schema, SchemaKind, StatusCode, StringFormat, Type, VariantOrUnknownOrEmpty,
};
use std::collections::BTreeSet;

/// A Rust type a schema maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ty {
    String,
    Bool,
    I32,
    I64,
    U32,
    Value,
    Bytes,
    Vec(Box<Ty>),
    StringMap(Box<Ty>),
    Named(String),
    Boxed(Box<Ty>),
}

pub(crate) struct Field {
    pub(crate) wire: String,
    pub(crate) rust: String,
    pub(crate) ty: Ty,
    pub(crate) required: bool,
    pub(crate) doc: String,
}

pub(crate) struct Struct {
    pub(crate) name: String,
    pub(crate) wire: String,
    pub(crate) doc: String,
    pub(crate) fields: Vec<Field>,
}

pub(crate) struct Enum {
    pub(crate) name: String,
    pub(crate) wire: String,
    pub(crate) doc: String,
    pub(crate) members: Vec<String>,
}

pub(crate) struct PathParam {
    pub(crate) wire: String,
    pub(crate) rust: String,
    pub(crate) id_type: String,
    /// The `IdKind` variant of the id.
    pub(crate) id_kind: String,
    pub(crate) doc: String,
}

pub(crate) struct QueryParam {
    pub(crate) wire: String,
    pub(crate) rust: String,
    pub(crate) ty: Ty,
    pub(crate) doc: String,
}

pub(crate) enum Body {
    None,
    Json {
        ty: String,
        required: bool,
        doc: String,
    },
    Zip {
        doc: String,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Empty,
    Json,
    MaybeJson,
    /// A `text/plain` count: an OData `$count` segment's answer.
    Text,
}

pub(crate) struct Op {
    pub(crate) operation_id: String,
    pub(crate) request: String,
    pub(crate) method: String,
    pub(crate) template: String,
    pub(crate) aliases: Vec<String>,
    pub(crate) summary: String,
    pub(crate) description: String,
    pub(crate) docs_url: Option<String>,
    pub(crate) path_params: Vec<PathParam>,
    pub(crate) query: Vec<QueryParam>,
    pub(crate) body: Body,
    pub(crate) success: u16,
    pub(crate) accepted: Vec<u16>,
    pub(crate) response_ty: Option<String>,
    pub(crate) shape: Shape,
    /// The OData action's name (`upgrade`), from Graph's `x-ms-docs-operation-type: action`.
    pub(crate) action: Option<String>,
    /// An action's parameters: the wire names of its JSON body's properties (empty otherwise).
    pub(crate) action_parameters: Vec<String>,
    /// Safe to repeat: every method but POST, and POSTs marked `x-teamsapp-idempotent`.
    pub(crate) idempotent: bool,
    /// `x-teamsapp-permissions`.
    pub(crate) permissions: Permissions,
    /// The `NationalCloud` variants of `x-teamsapp-national-clouds`.
    pub(crate) clouds: Vec<&'static str>,
    /// Graph's `x-ms-pageable`: the next-link property and the `$top` parameter's `maximum`.
    pub(crate) paging: Option<Paging>,
}

/// The permissions that allow an operation, least privileged first.
pub(crate) struct Permissions {
    pub(crate) delegated: Vec<String>,
    pub(crate) application: Vec<String>,
    pub(crate) required: bool,
}

/// How a list operation pages.
pub(crate) struct Paging {
    pub(crate) next_link: String,
    pub(crate) max_top: u32,
}

pub(crate) struct Model {
    pub(crate) structs: Vec<Struct>,
    pub(crate) enums: Vec<Enum>,
    pub(crate) ops: Vec<Op>,
}

/// The Rust name of a component schema: the last dotted segment, in `PascalCase`.
pub(crate) fn type_name(schema_name: &str) -> String {
    let last = schema_name.rsplit('.').next().unwrap_or(schema_name);
    let mut chars = last.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_ascii_uppercase().to_string() + chars.as_str()
    })
}

/// A `snake_case` Rust identifier for a wire name (`@odata.nextLink` → `odata_next_link`).
pub(crate) fn snake(wire: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in wire.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() {
                if prev_lower {
                    out.push('_');
                }
                out.push(c.to_ascii_lowercase());
                prev_lower = false;
            } else {
                out.push(c);
                prev_lower = true;
            }
        } else {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            prev_lower = false;
        }
    }
    let out = out.trim_end_matches('_').to_owned();
    match out.as_str() {
        "type" | "ref" | "self" | "match" | "mod" => format!("{out}_"),
        _ => out,
    }
}

/// `PascalCase` for an enum member (`unknownFutureValue` → `UnknownFutureValue`).
pub(crate) fn pascal(wire: &str) -> String {
    snake(wire)
        .split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next().map_or_else(String::new, |f| {
                f.to_ascii_uppercase().to_string() + c.as_str()
            })
        })
        .collect()
}

pub(crate) fn ref_name(reference: &str) -> Result<&str> {
    reference
        .strip_prefix("#/components/schemas/")
        .ok_or_else(|| {
            anyhow!("unsupported $ref {reference:?}: only #/components/schemas/… is generated")
        })
}

pub(crate) fn build(spec: &OpenAPI) -> Result<Model> {
    let components = spec
        .components
        .as_ref()
        .context("the fragment has no components")?;
    let mut structs = Vec::new();
    let mut enums = Vec::new();
    for (name, schema) in &components.schemas {
        let ReferenceOr::Item(schema) = schema else {
            bail!("component schema {name} is a bare $ref");
        };
        let doc = schema
            .schema_data
            .description
            .clone()
            .unwrap_or_else(|| format!("The `{name}` schema."));
        if let SchemaKind::Type(Type::String(s)) = &schema.schema_kind
            && !s.enumeration.is_empty()
        {
            {
                enums.push(Enum {
                    name: type_name(name),
                    wire: name.clone(),
                    doc,
                    members: s.enumeration.iter().flatten().cloned().collect(),
                });
                continue;
            }
        }
        let mut fields = Vec::new();
        let mut required = BTreeSet::new();
        collect_properties(spec, schema, &mut fields, &mut required)
            .with_context(|| format!("schema {name}"))?;
        let own = type_name(name);
        let fields = fields
            .into_iter()
            .map(|(wire, ty, doc)| {
                let ty = if ty == Ty::Named(own.clone()) {
                    Ty::Boxed(Box::new(ty))
                } else {
                    ty
                };
                Field {
                    rust: snake(&wire),
                    required: required.contains(&wire),
                    wire,
                    ty,
                    doc,
                }
            })
            .collect();
        structs.push(Struct {
            name: own,
            wire: name.clone(),
            doc,
            fields,
        });
    }

    let mut ops = Vec::new();
    for (template, item) in &spec.paths.paths {
        let ReferenceOr::Item(item) = item else {
            bail!("path {template} is a $ref")
        };
        for (method, op) in item.iter() {
            ops.push(
                build_op(spec, template, method, op)
                    .with_context(|| format!("{} {template}", method.to_uppercase()))?,
            );
        }
    }
    // An action's parameters are its body schema's properties (OData refuses any other).
    for op in &mut ops {
        if let (Some(_), Body::Json { ty, .. }) = (&op.action, &op.body) {
            let body = structs
                .iter()
                .find(|s| &s.name == ty)
                .with_context(|| format!("action {} has no body struct {ty}", op.template))?;
            op.action_parameters = body.fields.iter().map(|f| f.wire.clone()).collect();
        }
    }
    Ok(Model {
        structs,
        enums,
        ops,
    })
}

pub(crate) fn string_list(value: Option<&serde_json::Value>, what: &str) -> Result<Vec<String>> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    value
        .as_array()
        .with_context(|| format!("{what} must be an array of strings"))?
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .with_context(|| format!("{what} must be an array of strings"))
        })
        .collect()
}

fn permissions(op: &openapiv3::Operation) -> Result<Permissions> {
    let value = op
        .extensions
        .get("x-teamsapp-permissions")
        .context("operation without x-teamsapp-permissions")?;
    let required = match value.get("requiresPermission") {
        None => true,
        Some(v) => v
            .as_bool()
            .context("requiresPermission must be a boolean")?,
    };
    let delegated = string_list(value.get("delegated"), "delegated")?;
    let application = string_list(value.get("application"), "application")?;
    if required && delegated.is_empty() && application.is_empty() {
        bail!("x-teamsapp-permissions lists no permission; set requiresPermission: false");
    }
    Ok(Permissions {
        delegated,
        application,
        required,
    })
}

fn clouds(op: &openapiv3::Operation) -> Result<Vec<&'static str>> {
    string_list(
        Some(
            op.extensions
                .get("x-teamsapp-national-clouds")
                .context("operation without x-teamsapp-national-clouds")?,
        ),
        "x-teamsapp-national-clouds",
    )?
    .iter()
    .map(|name| {
        Ok(match name.as_str() {
            "global" => "Global",
            "usgov" => "UsGovL4",
            "usgovdod" => "UsGovL5Dod",
            "china" => "China",
            other => bail!("unknown national cloud {other:?}"),
        })
    })
    .collect()
}

type RawField = (String, Ty, String);

fn collect_properties(
    spec: &OpenAPI,
    schema: &Schema,
    fields: &mut Vec<RawField>,
    required: &mut BTreeSet<String>,
) -> Result<()> {
    match &schema.schema_kind {
        SchemaKind::AllOf { all_of } => {
            for part in all_of {
                let part = resolve(spec, part)?;
                collect_properties(spec, part, fields, required)?;
            }
        }
        SchemaKind::Type(Type::Object(obj)) => {
            required.extend(obj.required.iter().cloned());
            for (wire, prop) in &obj.properties {
                let (ty, doc) = match prop {
                    ReferenceOr::Reference { reference } => {
                        (Ty::Named(type_name(ref_name(reference)?)), String::new())
                    }
                    ReferenceOr::Item(prop) => (
                        ty_of(prop)?,
                        prop.schema_data.description.clone().unwrap_or_default(),
                    ),
                };
                let doc = if doc.is_empty() {
                    format!("The `{wire}` property.")
                } else {
                    doc
                };
                if let Some(existing) = fields.iter_mut().find(|f| f.0 == *wire) {
                    *existing = (wire.clone(), ty, doc);
                } else {
                    fields.push((wire.clone(), ty, doc));
                }
            }
        }
        other => bail!("unsupported schema kind for a struct: {other:?}"),
    }
    Ok(())
}

pub(crate) fn resolve<'a>(
    spec: &'a OpenAPI,
    schema: &'a ReferenceOr<Schema>,
) -> Result<&'a Schema> {
    match schema {
        ReferenceOr::Item(s) => Ok(s),
        ReferenceOr::Reference { reference } => {
            let name = ref_name(reference)?;
            match spec.components.as_ref().and_then(|c| c.schemas.get(name)) {
                Some(ReferenceOr::Item(s)) => Ok(s),
                _ => bail!("unresolved $ref {reference}"),
            }
        }
    }
}

fn ty_of_ref<T>(r: &ReferenceOr<T>, inner: impl Fn(&T) -> Result<Ty>) -> Result<Ty> {
    match r {
        ReferenceOr::Reference { reference } => Ok(Ty::Named(type_name(ref_name(reference)?))),
        ReferenceOr::Item(s) => inner(s),
    }
}

pub(crate) fn ty_of(schema: &Schema) -> Result<Ty> {
    Ok(match &schema.schema_kind {
        SchemaKind::Type(Type::String(s)) => match &s.format {
            VariantOrUnknownOrEmpty::Item(StringFormat::Binary) => Ty::Bytes,
            _ => Ty::String,
        },
        SchemaKind::Type(Type::Boolean(_)) => Ty::Bool,
        SchemaKind::Type(Type::Integer(i)) => match &i.format {
            VariantOrUnknownOrEmpty::Item(IntegerFormat::Int64) => Ty::I64,
            VariantOrUnknownOrEmpty::Item(IntegerFormat::Int32) => Ty::I32,
            _ if i.minimum == Some(0) => Ty::U32,
            _ => Ty::I64,
        },
        SchemaKind::Type(Type::Array(a)) => {
            let items = a.items.as_ref().context("array without items")?;
            Ty::Vec(Box::new(ty_of_ref(items, |s| ty_of(s))?))
        }
        SchemaKind::Type(Type::Object(o)) if o.properties.is_empty() => match &o
            .additional_properties
        {
            Some(AdditionalProperties::Schema(s)) => Ty::StringMap(Box::new(ty_of_ref(s, ty_of)?)),
            _ => Ty::Value,
        },
        // Graph's nullable reference: anyOf [$ref, {type: object, nullable: true}].
        SchemaKind::AnyOf { any_of } => {
            let refs: Vec<_> = any_of
                .iter()
                .filter_map(|s| match s {
                    ReferenceOr::Reference { reference } => Some(reference),
                    ReferenceOr::Item(_) => None,
                })
                .collect();
            match refs.as_slice() {
                [one] if any_of.len() == 2 => Ty::Named(type_name(ref_name(one)?)),
                _ => bail!("only Graph's nullable-reference anyOf is supported"),
            }
        }
        SchemaKind::Any(_) => Ty::Value,
        other => bail!("unsupported property schema {other:?}"),
    })
}

/// The hand-written id newtype, its `IdKind` and the field name for a path parameter, from
/// Graph's `x-ms-docs-key-type`.
fn id_type(key_type: &str) -> Result<(&'static str, &'static str, &'static str)> {
    Ok(match key_type {
        "chat" => ("ChatId", "Chat", "chat_id"),
        "team" => ("TeamId", "Team", "team_id"),
        "user" => ("UserId", "User", "user_id"),
        "teamsAppInstallation" | "userScopeTeamsAppInstallation" => {
            ("AppInstallationId", "AppInstallation", "installation_id")
        }
        "teamsApp" => ("TeamsAppId", "TeamsApp", "teams_app_id"),
        "teamsAppDefinition" => (
            "TeamsAppDefinitionId",
            "TeamsAppDefinition",
            "definition_id",
        ),
        other => bail!("no id type for x-ms-docs-key-type {other:?}"),
    })
}

fn build_op(spec: &OpenAPI, template: &str, method: &str, op: &openapiv3::Operation) -> Result<Op> {
    let operation_id = op
        .operation_id
        .clone()
        .context("operation without operationId")?;
    let request = op
        .extensions
        .get("x-teamsapp-request")
        .and_then(|v| v.as_str())
        .context("operation without x-teamsapp-request")?
        .to_owned();
    let aliases = op
        .extensions
        .get("x-teamsapp-aliases")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();

    let mut path_params = Vec::new();
    let mut query = Vec::new();
    let mut top_max = None;
    for p in &op.parameters {
        let p = match p {
            ReferenceOr::Item(p) => p,
            ReferenceOr::Reference { reference } => {
                let name = reference
                    .strip_prefix("#/components/parameters/")
                    .with_context(|| format!("unsupported parameter $ref {reference}"))?;
                match spec
                    .components
                    .as_ref()
                    .and_then(|c| c.parameters.get(name))
                {
                    Some(ReferenceOr::Item(p)) => p,
                    _ => bail!("unresolved parameter $ref {reference}"),
                }
            }
        };
        match p {
            Parameter::Path {
                parameter_data: d, ..
            } => {
                let key = d
                    .extensions
                    .get("x-ms-docs-key-type")
                    .and_then(|v| v.as_str())
                    .with_context(|| {
                        format!("path parameter {} without x-ms-docs-key-type", d.name)
                    })?;
                let (id_type, id_kind, rust) = id_type(key)?;
                path_params.push(PathParam {
                    wire: d.name.clone(),
                    rust: rust.to_owned(),
                    id_type: id_type.to_owned(),
                    id_kind: id_kind.to_owned(),
                    doc: d.description.clone().unwrap_or_default(),
                });
            }
            Parameter::Query {
                parameter_data: d, ..
            } => {
                let ParameterSchemaOrContent::Schema(schema) = &d.format else {
                    bail!("query parameter {} without a schema", d.name);
                };
                let ty = ty_of_ref(schema, ty_of)?;
                if d.name == "$top"
                    && let ReferenceOr::Item(Schema {
                        schema_kind: SchemaKind::Type(Type::Integer(i)),
                        ..
                    }) = schema
                {
                    top_max = i.maximum.map(u32::try_from).transpose()?;
                }
                query.push(QueryParam {
                    rust: snake(d.name.trim_start_matches('$')),
                    wire: d.name.clone(),
                    ty,
                    doc: d.description.clone().unwrap_or_default(),
                });
            }
            _ => bail!("only path and query parameters are generated"),
        }
    }
    // Path parameters in template order, and exactly the template's.
    let placeholders: Vec<&str> = template
        .split('{')
        .skip(1)
        .filter_map(|s| s.split('}').next())
        .collect();
    let declared: Vec<&str> = path_params.iter().map(|p| p.wire.as_str()).collect();
    if placeholders != declared {
        bail!("path parameters {declared:?} do not match the template's {placeholders:?}");
    }

    let body = match &op.request_body {
        None => Body::None,
        Some(ReferenceOr::Reference { .. }) => bail!("requestBody $ref is not supported"),
        Some(ReferenceOr::Item(b)) => {
            let doc = b.description.clone().unwrap_or_default();
            if let Some(media) = b.content.get("application/json") {
                let schema = media.schema.as_ref().context("JSON body without schema")?;
                let ReferenceOr::Reference { reference } = schema else {
                    bail!("JSON bodies must be a $ref")
                };
                Body::Json {
                    ty: type_name(ref_name(reference)?),
                    required: b.required,
                    doc,
                }
            } else if b.content.contains_key("application/zip") {
                Body::Zip { doc }
            } else {
                bail!("unsupported request content type");
            }
        }
    };

    let mut success = Vec::new();
    let mut plain = false;
    for (status, resp) in &op.responses.responses {
        let StatusCode::Code(code) = status else {
            continue;
        };
        if !(200..300).contains(code) {
            continue;
        }
        let ReferenceOr::Item(resp) = resp else {
            bail!("success response $ref is not supported")
        };
        if let Some(media) = resp.content.get("text/plain") {
            // Graph's `ODataCountResponse`: an integer, sent as `text/plain`.
            let integer = matches!(
                media.schema.as_ref(),
                Some(ReferenceOr::Item(schema)) if matches!(
                    &schema.schema_kind,
                    openapiv3::SchemaKind::Type(openapiv3::Type::Integer(_))
                )
            );
            if !integer || resp.content.len() > 1 {
                bail!("a text/plain success body must be an integer schema, alone");
            }
            plain = true;
        }
        let ty = match resp
            .content
            .get("application/json")
            .and_then(|m| m.schema.as_ref())
        {
            None => None,
            Some(ReferenceOr::Reference { reference }) => Some(type_name(ref_name(reference)?)),
            Some(ReferenceOr::Item(_)) => bail!("success bodies must be a $ref"),
        };
        success.push((*code, ty));
    }
    let (primary, _) = success
        .first()
        .context("operation without a 2xx response")?;
    let typed: BTreeSet<&String> = success.iter().filter_map(|(_, t)| t.as_ref()).collect();
    if typed.len() > 1 {
        bail!("success responses carry different schemas: {typed:?}");
    }
    let response_ty = typed.into_iter().next().cloned();
    if plain && (success.len() > 1 || response_ty.is_some()) {
        bail!("a text/plain count must be the operation's only success response");
    }
    let shape = match (&response_ty, success.iter().any(|(_, t)| t.is_none())) {
        (None, _) if plain => Shape::Text,
        (None, _) => Shape::Empty,
        (Some(_), false) => Shape::Json,
        (Some(_), true) => Shape::MaybeJson,
    };

    let action = match op
        .extensions
        .get("x-ms-docs-operation-type")
        .and_then(|v| v.as_str())
    {
        Some("action") => Some(
            template
                .rsplit('/')
                .next()
                .filter(|s| !s.is_empty() && !s.starts_with('{'))
                .with_context(|| format!("action {template} does not end in its name"))?
                .to_owned(),
        ),
        Some("operation" | "function") | None => None,
        Some(other) => bail!("unknown x-ms-docs-operation-type {other:?}"),
    };
    let marked_idempotent = match op.extensions.get("x-teamsapp-idempotent") {
        None => false,
        Some(v) => v
            .as_bool()
            .context("x-teamsapp-idempotent must be a boolean")?,
    };
    let idempotent = method != "post" || marked_idempotent;
    let paging = match op.extensions.get("x-ms-pageable") {
        None => None,
        Some(pageable) => Some(Paging {
            next_link: pageable
                .get("nextLinkName")
                .and_then(serde_json::Value::as_str)
                .context("x-ms-pageable without nextLinkName")?
                .to_owned(),
            max_top: top_max.context("a pageable operation's $top needs a maximum")?,
        }),
    };

    Ok(Op {
        permissions: permissions(op)?,
        clouds: clouds(op)?,
        paging,
        action,
        action_parameters: Vec::new(),
        idempotent,
        operation_id,
        request,
        method: method.to_uppercase(),
        template: template.to_owned(),
        aliases,
        summary: op.summary.clone().unwrap_or_default(),
        description: op.description.clone().unwrap_or_default(),
        docs_url: op.external_docs.as_ref().map(|d| d.url.clone()),
        path_params,
        query,
        body,
        success: *primary,
        accepted: success.iter().skip(1).map(|(c, _)| *c).collect(),
        response_ty,
        shape,
    })
}
