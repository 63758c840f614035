//! The built-in demo tenant, its well-known test credentials, and [`fleet`] tenants of any size.
//!
//! **The credentials are for tests and local development only**, like the well-known account key
//! of Azure's Azurite emulator: they are published here, so anything that accepts them is not
//! secure. The emulator serves them so Microsoft's SDKs and tools work against it at once.
//!
//! The demo tenant ([`tenant`]), "Contoso":
//! - users Adele, Alex, Diego, Grady, Isaiah, Johanna, Lee, and Pat, who signs in with a personal
//!   Microsoft account;
//! - 31 chats: 29 group chats (among them the seed's chat [`SEED_CHAT_ID`]), the one-on-one chat
//!   of Graph's docs between Adele and Alex, and a meeting chat with its online meeting;
//! - 3 teams (Sales, Engineering, Marketing);
//! - app registrations: the fleet tool ([`CREDENTIALS`]: `TeamsAppInstallation.ReadWriteForChat.All`,
//!   `…ForTeam.All`, `…ForUser.All`, `AppCatalog.Read.All`, `User.Read.All`, `Chat.Read.All`,
//!   `Team.ReadBasic.All`) and the Contoso Standup bot ([`SELF_APP_CREDENTIALS`]: only
//!   `TeamsAppInstallation.ReadWriteSelfForChat.All`, for its own Teams app);
//! - delegated grants to the fleet tool for Adele (read-write), Alex (`AppCatalog.Submit`, read)
//!   and Pat (read-write, to show that personal accounts are not supported);
//! - the catalog: **Contoso Tasks** ([`TASKS_APP_ID`], the seed's app id `0d820ecd-…`) with
//!   1.0.0 and 1.1.0 published and 1.2.0 submitted; Contoso Polls (RSC permissions: 1.0.0 needs a
//!   delegated one, 2.0.0 adds an application one, 2.1.0 rejected); Contoso Standup (linked to the
//!   Standup bot's registration, 1.0.0 and 1.0.1); and Planner, a store app;
//! - installations: Contoso Tasks 1.0.0 in 40 scopes (31 chats, 3 teams, 6 personal scopes), the
//!   seed's installation among them with its documented id [`SEED_INSTALLATION_ID`]; Contoso
//!   Polls 1.0.0 in 3 chats; Contoso Standup 1.0.0 in 2 chats; Planner in the Engineering team.

use crate::spec::{
    AppRegistrationSpec, CatalogAppSpec, ChatKind, ChatSpec, DefinitionSpec, DelegatedGrantSpec,
    Distribution, InstallationScope, InstallationSpec, OnlineMeetingSpec, PublishingState,
    RscPermission, RscType, TeamSpec, TenantSpec, UserSpec,
};
use teamsapp_types::{ChatId, TeamId, TeamsAppId};

/// A tenant id, client id and client secret to get tokens with.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DemoCredentials {
    /// The tenant id (`tid`).
    pub tenant_id: &'static str,
    /// The app's client id.
    pub client_id: &'static str,
    /// The app's client secret (well-known; test use only).
    pub client_secret: &'static str,
}

impl std::fmt::Debug for DemoCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoCredentials")
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

/// The demo tenant's id.
pub const TENANT_ID: &str = "c0ffee00-0000-4000-8000-000000000001";

/// The fleet tool: the app registration that keeps Contoso Tasks up to date. Test use only.
pub const CREDENTIALS: DemoCredentials = DemoCredentials {
    tenant_id: TENANT_ID,
    client_id: "c0ffee00-0000-4000-8000-00000000f1ee",
    client_secret: "teamsapp-emulator-demo~fleet-tool-secret~not-for-production",
};

/// The Contoso Standup bot's registration: only `TeamsAppInstallation.ReadWriteSelfForChat.All`,
/// so it may manage only Contoso Standup's installations. Test use only.
pub const SELF_APP_CREDENTIALS: DemoCredentials = DemoCredentials {
    tenant_id: TENANT_ID,
    client_id: "c0ffee00-0000-4000-8000-000000005e1f",
    client_secret: "teamsapp-emulator-demo~standup-bot-secret~not-for-production",
};

/// The application permissions of the fleet tool.
pub const FLEET_PERMISSIONS: &[&str] = &[
    "TeamsAppInstallation.ReadWriteForChat.All",
    "TeamsAppInstallation.ReadWriteForTeam.All",
    "TeamsAppInstallation.ReadWriteForUser.All",
    "AppCatalog.Read.All",
    "User.Read.All",
    "Chat.Read.All",
    "Team.ReadBasic.All",
];

