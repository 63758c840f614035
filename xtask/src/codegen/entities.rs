//! Entity types: every component schema with an `x-teamsapp-projection`, its properties (Graph's
//! `x-ms-navigationProperty` marks the navigations), default projection, filterable properties
//! and non-expandable navigations; read from the fragment and emitted as
//! `teamsapp_types::entities`.

use anyhow::{Context, Result, bail};
use openapiv3::{OpenAPI, ReferenceOr, Schema, SchemaKind, Type};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::model::{Ty, ref_name, resolve, string_list, ty_of};

/// What an entity's properties are, for `$select`, `$expand` and `$filter`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum PropKind {
    String,
    Boolean,
    Other,
    /// A navigation property to one entity (the schema name).
    Navigation(String),
    /// A navigation property to a collection of entities.
    Collection(String),
}

pub(crate) struct EntityProp {
    pub(crate) wire: String,
    pub(crate) kind: PropKind,
    pub(crate) filterable: bool,
}

/// An entity schema with an `x-teamsapp-projection`.
pub(crate) struct Entity {
    /// The schema name (`microsoft.graph.teamsApp`).
    pub(crate) wire: String,
    pub(crate) props: Vec<EntityProp>,
    pub(crate) defaults: Vec<String>,
    pub(crate) not_expandable: Vec<(String, String)>,
}

/// Every entity of the fragment, in its order; a navigation must lead to another entity.
pub(crate) fn build(spec: &OpenAPI) -> Result<Vec<Entity>> {
    let components = spec
        .components
        .as_ref()
        .context("the fragment has no components")?;
    let mut entities = Vec::new();
    for (name, schema) in &components.schemas {
        if let ReferenceOr::Item(schema) = schema
            && let Some(projection) = schema.schema_data.extensions.get("x-teamsapp-projection")
        {
            entities.push(
                build_entity(spec, name, schema, projection)
                    .with_context(|| format!("x-teamsapp-projection of {name}"))?,
            );
        }
    }
    for entity in &entities {
        for prop in &entity.props {
            if let PropKind::Navigation(target) | PropKind::Collection(target) = &prop.kind
                && !entities.iter().any(|e| e.wire == *target)
            {
                bail!(
                    "{}.{}: navigation target {target} has no x-teamsapp-projection",
                    entity.wire,
                    prop.wire
                );
            }
        }
    }
    Ok(entities)
}

/// Every property of an object schema (through `allOf`), with its kind.
fn entity_props(spec: &OpenAPI, schema: &Schema, out: &mut Vec<(String, PropKind)>) -> Result<()> {
    match &schema.schema_kind {
        SchemaKind::AllOf { all_of } => {
            for part in all_of {
                entity_props(spec, resolve(spec, part)?, out)?;
            }
        }
        SchemaKind::Type(Type::Object(obj)) => {
            for (wire, prop) in &obj.properties {
                let kind = match prop {
                    ReferenceOr::Reference { reference } => scalar_kind(spec, ref_name(reference)?),
                    ReferenceOr::Item(prop) => {
                        let nav = prop
                            .schema_data
                            .extensions
                            .get("x-ms-navigationProperty")
                            .and_then(serde_json::Value::as_bool)
                            .unwrap_or(false);
                        match (nav, ty_of(prop)?) {
                            (true, Ty::Named(_)) => PropKind::Navigation(target_name(prop)?),
                            (true, Ty::Vec(_)) => PropKind::Collection(target_name(prop)?),
                            (true, _) => bail!("navigation property {wire} is not a $ref"),
                            (false, Ty::String) => PropKind::String,
                            (false, Ty::Bool) => PropKind::Boolean,
                            (false, Ty::Named(_)) => scalar_kind(spec, &target_name(prop)?),
                            (false, _) => PropKind::Other,
                        }
                    }
                };
                out.retain(|(w, _)| w != wire);
                out.push((wire.clone(), kind));
            }
        }
        other => bail!("unsupported schema kind for an entity: {other:?}"),
    }
    Ok(())
}

