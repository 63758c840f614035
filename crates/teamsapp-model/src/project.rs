//! Wire projections of the state (generated types shaped by `$select`/`$expand`) and the records
//! `$filter` is evaluated on.

use std::borrow::Cow;

use teamsapp_types::{
    Chat, Identity, IdentitySet, Team, TeamVisibilityType, TeamsApp, TeamsAppAuthorization,
    TeamsAppDefinition, TeamsAppDefinitionId, TeamsAppInstallation, TeamworkBot,
    TeamworkOnlineMeetingInfo, User,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use teamsapp_types::permissions::InstallationScope;

use crate::filter::{Record, Value};
use crate::query::Shape;
use crate::spec::permission_set;
use crate::state::{AppRec, ChatRec, DefRec, InstRec, ScopeKey, TeamRec, Tenant, UserRec};

pub(crate) fn timestamp(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// A definition's id as Graph forms it: `base64("{teamsAppId}##{version}##{State}")`.
pub(crate) fn definition_id(app: &AppRec, def: &DefRec) -> String {
    TeamsAppDefinitionId::build(&app.id, def.version.as_str(), Some(def.state.name()))
        .map(TeamsAppDefinitionId::into_inner)
        .unwrap_or_default()
}

/// A definition's `@odata.etag`, as Graph writes them: base64 of a quoted base64 string
/// (`ImNOTW1CR2V1VzgwczlEblVidU00UHc9PSI=` is `"cNMmBGeuW80s9DnUbuM4Pw=="`). It changes whenever
/// the definition does (its state or last change), and is the same after a restart (FNV-1a of
/// the app, version, state and last change; not a secret).
pub(crate) fn definition_etag(app: &AppRec, def: &DefRec) -> String {
    use base64::Engine as _;
    let fnv = |seed: u64| {
        let mut h = 0xcbf2_9ce4_8422_2325_u64 ^ seed;
        let mut eat = |bytes: &[u8]| {
            for b in bytes {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
            h ^= 0xff;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        };
        eat(app.id.as_str().as_bytes());
        eat(def.version.as_str().as_bytes());
        eat(def.state.name().as_bytes());
        eat(&def.last_modified.unix_timestamp_nanos().to_le_bytes());
        h
    };
    let mut digest = [0u8; 16];
    digest[..8].copy_from_slice(&fnv(0).to_le_bytes());
    digest[8..].copy_from_slice(&fnv(0x9e37_79b9_7f4a_7c15).to_le_bytes());
    let engine = base64::engine::general_purpose::STANDARD;
    let quoted = format!("\"{}\"", engine.encode(digest));
    engine.encode(quoted)
}

fn when<T>(shape: &Shape, name: &str, value: impl FnOnce() -> T) -> Option<T> {
    shape.has(name).then(value)
}

/// The properties of `present` that `shape` returns but that have no value, as `null`s: Graph
/// writes every property it returns, `null` when unset (`"lastModifiedDateTime": null`,
/// `"createdBy": null`, catalog-list Example 5 and chat-list Example 2), where the generated
/// types leave an absent value out. They go into `additional_properties`.
fn nulls<'a>(
    shape: &Shape,
    present: impl IntoIterator<Item = (&'a str, bool)>,
) -> serde_json::Map<String, serde_json::Value> {
    present
        .into_iter()
        .filter(|&(name, has_value)| !has_value && shape.has(name))
        .map(|(name, _)| (name.to_owned(), serde_json::Value::Null))
        .collect()
}

/// Who submitted a definition, in the shape Graph answers it (catalog-list Example 5): every
/// identity of the set present, `null` but the user; the user with a `null` `displayName` and
/// `userIdentityType` `aadUser`.
fn created_by(user: &str) -> IdentitySet {
    use serde_json::Value::{Null, String as Text};
    IdentitySet {
        user: Some(Identity {
            id: Some(user.to_owned()),
            display_name: None,
            additional_properties: serde_json::Map::from_iter([
                ("displayName".to_owned(), Null),
                ("userIdentityType".to_owned(), Text("aadUser".to_owned())),
            ]),
        }),
        application: None,
        device: None,
        additional_properties: serde_json::Map::from_iter([
            ("application".to_owned(), Null),
            ("device".to_owned(), Null),
            ("conversation".to_owned(), Null),
        ]),
    }
}

pub(crate) fn app_wire(tenant: &Tenant, app: &AppRec, shape: &Shape) -> TeamsApp {
    let _ = tenant;
    TeamsApp {
        id: Some(app.id.as_str().to_owned()),
        display_name: when(shape, "displayName", || app.display_name.clone()),
        distribution_method: when(shape, "distributionMethod", || app.distribution.to_wire()),
        external_id: if shape.has("externalId") {
            app.external_id.clone()
        } else {
            None
        },
        app_definitions: shape.expanded("appDefinitions").map(|nested| {
            app.defs
                .iter()
                .map(|d| definition_wire(app, d, nested))
                .collect()
        }),
        additional_properties: nulls(shape, [("externalId", app.external_id.is_some())]),
    }
}

pub(crate) fn definition_wire(app: &AppRec, def: &DefRec, shape: &Shape) -> TeamsAppDefinition {
    TeamsAppDefinition {
        id: Some(definition_id(app, def)),
        authorization: when(shape, "authorization", || TeamsAppAuthorization {
            client_app_id: def.client_app_id.clone(),
            required_permission_set: Some(permission_set(&def.rsc)),
            additional_properties: serde_json::Map::new(),
        }),
        created_by: if shape.has("createdBy") {
            def.created_by.as_deref().map(created_by)
        } else {
            None
        },
        description: if shape.has("description") {
            def.description.clone()
        } else {
            None
        },
        display_name: when(shape, "displayName", || def.display_name.clone()),
        last_modified_date_time: when(shape, "lastModifiedDateTime", || {
            timestamp(def.last_modified)
        }),
        publishing_state: when(shape, "publishingState", || def.state.to_wire()),
        // `/beta` spells it `shortdescription`, written below.
        short_description: if shape.has("shortDescription") {
            def.short_description.clone()
        } else {
            None
        },
        teams_app_id: when(shape, "teamsAppId", || app.id.as_str().to_owned()),
        version: when(shape, "version", || def.version.as_str().to_owned()),
        bot: match (shape.expanded("bot"), &def.bot_id) {
            (Some(_), Some(id)) => Some(TeamworkBot {
                id: Some(id.clone()),
                additional_properties: serde_json::Map::new(),
            }),
            _ => None,
        },
        additional_properties: {
            let mut extra = serde_json::Map::from_iter([(
                "@odata.etag".to_owned(),
                serde_json::Value::String(definition_etag(app, def)),
            )]);
            extra.extend(nulls(
                shape,
                [
                    ("createdBy", def.created_by.is_some()),
                    ("description", def.description.is_some()),
                    ("shortDescription", def.short_description.is_some()),
                ],
            ));
            if shape.is_beta() {
                extra.extend(definition_beta(def, shape));
            }
            extra
        },
    }
}

/// The properties only `/beta` has on a definition (beta CSDL `teamsAppDefinition`):
/// `shortdescription` (beta's spelling of `shortDescription`), `azureADAppId` (the manifest's
/// `webApplicationInfo.id`, kept as the authorization's `clientAppId`) and
/// `allowedInstallationScopes` (the scopes of the manifest's bots and tabs,
/// `null` when none names one).
fn definition_beta(def: &DefRec, shape: &Shape) -> serde_json::Map<String, serde_json::Value> {
    let text = |value: Option<&String>| {
        value.map_or(serde_json::Value::Null, |v| {
            serde_json::Value::String(v.clone())
        })
    };
    [
        ("shortdescription", text(def.short_description.as_ref())),
        ("azureADAppId", text(def.client_app_id.as_ref())),
        (
            "allowedInstallationScopes",
            def.installation_scopes
                .as_deref()
                .map_or(serde_json::Value::Null, |s| {
                    serde_json::Value::String(s.into())
                }),
        ),
    ]
    .into_iter()
    .filter(|(name, _)| shape.has(name))
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

/// An installation's `scopeInfo` (beta only): the `teamsAppInstallationScopeInfo` subtype of
/// its scope, with the scope's id (beta CSDL `teamTeamsAppInstallationScopeInfo`,
/// `groupChatTeamsAppInstallationScopeInfo`, `personalTeamsAppInstallationScopeInfo`).
fn scope_info(tenant: &Tenant, scope: ScopeKey) -> serde_json::Value {
    let (odata_type, scope_name, id_name) = match scope.kind {
        InstallationScope::Team => ("teamTeamsAppInstallationScopeInfo", "team", "teamId"),
        InstallationScope::Chat => (
            "groupChatTeamsAppInstallationScopeInfo",
            "groupChat",
            "chatId",
        ),
        InstallationScope::User => (
            "personalTeamsAppInstallationScopeInfo",
            "personal",
            "userId",
        ),
    };
    serde_json::json!({
        "@odata.type": format!("#microsoft.graph.{odata_type}"),
        "scope": scope_name,
        id_name: tenant.scope_id(scope),
    })
}

/// An installation in any scope, shaped by `$select`/`$expand` (a personal installation's `chat`
/// navigation is never expanded, so it has the same shape).
pub(crate) fn installation_wire(
    tenant: &Tenant,
    scope: ScopeKey,
    rec: &InstRec,
    shape: &Shape,
) -> TeamsAppInstallation {
    let app = tenant.apps.get(rec.app as usize);
    TeamsAppInstallation {
        id: Some(tenant.installation_id(scope, rec)),
        consented_permission_set: shape
            .has("consentedPermissionSet")
            .then(|| permission_set(&rec.consent)),
        teams_app: shape
            .expanded("teamsApp")
            .zip(app)
            .map(|(nested, app)| app_wire(tenant, app, nested)),
        teams_app_definition: shape.expanded("teamsAppDefinition").and_then(|nested| {
            let app = app?;
            Some(definition_wire(app, app.def(rec.def)?, nested))
        }),
        additional_properties: if shape.has("scopeInfo") {
            serde_json::Map::from_iter([("scopeInfo".to_owned(), scope_info(tenant, scope))])
        } else {
            serde_json::Map::new()
        },
    }
}

pub(crate) fn user_wire(user: &UserRec, shape: &Shape) -> User {
    User {
        id: Some(user.id.clone()),
        account_enabled: when(shape, "accountEnabled", || user.account_enabled),
        display_name: when(shape, "displayName", || user.display_name.clone()),
        mail: when(shape, "mail", || {
            user.mail.clone().unwrap_or_else(|| user.upn.clone())
        }),
        user_principal_name: when(shape, "userPrincipalName", || user.upn.clone()),
        user_type: when(shape, "userType", || {
            user.user_type
                .clone()
                .unwrap_or_else(|| "Member".to_owned())
        }),
        additional_properties: serde_json::Map::new(),
    }
}

pub(crate) fn chat_wire(tenant: &Tenant, chat: &ChatRec, shape: &Shape) -> Chat {
    let id = chat.id.to_string();
    let encoded = teamsapp_types::operation::encode_path_segment(&id);
    Chat {
        id: Some(id),
        chat_type: when(shape, "chatType", || chat.kind.to_wire()),
        created_date_time: when(shape, "createdDateTime", || timestamp(chat.created)),
        last_updated_date_time: when(shape, "lastUpdatedDateTime", || timestamp(chat.created)),
        online_meeting_info: if shape.has("onlineMeetingInfo") {
            chat.meeting.as_ref().map(|m| TeamworkOnlineMeetingInfo {
                calendar_event_id: m.calendar_event_id.clone(),
                join_web_url: Some(m.join_web_url.clone()),
                additional_properties: serde_json::Map::new(),
            })
        } else {
            None
        },
        tenant_id: when(shape, "tenantId", || tenant.id.clone()),
        topic: if shape.has("topic") {
            chat.topic.as_deref().map(str::to_owned)
        } else {
            None
        },
        web_url: when(shape, "webUrl", || {
            format!(
                "https://teams.microsoft.com/l/chat/{encoded}/0?tenantId={}",
                tenant.id
            )
        }),
        additional_properties: nulls(
            shape,
            [
                ("topic", chat.topic.is_some()),
                ("onlineMeetingInfo", chat.meeting.is_some()),
            ],
        ),
    }
}

pub(crate) fn team_wire(tenant: &Tenant, team: &TeamRec, shape: &Shape) -> Team {
    Team {
        id: Some(team.id.clone()),
        created_date_time: when(shape, "createdDateTime", || timestamp(crate::state::EPOCH)),
        description: if shape.has("description") {
            team.description.clone()
        } else {
            None
        },
        display_name: when(shape, "displayName", || team.display_name.clone()),
        is_archived: when(shape, "isArchived", || false),
        tenant_id: when(shape, "tenantId", || tenant.id.clone()),
        visibility: when(shape, "visibility", || TeamVisibilityType::Private),
        web_url: when(shape, "webUrl", || {
            format!(
                "https://teams.microsoft.com/l/team/{}/conversations?groupId={}&tenantId={}",
                team.id, team.id, tenant.id
            )
        }),
        additional_properties: nulls(shape, [("description", team.description.is_some())]),
    }
}

// ---------------------------------------------------------------------------------------------
// Filter records.

fn opt(value: Option<&str>) -> Value<'_> {
    value.map_or(Value::Null, |s| Value::Str(Cow::Borrowed(s)))
}

pub(crate) struct AppView<'a> {
    pub(crate) app: &'a AppRec,
}

impl Record for AppView<'_> {
    fn value(&self, path: &[String]) -> Value<'_> {
        let Some(first) = path.first() else {
            return Value::Present;
        };
        match first.to_ascii_lowercase().as_str() {
            "id" => Value::Str(Cow::Borrowed(self.app.id.as_str())),
            "externalid" => opt(self.app.external_id.as_deref()),
            "displayname" => Value::Str(Cow::Borrowed(&self.app.display_name)),
            "distributionmethod" => Value::Str(Cow::Owned(
                self.app.distribution.to_wire().as_str().to_owned(),
            )),
            _ => Value::Null,
        }
    }

    fn each(&self, _path: &[String], visit: &mut dyn FnMut(&dyn Record) -> bool) -> bool {
        self.app
            .defs
            .iter()
            .any(|def| visit(&DefView { app: self.app, def }))
    }
}