/// The chat of Graph's documented upgrade request.
pub const SEED_CHAT_ID: &str = "19:ea28e88c00e94c7786b065394a61f296@thread.v2";

/// The installation id of Graph's documented upgrade request: it decodes to
/// `64b9c746-b155-4042-8d47-941bd381681b##0d820ecd-def2-4297-adad-78056cde7c78`, whose first part
/// is not the chat's id (a documentation quirk, §5.1), so the demo gives it explicitly.
pub const SEED_INSTALLATION_ID: &str = "NjRiOWM3NDYtYjE1NS00MDQyLThkNDctOTQxYmQzODE2ODFiIyMwZDgyMGVjZC1kZWYyLTQyOTctYWRhZC03ODA1NmNkZTdjNzg=";

/// Contoso Tasks' catalog id (the seed's app).
pub const TASKS_APP_ID: &str = "0d820ecd-def2-4297-adad-78056cde7c78";
/// Contoso Tasks' manifest id.
pub const TASKS_EXTERNAL_ID: &str = "b7b8d3a4-51e5-4a7e-9f0b-6d3c2f0e1a11";
/// The Microsoft Entra app linked to Contoso Tasks (`authorization.clientAppId`).
pub const TASKS_CLIENT_APP_ID: &str = "c0ffee00-0000-4000-8000-000000007a5c";
/// The version of Contoso Tasks installed everywhere.
pub const TASKS_OLD_VERSION: &str = "1.0.0";
/// The latest published version of Contoso Tasks.
pub const TASKS_LATEST_VERSION: &str = "1.1.0";
/// The submitted (not yet reviewed) version of Contoso Tasks.
pub const TASKS_SUBMITTED_VERSION: &str = "1.2.0";

/// Contoso Polls' catalog id (an app with RSC permissions).
pub const POLLS_APP_ID: &str = "a5228c26-a9ae-4702-90e0-79a5246d2f7d";
/// Contoso Polls' manifest id.
pub const POLLS_EXTERNAL_ID: &str = "a55ec032-36e9-4b60-b604-34b2fe55abf1";
/// Contoso Standup's catalog id (linked to [`SELF_APP_CREDENTIALS`]).
pub const STANDUP_APP_ID: &str = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
/// Contoso Standup's manifest id.
pub const STANDUP_EXTERNAL_ID: &str = "2d3e4f50-6172-4839-9a4b-5c6d7e8f9012";
/// Planner's catalog id (a store app).
pub const PLANNER_APP_ID: &str = "com.microsoft.teamspace.tab.planner";

/// Adele Vance, the demo admin (object id).
pub const ADELE: &str = "8b081ef6-4792-4def-b2c9-c363a1bf41d5";
/// Alex Wilber (object id).
pub const ALEX: &str = "877192bd-9183-47d3-a74c-8aa0426716cf";
/// Diego Siciliani (object id).
pub const DIEGO: &str = "5b649834-7412-4cce-9e69-176e95a394f5";
/// Pat, who signs in with a personal Microsoft account (object id).
pub const PAT: &str = "c0ffee00-0000-4000-8000-000000000108";
/// Lee Gu, a member of no chat or team (object id).
pub const LEE: &str = "c0ffee00-0000-4000-8000-000000000107";

/// The one-on-one chat between Adele and Alex (Graph's documented example id).
pub const ONE_ON_ONE_CHAT_ID: &str =
    "19:8b081ef6-4792-4def-b2c9-c363a1bf41d5_877192bd-9183-47d3-a74c-8aa0426716cf@unq.gbl.spaces";
/// The meeting chat.
pub const MEETING_CHAT_ID: &str =
    "19:meeting_NjM2ZjA4ZGQtZmVlNS00ZTNiLWE2ZjYtMmI0ZDE3Yzk5ZWUz@thread.v2";

/// The Sales team.
pub const SALES_TEAM_ID: &str = "02bd9fd6-8f93-4758-87c3-1fb73740a315";
/// The Engineering team.
pub const ENGINEERING_TEAM_ID: &str = "6903fa93-605b-43ef-920e-77c4729f8258";
/// The Marketing team.
pub const MARKETING_TEAM_ID: &str = "c0ffee00-0000-4000-8000-0000000007e3";