/// An enum schema is compared as a string; any other schema is a complex value.
fn scalar_kind(spec: &OpenAPI, schema_name: &str) -> PropKind {
    match spec
        .components
        .as_ref()
        .and_then(|c| c.schemas.get(schema_name))
    {
        Some(ReferenceOr::Item(Schema {
            schema_kind: SchemaKind::Type(Type::String(_)),
            ..
        })) => PropKind::String,
        _ => PropKind::Other,
    }
}

/// The schema name a (nullable or array) reference property points to.
fn target_name(prop: &Schema) -> Result<String> {
    let reference = match &prop.schema_kind {
        SchemaKind::AnyOf { any_of } => any_of.iter().find_map(|s| match s {
            ReferenceOr::Reference { reference } => Some(reference.clone()),
            ReferenceOr::Item(_) => None,
        }),
        SchemaKind::Type(Type::Array(a)) => match &a.items {
            Some(ReferenceOr::Reference { reference }) => Some(reference.clone()),
            _ => None,
        },
        _ => None,
    }
    .context("expected a reference to a schema")?;
    Ok(ref_name(&reference)?.to_owned())
}

fn build_entity(
    spec: &OpenAPI,
    name: &str,
    schema: &Schema,
    projection: &serde_json::Value,
) -> Result<Entity> {
    let mut all = Vec::new();
    entity_props(spec, schema, &mut all)?;
    let defaults = string_list(projection.get("default"), "default")?;
    let filterable = string_list(projection.get("filterable"), "filterable")?;
    for listed in defaults.iter().chain(&filterable) {
        if !all.iter().any(|(w, _)| w == listed) {
            bail!("{listed} is not a property of {name}");
        }
    }
    let not_expandable = match projection.get("notExpandable") {
        None => Vec::new(),
        Some(v) => v
            .as_object()
            .context("notExpandable must map a property to why")?
            .iter()
            .map(|(k, why)| {
                Ok((
                    k.clone(),
                    why.as_str()
                        .context("notExpandable must map a property to why")?
                        .to_owned(),
                ))
            })
            .collect::<Result<_>>()?,
    };
    let props = all
        .into_iter()
        .map(|(wire, kind)| EntityProp {
            filterable: filterable.contains(&wire),
            wire,
            kind,
        })
        .collect();
    Ok(Entity {
        wire: name.to_owned(),
        props,
        defaults,
        not_expandable,
    })
}

pub(crate) fn entity_ident(schema_name: &str) -> String {
    super::model::snake(&super::model::type_name(schema_name)).to_uppercase()
}

pub(crate) fn entity_tokens(e: &Entity) -> TokenStream {
    let name = format_ident!("{}", entity_ident(&e.wire));
    let wire = &e.wire;
    let docs = format!(" `{}`.", e.wire);
    let props = e.props.iter().map(|p| {
        let pname = &p.wire;
        let kind = match &p.kind {
            PropKind::String => quote!(PropertyKind::String),
            PropKind::Boolean => quote!(PropertyKind::Boolean),
            PropKind::Other => quote!(PropertyKind::Other),
            PropKind::Navigation(target) => {
                let t = format_ident!("{}", entity_ident(target));
                quote!(PropertyKind::Navigation(&#t))
            }
            PropKind::Collection(target) => {
                let t = format_ident!("{}", entity_ident(target));
                quote!(PropertyKind::Collection(&#t))
            }
        };
        let filterable = p.filterable;
        quote!(Property { name: #pname, kind: #kind, filterable: #filterable })
    });
    let defaults = &e.defaults;
    let ne_names = e.not_expandable.iter().map(|(n, _)| n);
    let ne_whys = e.not_expandable.iter().map(|(_, w)| w);
    quote! {
        #[doc = #docs]
        pub static #name: Entity = Entity {
            name: #wire,
            properties: &[#(#props),*],
            defaults: &[#(#defaults),*],
            not_expandable: &[#((#ne_names, #ne_whys)),*],
        };
    }
}