pub(crate) struct DefView<'a> {
    pub(crate) app: &'a AppRec,
    pub(crate) def: &'a DefRec,
}

impl Record for DefView<'_> {
    fn value(&self, path: &[String]) -> Value<'_> {
        let Some(first) = path.first() else {
            return Value::Present;
        };
        match first.to_ascii_lowercase().as_str() {
            "id" => Value::Str(Cow::Owned(definition_id(self.app, self.def))),
            "teamsappid" => Value::Str(Cow::Borrowed(self.app.id.as_str())),
            "displayname" => Value::Str(Cow::Borrowed(&self.def.display_name)),
            "version" => Value::Str(Cow::Borrowed(self.def.version.as_str())),
            "publishingstate" => Value::Str(Cow::Borrowed(self.def.state.name())),
            "description" => opt(self.def.description.as_deref()),
            "shortdescription" => opt(self.def.short_description.as_deref()),
            "bot" => match (&self.def.bot_id, path.get(1)) {
                (None, _) => Value::Null,
                (Some(_), None) => Value::Present,
                (Some(id), Some(_)) => Value::Str(Cow::Borrowed(id)),
            },
            _ => Value::Null,
        }
    }
}

pub(crate) struct InstallationView<'a> {
    pub(crate) tenant: &'a Tenant,
    pub(crate) scope: ScopeKey,
    pub(crate) rec: &'a InstRec,
}