/// The id of the `n`-th generated group chat of the demo (0-based, below 28).
pub fn group_chat_id(n: usize) -> String {
    format!("19:de0c4a7{n:025x}@thread.v2")
}

const USERS: [(&str, &str, &str); 8] = [
    (ADELE, "adele", "Adele Vance"),
    (ALEX, "alex", "Alex Wilber"),
    (DIEGO, "diego", "Diego Siciliani"),
    (
        "70292a90-d2a7-432c-857e-55db6d8f5cd0",
        "grady",
        "Grady Archie",
    ),
    (
        "c0ffee00-0000-4000-8000-000000000105",
        "isaiah",
        "Isaiah Langer",
    ),
    (
        "c0ffee00-0000-4000-8000-000000000106",
        "johanna",
        "Johanna Lorenz",
    ),
    (LEE, "lee", "Lee Gu"),
    (PAT, "pat", "Pat Jones"),
];

const TOPICS: [&str; 7] = [
    "Project Falcon",
    "Quarterly planning",
    "Design review",
    "On-call",
    "Customer escalations",
    "Release train",
    "Lunch crew",
];

fn chat_id(s: &str) -> ChatId {
    ChatId::new(s).expect("demo chat ids are valid")
}

fn team_id(s: &str) -> TeamId {
    TeamId::new(s).expect("demo team ids are valid")
}

fn app_id(s: &str) -> TeamsAppId {
    TeamsAppId::new(s).expect("demo app ids are valid")
}

fn users() -> Vec<UserSpec> {
    USERS
        .iter()
        .map(|(id, name, display)| {
            let personal = *id == PAT;
            UserSpec {
                id: (*id).to_owned(),
                user_principal_name: if personal {
                    format!("{name}@outlook.example")
                } else {
                    format!("{name}@contoso.example")
                },
                display_name: (*display).to_owned(),
                mail: None,
                user_type: None,
                account_enabled: true,
                personal_account: personal,
                blocked_apps: Vec::new(),
            }
        })
        .collect()
}

fn definition(version: &str, state: PublishingState) -> DefinitionSpec {
    DefinitionSpec {
        version: version.to_owned(),
        publishing_state: state,
        display_name: None,
        short_description: None,
        description: None,
        client_app_id: None,
        resource_specific_permissions: Vec::new(),
        bot_id: None,
        installation_scopes: Vec::new(),
        last_modified_date_time: None,
        created_by: None,
    }
}

fn rsc(name: &str, kind: RscType) -> RscPermission {
    RscPermission {
        permission_value: name.to_owned(),
        permission_type: kind,
    }
}

fn catalog() -> Vec<CatalogAppSpec> {
    let tasks = |version: &str, state, day: u8| DefinitionSpec {
        short_description: Some("Track the team's tasks in chats".to_owned()),
        description: Some(format!(
            "Contoso Tasks {version}: track tasks where you talk."
        )),
        client_app_id: Some(TASKS_CLIENT_APP_ID.to_owned()),
        bot_id: Some("c0ffee00-0000-4000-8000-00000000b07a".to_owned()),
        last_modified_date_time: Some(format!("2024-03-{day:02}T09:00:00Z")),
        created_by: Some(ADELE.to_owned()),
        ..definition(version, state)
    };
    let polls = |version: &str, state, application: bool| DefinitionSpec {
        resource_specific_permissions: {
            let mut list = vec![rsc("OnlineMeeting.ReadBasic.Chat", RscType::Delegated)];
            if application {
                list.push(rsc("ChatMessage.Read.Chat", RscType::Application));
            }
            list
        },
        client_app_id: Some("c0ffee00-0000-4000-8000-0000000009a1".to_owned()),
        ..definition(version, state)
    };
    let standup = |version: &str| DefinitionSpec {
        client_app_id: Some(SELF_APP_CREDENTIALS.client_id.to_owned()),
        bot_id: Some("c0ffee00-0000-4000-8000-0000000005b0".to_owned()),
        ..definition(version, PublishingState::Published)
    };
    vec![
        CatalogAppSpec {
            id: app_id(TASKS_APP_ID),
            external_id: Some(TASKS_EXTERNAL_ID.to_owned()),
            display_name: "Contoso Tasks".to_owned(),
            distribution_method: Distribution::Organization,
            blocked: false,
            app_definitions: vec![
                tasks(TASKS_OLD_VERSION, PublishingState::Published, 1),
                tasks(TASKS_LATEST_VERSION, PublishingState::Published, 15),
                tasks(TASKS_SUBMITTED_VERSION, PublishingState::Submitted, 28),
            ],
        },
        CatalogAppSpec {
            id: app_id(POLLS_APP_ID),
            external_id: Some(POLLS_EXTERNAL_ID.to_owned()),
            display_name: "Contoso Polls".to_owned(),
            distribution_method: Distribution::Organization,
            blocked: false,
            app_definitions: vec![
                polls("1.0.0", PublishingState::Published, false),
                polls("2.0.0", PublishingState::Published, true),
                polls("2.1.0", PublishingState::Rejected, true),
            ],
        },
        CatalogAppSpec {
            id: app_id(STANDUP_APP_ID),
            external_id: Some(STANDUP_EXTERNAL_ID.to_owned()),
            display_name: "Contoso Standup".to_owned(),
            distribution_method: Distribution::Organization,
            blocked: false,
            app_definitions: vec![standup("1.0.0"), standup("1.0.1")],
        },
        CatalogAppSpec {
            id: app_id(PLANNER_APP_ID),
            external_id: None,
            display_name: "Planner".to_owned(),
            distribution_method: Distribution::Store,
            blocked: false,
            app_definitions: vec![definition("2.3.0", PublishingState::Published)],
        },
    ]
}

