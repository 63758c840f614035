//! Entity types: every component schema with an `x-teamsapp-projection`, its properties (Graph's
//! `x-ms-navigationProperty` marks the navigations), default projection, filterable properties
//! and non-expandable navigations; read from the fragment and emitted as
//! `teamsapp_types::entities`; and each one's `/beta` twin (`entities::beta`), the same schema
//! with every `x-teamsapp-beta` on it and on the schemas it extends applied (properties beta
//! adds, renames and removes; beta's extra defaults, filterable properties and non-expandable
//! navigations).

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
    /// The entity as `/beta` shapes it (`None` on a `/beta` entity).
    pub(crate) beta: Option<Box<Entity>>,
}

/// What `x-teamsapp-beta` renames and removes along an entity's `allOf` chain.
#[derive(Default)]
struct BetaChanges {
    renames: Vec<(String, String)>,
    removes: Vec<String>,
}

impl BetaChanges {
    /// `name` as beta spells it, or `None` when beta has no such property.
    fn apply(&self, name: &str) -> Option<String> {
        if self.removes.iter().any(|r| r == name) {
            return None;
        }
        Some(
            self.renames
                .iter()
                .find(|(from, _)| from == name)
                .map_or_else(|| name.to_owned(), |(_, to)| to.clone()),
        )
    }
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

/// Every property of an object schema (through `allOf`), with its kind; with `beta`, as `/beta`
/// has them (each `x-teamsapp-beta` on the way applied, its renames and removals noted).
fn entity_props(
    spec: &OpenAPI,
    schema: &Schema,
    beta: Option<&mut BetaChanges>,
    out: &mut Vec<(String, PropKind)>,
) -> Result<()> {
    let mut beta = beta;
    match &schema.schema_kind {
        SchemaKind::AllOf { all_of } => {
            for part in all_of {
                entity_props(spec, resolve(spec, part)?, beta.as_deref_mut(), out)?;
            }
        }
        SchemaKind::Type(Type::Object(obj)) => {
            for (wire, prop) in &obj.properties {
                let kind = match prop {
                    ReferenceOr::Reference { reference } => {
                        prop_kind(spec, wire, ReferenceOr::ref_(reference))?
                    }
                    ReferenceOr::Item(prop) => prop_kind(spec, wire, ReferenceOr::Item(&**prop))?,
                };
                out.retain(|(w, _)| w != wire);
                out.push((wire.clone(), kind));
            }
        }
        other => bail!("unsupported schema kind for an entity: {other:?}"),
    }
    if let Some(changes) = beta
        && let Some(ext) = schema.schema_data.extensions.get("x-teamsapp-beta")
    {
        apply_beta(spec, ext, changes, out).context("x-teamsapp-beta")?;
    }
    Ok(())
}

/// Applies one `x-teamsapp-beta` (`remove`, then `rename`, then `add`) to `out`.
fn apply_beta(
    spec: &OpenAPI,
    ext: &serde_json::Value,
    changes: &mut BetaChanges,
    out: &mut Vec<(String, PropKind)>,
) -> Result<()> {
    for removed in string_list(ext.get("remove"), "remove")? {
        let before = out.len();
        out.retain(|(w, _)| *w != removed);
        if out.len() == before {
            bail!("remove: {removed} is not a property");
        }
        changes.removes.push(removed);
    }
    if let Some(renames) = ext.get("rename") {
        let renames = renames
            .as_object()
            .context("rename must map a v1.0 name to beta's")?;
        for (from, to) in renames {
            let to = to
                .as_str()
                .context("rename must map a v1.0 name to beta's")?;
            let prop = out
                .iter_mut()
                .find(|(w, _)| w == from)
                .with_context(|| format!("rename: {from} is not a property"))?;
            to.clone_into(&mut prop.0);
            changes.renames.push((from.clone(), to.to_owned()));
        }
    }
    if let Some(added) = ext.get("add") {
        let added = added
            .as_object()
            .context("add must map a property name to its schema")?;
        for (wire, prop) in added {
            let prop: ReferenceOr<Schema> = serde_json::from_value(prop.clone())
                .with_context(|| format!("add: the schema of {wire}"))?;
            let kind = match &prop {
                ReferenceOr::Reference { reference } => {
                    prop_kind(spec, wire, ReferenceOr::ref_(reference))?
                }
                ReferenceOr::Item(prop) => prop_kind(spec, wire, ReferenceOr::Item(prop))?,
            };
            out.retain(|(w, _)| w != wire);
            out.push((wire.clone(), kind));
        }
    }
    Ok(())
}

/// What one property of an entity schema holds.
fn prop_kind(spec: &OpenAPI, wire: &str, prop: ReferenceOr<&Schema>) -> Result<PropKind> {
    Ok(match prop {
        ReferenceOr::Reference { reference } => scalar_kind(spec, ref_name(&reference)?),
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
    })
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
    entity_props(spec, schema, None, &mut all)?;
    let defaults = string_list(projection.get("default"), "default")?;
    let filterable = string_list(projection.get("filterable"), "filterable")?;
    let not_expandable = why_map(projection.get("notExpandable"))?;
    let v1 = tables(
        name,
        all,
        defaults.clone(),
        &filterable,
        not_expandable.clone(),
    )?;

    let mut changes = BetaChanges::default();
    let mut all = Vec::new();
    entity_props(spec, schema, Some(&mut changes), &mut all).context("its /beta shape")?;
    let ext = schema.schema_data.extensions.get("x-teamsapp-beta");
    let beta_list = |key: &str, v1: &[String]| -> Result<Vec<String>> {
        let mut list: Vec<String> = v1.iter().filter_map(|n| changes.apply(n)).collect();
        for extra in string_list(ext.and_then(|e| e.get(key)), key)? {
            if !list.contains(&extra) {
                list.push(extra);
            }
        }
        Ok(list)
    };
    let beta_defaults = beta_list("default", &defaults)?;
    let beta_filterable = beta_list("filterable", &filterable)?;
    let mut beta_not_expandable: Vec<(String, String)> = not_expandable
        .iter()
        .filter_map(|(n, why)| Some((changes.apply(n)?, why.clone())))
        .collect();
    beta_not_expandable.extend(why_map(ext.and_then(|e| e.get("notExpandable")))?);
    let beta = tables(
        name,
        all,
        beta_defaults,
        &beta_filterable,
        beta_not_expandable,
    )
    .context("x-teamsapp-beta")?;
    Ok(Entity {
        beta: Some(Box::new(beta)),
        ..v1
    })
}

/// A `notExpandable` map: navigation property → why.
fn why_map(value: Option<&serde_json::Value>) -> Result<Vec<(String, String)>> {
    match value {
        None => Ok(Vec::new()),
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
            .collect(),
    }
}

/// One version's table of an entity; every default and filterable name must be a property.
fn tables(
    name: &str,
    all: Vec<(String, PropKind)>,
    defaults: Vec<String>,
    filterable: &[String],
    not_expandable: Vec<(String, String)>,
) -> Result<Entity> {
    for listed in defaults.iter().chain(filterable) {
        if !all.iter().any(|(w, _)| w == listed) {
            bail!("{listed} is not a property of {name}");
        }
    }
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
        beta: None,
    })
}

pub(crate) fn entity_ident(schema_name: &str) -> String {
    super::model::snake(&super::model::type_name(schema_name)).to_uppercase()
}

/// The table of `e`; a `/v1.0` table points to its twin in `entities::beta`, where the beta
/// tables are emitted under the same names (so navigations lead to beta tables there).
pub(crate) fn entity_tokens(e: &Entity) -> TokenStream {
    let name = format_ident!("{}", entity_ident(&e.wire));
    let wire = &e.wire;
    let (docs, version, beta) = if e.beta.is_some() {
        (
            format!(" `{}`.", e.wire),
            quote!(ApiVersion::V1),
            quote!(Some(&beta::#name)),
        )
    } else {
        (
            format!(" `{}` as `/beta` shapes it.", e.wire),
            quote!(ApiVersion::Beta),
            quote!(None),
        )
    };
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
            version: #version,
            beta: #beta,
        };
    }
}