impl Record for InstallationView<'_> {
    fn value(&self, path: &[String]) -> Value<'_> {
        let Some(first) = path.first() else {
            return Value::Present;
        };
        let Some(app) = self.tenant.apps.get(self.rec.app as usize) else {
            return Value::Null;
        };
        match first.to_ascii_lowercase().as_str() {
            "id" => Value::Str(Cow::Owned(
                self.tenant.installation_id(self.scope, self.rec),
            )),
            "teamsapp" => AppView { app }.value(&path[1..]).into_owned(),
            "teamsappdefinition" => match app.def(self.rec.def) {
                Some(def) => DefView { app, def }.value(&path[1..]).into_owned(),
                None => Value::Null,
            },
            _ => Value::Null,
        }
    }
}

impl Value<'_> {
    fn into_owned(self) -> Value<'static> {
        match self {
            Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
            Value::Bool(b) => Value::Bool(b),
            Value::Present => Value::Present,
            Value::Null => Value::Null,
        }
    }
}

pub(crate) struct UserView<'a>(pub(crate) &'a UserRec);

impl Record for UserView<'_> {
    fn value(&self, path: &[String]) -> Value<'_> {
        let user = self.0;
        match path.first().map(|p| p.to_ascii_lowercase()).as_deref() {
            Some("id") => Value::Str(Cow::Borrowed(&user.id)),
            Some("displayname") => Value::Str(Cow::Borrowed(&user.display_name)),
            Some("userprincipalname") => Value::Str(Cow::Borrowed(&user.upn)),
            Some("mail") => Value::Str(Cow::Borrowed(user.mail.as_deref().unwrap_or(&user.upn))),
            Some("usertype") => {
                Value::Str(Cow::Borrowed(user.user_type.as_deref().unwrap_or("Member")))
            }
            Some("accountenabled") => Value::Bool(user.account_enabled),
            _ => Value::Null,
        }
    }
}

