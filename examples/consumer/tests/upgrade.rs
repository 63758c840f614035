//! Fabrikam's tests: its Graph code against the teamsapp emulator, as any app developer would
//! write them. Each builds its tenant in code, starts an emulator, runs the code, and asserts on
//! what the emulator received and on the state the code left.

use fabrikam_upgrader::{Error, Upgrader};
use teamsapp_mock::teamsapp_model::spec::{
    AppRegistrationSpec, CatalogAppSpec, ChatSpec, InstallationSpec, TenantSpec, UserSpec,
};
use teamsapp_mock::teamsapp_types::{ListChatInstalledApps, UpgradeChatApp};
use teamsapp_mock::{Emulator, RateLimit, Scenario, ScenarioMatch, ThrottleConfig};

const TENANT: &str = "fab00000-0000-4000-8000-000000000001";
const APP: &str = "fab00000-0000-4000-8000-0000000000a1";
const CLIENT: &str = "fab00000-0000-4000-8000-00000000c11e";
const READER: &str = "fab00000-0000-4000-8000-00000000ead0";
const SECRET: &str = "fabrikam-test-secret";
const MEGAN: &str = "fab00000-0000-4000-8000-000000000111";
const CHATS: [&str; 3] = [
    "19:fab0000000000000000000000000c001@thread.v2",
    "19:fab0000000000000000000000000c002@thread.v2",
    "19:fab0000000000000000000000000c003@thread.v2",
];

/// Fabrikam: three chats with Fabrikam Notes 1.0.0 (1.2.0 is the latest), our service's
/// registration, and a read-only one.
fn fabrikam() -> TenantSpec {
    let mut tenant = TenantSpec::new(TENANT, "Fabrikam");
    tenant
        .users
        .push(UserSpec::new(MEGAN, "megan@fabrikam.example", "Megan Bowen"));
    tenant.app_registrations.push(AppRegistrationSpec::new(
        CLIENT,
        SECRET,
        "Fabrikam upgrader",
        ["TeamsAppInstallation.ReadWriteForChat.All"],
    ));
    tenant.app_registrations.push(AppRegistrationSpec::new(
        READER,
        SECRET,
        "Fabrikam dashboard",
        ["TeamsAppInstallation.ReadForChat.All"],
    ));
    tenant.catalog.push(
        CatalogAppSpec::organization(APP, "Fabrikam Notes", ["1.0.0", "1.1.0", "1.2.0"]).unwrap(),
    );
    for (i, chat) in CHATS.iter().enumerate() {
        tenant
            .chats
            .push(ChatSpec::group(chat, format!("Project {i}"), [MEGAN]).unwrap());
        tenant
            .installations
            .push(InstallationSpec::chat(chat, APP, "1.0.0").unwrap());
    }
    tenant
}

async fn sign_in(emulator: &Emulator, client_id: &str) -> Upgrader {
    Upgrader::sign_in(
        &emulator.graph_url(),
        &emulator.token_url(TENANT),
        client_id,
        SECRET,
    )
    .await
    .expect("the emulator issues a token for the registration")
}

/// Upgrades every outdated chat; returns how many.
async fn upgrade_all(upgrader: &Upgrader) -> Result<usize, Error> {
    let mut upgraded = 0;
    for chat in CHATS {
        if let Some(installation) = upgrader.outdated_in_chat(chat, APP, "1.2.0").await? {
            upgrader.upgrade_in_chat(chat, &installation).await?;
            upgraded += 1;
        }
    }
    Ok(upgraded)
}

#[tokio::test]
async fn upgrades_every_outdated_chat_once() {
    let emulator = Emulator::builder()
        .tenant(fabrikam())
        .without_throttling()
        .start()
        .await
        .unwrap();
    let upgrader = sign_in(&emulator, CLIENT).await;

    assert_eq!(upgrade_all(&upgrader).await.unwrap(), 3);
    // A second pass finds nothing left to do: the emulator kept the upgrades.
    assert_eq!(upgrade_all(&upgrader).await.unwrap(), 0);

    let upgrades = emulator.received::<UpgradeChatApp>();
    assert_eq!(upgrades.len(), 3);
    assert!(upgrades.iter().all(|r| r.status == 204), "{upgrades:?}");
    assert!(upgrades.iter().all(|r| r.app.as_deref() == Some(CLIENT)));
    assert_eq!(emulator.received::<ListChatInstalledApps>().len(), 6);
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_scripted_outage_is_retried_after_its_retry_after() {
    let emulator = Emulator::builder()
        .tenant(fabrikam())
        .without_throttling()
        // Graph is unavailable for the first upgrade in the second chat only.
        .scenario(
            Scenario::new(
                ScenarioMatch::of::<UpgradeChatApp>().param("chat-id", CHATS[1]),
                503,
            )
            .times(1)
            .retry_after(0),
        )
        .start()
        .await
        .unwrap();
    let upgrader = sign_in(&emulator, CLIENT).await;

    assert_eq!(upgrade_all(&upgrader).await.unwrap(), 3);

    let statuses: Vec<u16> = emulator
        .received::<UpgradeChatApp>()
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [204, 503, 204, 204]);
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn throttling_at_the_limit_is_ridden_out() {
    // One write per second, no burst beyond it: the second upgrade in a row is throttled.
    let limit = RateLimit::per_second(1.0);
    let emulator = Emulator::builder()
        .tenant(fabrikam())
        .throttle(ThrottleConfig {
            enabled: true,
            read: RateLimit::per_second(1000.0),
            write: limit,
            patch: limit,
            delete: limit,
            // Limits added in later versions keep their defaults.
            ..ThrottleConfig::default()
        })
        .start()
        .await
        .unwrap();
    let upgrader = sign_in(&emulator, CLIENT).await;

    assert_eq!(upgrade_all(&upgrader).await.unwrap(), 3);

    let upgrades = emulator.received::<UpgradeChatApp>();
    let throttled = upgrades.iter().filter(|r| r.status == 429).count();
    let done = upgrades.iter().filter(|r| r.status == 204).count();
    assert!(throttled >= 1, "{upgrades:?}");
    assert_eq!(done, 3);
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_registration_without_the_permission_is_refused_and_nothing_changes() {
    let emulator = Emulator::builder()
        .tenant(fabrikam())
        .without_throttling()
        .start()
        .await
        .unwrap();
    let reader = sign_in(&emulator, READER).await;

    let err = upgrade_all(&reader).await.unwrap_err();
    let Error::Graph { status, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*status, 403, "{err}");

    // The service with the right permission still finds all three outdated.
    let upgrader = sign_in(&emulator, CLIENT).await;
    assert_eq!(upgrade_all(&upgrader).await.unwrap(), 3);
    emulator.shutdown().await.unwrap();
}
