//! Entity types as data: what `$select`, `$expand` and `$filter` may name on each, and what a
//! response holds by default.
//!
//! The tables are generated into [`entities`](crate::generated::entities) from the fragment: every
//! property of a schema with `x-teamsapp-projection` is selectable; Graph's own
//! `x-ms-navigationProperty` marks the navigation properties, which are expandable unless the
//! projection's `notExpandable` says why not; the projection's `default` is Graph's default
//! projection and its `filterable` the properties `$filter` may compare. One table drives
//! `$select`, `$expand`, `$filter` and the projection of every response.
//!
//! `/beta` has its own shapes: every table has a twin in
//! [`entities::beta`](crate::generated::entities::beta), made from the same schema with the
//! schema's `x-teamsapp-beta` (properties beta adds, renames and removes) applied;
//! [`Entity::in_version`] picks the table of the version a request was sent to.

use std::fmt;

/// The Graph API version a request was sent to: `/v1.0` or `/beta`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ApiVersion {
    /// `/v1.0`.
    #[default]
    V1,
    /// `/beta`.
    Beta,
}

impl ApiVersion {
    /// Both versions.
    pub const ALL: [Self; 2] = [Self::V1, Self::Beta];

    /// The path segment: `v1.0` or `beta`.
    pub const fn segment(self) -> &'static str {
        match self {
            Self::V1 => "v1.0",
            Self::Beta => "beta",
        }
    }
}

/// One entity type.
#[derive(Debug)]
pub struct Entity {
    /// The qualified type name (`microsoft.graph.teamsAppInstallation`), as Graph's messages
    /// name it.
    pub name: &'static str,
    /// Every property, structural and navigation, in wire spelling: what `$select` may name.
    pub properties: &'static [Property],
    /// The properties returned without `$select` (Graph's default projection).
    pub defaults: &'static [&'static str],
    /// Navigation properties that exist but cannot be expanded, with why.
    pub not_expandable: &'static [(&'static str, &'static str)],
    /// The version whose shape this table is.
    pub version: ApiVersion,
    /// The same entity as `/beta` shapes it, on a `/v1.0` table; `None` on a `/beta` table.
    pub beta: Option<&'static Entity>,
}

/// One property of an entity type.
#[derive(Debug, Clone, Copy)]
pub struct Property {
    /// The wire name.
    pub name: &'static str,
    /// What it holds.
    pub kind: PropertyKind,
    /// Whether `$filter` may compare it (or navigate through it).
    pub filterable: bool,
}

/// What a property holds.
#[derive(Clone, Copy)]
pub enum PropertyKind {
    /// A string (or an enum, compared as its string).
    String,
    /// A boolean.
    Boolean,
    /// A number or a complex value: selectable, never compared.
    Other,
    /// A navigation property to one entity.
    Navigation(&'static Entity),
    /// A navigation property to a collection of entities.
    Collection(&'static Entity),
}

impl fmt::Debug for PropertyKind {
    /// Names the target entity instead of printing it again.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::String => f.write_str("String"),
            Self::Boolean => f.write_str("Boolean"),
            Self::Other => f.write_str("Other"),
            Self::Navigation(e) => write!(f, "Navigation({})", e.name),
            Self::Collection(e) => write!(f, "Collection({})", e.name),
        }
    }
}

impl PropertyKind {
    /// The entity a navigation property leads to.
    pub fn target(self) -> Option<&'static Entity> {
        match self {
            Self::Navigation(e) | Self::Collection(e) => Some(e),
            Self::String | Self::Boolean | Self::Other => None,
        }
    }
}

impl Entity {
    /// This entity as `version` shapes it: the `/beta` twin of a `/v1.0` table for
    /// [`ApiVersion::Beta`], the table itself otherwise (a `/beta` table stays `/beta`).
    pub fn in_version(&'static self, version: ApiVersion) -> &'static Entity {
        match (version, self.beta) {
            (ApiVersion::Beta, Some(beta)) => beta,
            _ => self,
        }
    }

    /// The property called `name` (ASCII case-insensitive, as Graph matches them).
    pub fn property(&self, name: &str) -> Option<&'static Property> {
        self.properties
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The wire name of every selectable property.
    pub fn selectable(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.properties.iter().map(|p| p.name)
    }

    /// Whether `name` (as spelled in the table) is in the default projection.
    pub fn is_default(&self, name: &str) -> bool {
        self.defaults.contains(&name)
    }

    /// The expandable navigation property called `name` and its target.
    pub fn expandable(&self, name: &str) -> Option<(&'static str, &'static Entity)> {
        let property = self.property(name)?;
        let target = property.kind.target()?;
        (!self.not_expanded(property.name)).then_some((property.name, target))
    }

    /// A navigation property that cannot be expanded, spelled as in the table, and why.
    pub fn not_expandable(&self, name: &str) -> Option<(&'static str, &'static str)> {
        self.not_expandable
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .copied()
    }

    fn not_expanded(&self, name: &str) -> bool {
        self.not_expandable.iter().any(|(n, _)| *n == name)
    }

    /// The filterable property called `name`.
    pub fn filterable(&self, name: &str) -> Option<&'static Property> {
        self.property(name).filter(|p| p.filterable)
    }

    /// The wire name of every filterable property.
    pub fn filterable_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.properties
            .iter()
            .filter(|p| p.filterable)
            .map(|p| p.name)
    }
}

#[cfg(test)]
mod tests {
    use crate::entities;

    #[test]
    fn installations_default_to_their_id_and_expand_their_app() {
        let e = &entities::TEAMS_APP_INSTALLATION;
        assert_eq!(e.defaults, ["id"]);
        assert_eq!(
            e.expandable("TEAMSAPP").map(|(n, t)| (n, t.name)),
            Some(("teamsApp", "microsoft.graph.teamsApp"))
        );
        assert!(e.expandable("consentedPermissionSet").is_none());
        let user = &entities::USER_SCOPE_TEAMS_APP_INSTALLATION;
        assert!(user.property("chat").is_some() && user.expandable("chat").is_none());
        assert!(user.not_expandable("chat").is_some());
        assert_eq!(
            user.filterable_names().collect::<Vec<_>>(),
            ["id", "teamsApp", "teamsAppDefinition"]
        );
    }

    #[test]
    fn every_default_is_selectable_and_every_target_is_an_entity() {
        for e in entities::ALL {
            for d in e.defaults {
                assert!(e.property(d).is_some(), "{} {d}", e.name);
            }
            for p in e.properties {
                if let Some(t) = p.kind.target() {
                    assert!(entities::ALL.iter().any(|x| std::ptr::eq(*x, t)));
                }
            }
        }
    }
}