pub(crate) struct ChatView<'a> {
    pub(crate) tenant: &'a Tenant,
    pub(crate) chat: &'a ChatRec,
}

impl Record for ChatView<'_> {
    fn value(&self, path: &[String]) -> Value<'_> {
        match path.first().map(|p| p.to_ascii_lowercase()).as_deref() {
            Some("id") => Value::Str(self.chat.id.as_str()),
            Some("topic") => opt(self.chat.topic.as_deref()),
            Some("chattype") => {
                Value::Str(Cow::Owned(self.chat.kind.to_wire().as_str().to_owned()))
            }
            Some("tenantid") => Value::Str(Cow::Borrowed(&self.tenant.id)),
            _ => Value::Null,
        }
    }
}

pub(crate) struct TeamView<'a>(pub(crate) &'a TeamRec);

impl Record for TeamView<'_> {
    fn value(&self, path: &[String]) -> Value<'_> {
        match path.first().map(|p| p.to_ascii_lowercase()).as_deref() {
            Some("id") => Value::Str(Cow::Borrowed(&self.0.id)),
            Some("displayname") => Value::Str(Cow::Borrowed(&self.0.display_name)),
            Some("description") => opt(self.0.description.as_deref()),
            Some("visibility") => Value::Str(Cow::Borrowed("private")),
            _ => Value::Null,
        }
    }
}