fn registrations() -> Vec<AppRegistrationSpec> {
    vec![
        AppRegistrationSpec {
            client_id: CREDENTIALS.client_id.to_owned(),
            client_secret: CREDENTIALS.client_secret.to_owned(),
            display_name: "Contoso fleet tool".to_owned(),
            application_permissions: FLEET_PERMISSIONS.iter().map(|p| (*p).to_owned()).collect(),
            selected_teams_apps: Vec::new(),
        },
        AppRegistrationSpec {
            client_id: SELF_APP_CREDENTIALS.client_id.to_owned(),
            client_secret: SELF_APP_CREDENTIALS.client_secret.to_owned(),
            display_name: "Contoso Standup bot".to_owned(),
            application_permissions: vec![
                "TeamsAppInstallation.ReadWriteSelfForChat.All".to_owned(),
            ],
            selected_teams_apps: Vec::new(),
        },
    ]
}

fn grants() -> Vec<DelegatedGrantSpec> {
    let read_write = [
        "TeamsAppInstallation.ReadWriteForChat",
        "TeamsAppInstallation.ReadWriteForTeam",
        "TeamsAppInstallation.ReadWriteForUser",
        "AppCatalog.ReadWrite.All",
        "User.ReadBasic.All",
        "Chat.ReadBasic",
    ];
    let grant = |user: &str, scopes: &[&str]| DelegatedGrantSpec {
        user_id: user.to_owned(),
        client_id: CREDENTIALS.client_id.to_owned(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
    };
    vec![
        grant(ADELE, &read_write),
        grant(
            ALEX,
            &[
                "AppCatalog.Submit",
                "TeamsAppInstallation.ReadForChat",
                "Chat.ReadBasic",
            ],
        ),
        grant(PAT, &read_write),
    ]
}

fn teams() -> Vec<TeamSpec> {
    let team = |id: &str, name: &str, members: &[&str]| TeamSpec {
        id: team_id(id),
        display_name: name.to_owned(),
        description: Some(format!("The {name} team")),
        members: members.iter().map(|m| (*m).to_owned()).collect(),
    };
    vec![
        team(SALES_TEAM_ID, "Sales", &[ADELE, ALEX]),
        team(
            ENGINEERING_TEAM_ID,
            "Engineering",
            &[ADELE, DIEGO, USERS[3].0],
        ),
        team(
            MARKETING_TEAM_ID,
            "Marketing",
            &[ADELE, USERS[4].0, USERS[5].0],
        ),
    ]
}

fn installation(
    scope: InstallationScope,
    scope_id: &str,
    app: &str,
    version: &str,
) -> InstallationSpec {
    InstallationSpec {
        scope,
        scope_id: scope_id.to_owned(),
        teams_app_id: app_id(app),
        version: version.to_owned(),
        id: None,
        consented_permissions: None,
    }
}

fn seed_chat() -> ChatSpec {
    ChatSpec {
        id: chat_id(SEED_CHAT_ID),
        chat_type: ChatKind::Group,
        topic: Some("Contoso Tasks launch".to_owned()),
        members: vec![ADELE.to_owned(), ALEX.to_owned(), USERS[3].0.to_owned()],
        online_meeting_info: None,
        created_date_time: None,
    }
}

fn seed_installation() -> InstallationSpec {
    InstallationSpec {
        id: Some(SEED_INSTALLATION_ID.to_owned()),
        ..installation(
            InstallationScope::Chat,
            SEED_CHAT_ID,
            TASKS_APP_ID,
            TASKS_OLD_VERSION,
        )
    }
}

/// The demo tenant (see the module documentation).
pub fn tenant() -> TenantSpec {
    let mut chats = vec![seed_chat()];
    for n in 0..28 {
        let others = [USERS[1 + n % 5].0, USERS[1 + (n + 2) % 5].0];
        chats.push(ChatSpec {
            id: chat_id(&group_chat_id(n)),
            chat_type: ChatKind::Group,
            topic: Some(format!(
                "{} #{}",
                TOPICS[n % TOPICS.len()],
                n / TOPICS.len() + 1
            )),
            members: std::iter::once(ADELE)
                .chain(others)
                .map(str::to_owned)
                .collect(),
            online_meeting_info: None,
            created_date_time: None,
        });
    }
    chats.push(ChatSpec {
        id: chat_id(ONE_ON_ONE_CHAT_ID),
        chat_type: ChatKind::OneOnOne,
        topic: None,
        members: vec![ADELE.to_owned(), ALEX.to_owned()],
        online_meeting_info: None,
        created_date_time: None,
    });
    chats.push(ChatSpec {
        id: chat_id(MEETING_CHAT_ID),
        chat_type: ChatKind::Meeting,
        topic: Some("Contoso Tasks weekly sync".to_owned()),
        members: vec![ADELE.to_owned(), ALEX.to_owned(), DIEGO.to_owned()],
        online_meeting_info: Some(OnlineMeetingSpec {
            join_web_url: format!(
                "https://teams.microsoft.com/l/meetup-join/{}/0?context=%7b%22Tid%22%3a%22{TENANT_ID}%22%7d",
                teamsapp_types::operation::encode_path_segment(MEETING_CHAT_ID)
            ),
            calendar_event_id: None,
        }),
        created_date_time: None,
    });

    let mut installations = vec![seed_installation()];
    for chat in chats.iter().skip(1) {
        installations.push(installation(
            InstallationScope::Chat,
            chat.id.as_str(),
            TASKS_APP_ID,
            TASKS_OLD_VERSION,
        ));
    }
    for team in [SALES_TEAM_ID, ENGINEERING_TEAM_ID, MARKETING_TEAM_ID] {
        installations.push(installation(
            InstallationScope::Team,
            team,
            TASKS_APP_ID,
            TASKS_OLD_VERSION,
        ));
    }
    for (user, _, _) in &USERS[..6] {
        installations.push(installation(
            InstallationScope::User,
            user,
            TASKS_APP_ID,
            TASKS_OLD_VERSION,
        ));
    }
    for n in 0..3 {
        installations.push(installation(
            InstallationScope::Chat,
            &group_chat_id(n),
            POLLS_APP_ID,
            "1.0.0",
        ));
    }
    for n in 3..5 {
        installations.push(installation(
            InstallationScope::Chat,
            &group_chat_id(n),
            STANDUP_APP_ID,
            "1.0.0",
        ));
    }
    installations.push(installation(
        InstallationScope::Team,
        ENGINEERING_TEAM_ID,
        PLANNER_APP_ID,
        "2.3.0",
    ));

    TenantSpec {
        format_version: None,
        snapshot: None,
        tenant_id: TENANT_ID.to_owned(),
        display_name: "Contoso".to_owned(),
        users: users(),
        chats,
        teams: teams(),
        app_registrations: registrations(),
        delegated_grants: grants(),
        catalog: catalog(),
        installations,
    }
}

/// The id of the `n`-th chat of a [`fleet`] tenant (`n ≥ 1`; chat 0 is the seed's chat).
pub fn fleet_chat_id(n: usize) -> String {
    // By hand, not `format!("19:f1ee7{n:027x}@thread.v2")`: a million of these are most of the
    // cost of building `fleet(1_000_000)`.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = String::with_capacity(45);
    id.push_str("19:f1ee7");
    let n = n as u128;
    for shift in (0..27u32).rev() {
        let nibble = usize::try_from((n >> (shift * 4)) & 0xf).unwrap_or(0);
        id.push(char::from(HEX[nibble]));
    }
    id.push_str("@thread.v2");
    id
}

/// From this many installations on, [`fleet`] builds its chats on every core.
const PARALLEL_FLEET: usize = 50_000;

/// The fleet's chats and installations `range` (ids [`fleet_chat_id`]`(i)`), in order.
fn fleet_range(range: std::ops::Range<usize>) -> (Vec<ChatSpec>, Vec<InstallationSpec>) {
    let mut chats = Vec::with_capacity(range.len());
    let mut installations = Vec::with_capacity(range.len());
    let tasks = app_id(TASKS_APP_ID);
    for i in range {
        let id = fleet_chat_id(i);
        let chat = ChatId::new(id.clone()).expect("fleet chat ids are valid");
        installations.push(InstallationSpec {
            scope: InstallationScope::Chat,
            scope_id: id,
            teams_app_id: tasks.clone(),
            version: TASKS_OLD_VERSION.to_owned(),
            id: None,
            consented_permissions: None,
        });
        chats.push(ChatSpec {
            id: chat,
            chat_type: ChatKind::Group,
            topic: None,
            members: vec![ADELE.to_owned()],
            online_meeting_info: None,
            created_date_time: None,
        });
    }
    (chats, installations)
}

/// A tenant with `n` installations of Contoso Tasks 1.0.0, one per group chat, for tests and
/// benchmarks (10k to 1M). It has the demo's users, teams, app registrations, grants and catalog;
/// its first chat is the seed's chat with the seed's installation (so the documented request
/// works on it too), and the others are [`fleet_chat_id`]`(1..n)`, each with Adele as member.
/// Building it costs a few allocations per installation.
pub fn fleet(n: usize) -> TenantSpec {
    let mut chats = Vec::with_capacity(n);
    let mut installations = Vec::with_capacity(n);
    if n > 0 {
        chats.push(seed_chat());
        installations.push(seed_installation());
    }
    // Large fleets are built on every core, in ranges appended in order (the same spec as one
    // thread builds): generating a million chats was a third of `mock serve --fleet 1000000`'s
    // start-up.
    let parts = if n >= PARALLEL_FLEET {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    } else {
        1
    }
    .clamp(1, 8);
    let bounds: Vec<usize> = (0..=parts)
        .map(|k| 1 + (n.saturating_sub(1)) * k / parts)
        .collect();
    let ranges: Vec<std::ops::Range<usize>> = bounds.windows(2).map(|w| w[0]..w[1]).collect();
    let built: Vec<(Vec<ChatSpec>, Vec<InstallationSpec>)> = if parts == 1 {
        ranges.into_iter().map(fleet_range).collect()
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = ranges
                .into_iter()
                .map(|range| scope.spawn(move || fleet_range(range)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        })
    };
    for (mut c, mut i) in built {
        chats.append(&mut c);
        installations.append(&mut i);
    }
    TenantSpec {
        format_version: None,
        snapshot: None,
        tenant_id: TENANT_ID.to_owned(),
        display_name: "Contoso (fleet)".to_owned(),
        users: users(),
        chats,
        teams: teams(),
        app_registrations: registrations(),
        delegated_grants: grants(),
        catalog: catalog(),
        installations,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_fleet_built_in_parallel_is_the_fleet_built_in_order() {
        let n = super::PARALLEL_FLEET + 7;
        let fleet = super::fleet(n);
        assert_eq!(fleet.chats.len(), n);
        assert_eq!(fleet.installations.len(), n);
        assert_eq!(fleet.chats[0].id.as_str(), super::SEED_CHAT_ID);
        for (i, (chat, installation)) in fleet
            .chats
            .iter()
            .zip(&fleet.installations)
            .enumerate()
            .skip(1)
        {
            let id = super::fleet_chat_id(i);
            assert_eq!(chat.id.as_str(), id, "chat {i}");
            assert_eq!(installation.scope_id, id, "installation {i}");
        }
        assert_eq!(super::fleet(0).chats.len(), 0);
        assert_eq!(super::fleet(1).chats.len(), 1);
        assert_eq!(
            super::fleet(2).chats[1].id.as_str(),
            super::fleet_chat_id(1)
        );
    }

    #[test]
    fn fleet_chat_ids_are_the_documented_hex_form() {
        for n in [1_usize, 9, 10, 255, 1_000_000, 123_456_789, usize::MAX] {
            assert_eq!(
                super::fleet_chat_id(n),
                format!("19:f1ee7{n:027x}@thread.v2"),
                "n = {n}"
            );
        }
    }
}
