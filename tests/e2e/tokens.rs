//! Token flows through the emulator's own identity platform: client credentials, the device code
//! flow approved through the admin API or automatically, and the CLI's `auth` commands as a real
//! process with its token cache.

use base64::Engine as _;
use serde_json::Value;
use teamsapp_client::{Client, ClientSecretCredential, DeviceCodeCredential, ListQuery, Scope};
use teamsapp_e2e::{TestEmulator, demo_config, teamsapp_command};
use teamsapp_model::demo;
use teamsapp_types::{AppInstallationId, ChatId};

/// The claims of a JWT, unverified.
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a compact JWS");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url claims");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

fn seed_chat() -> Scope {
    Scope::Chat(ChatId::new(demo::SEED_CHAT_ID).unwrap())
}

#[tokio::test]
async fn client_credentials_are_issued_once_and_cached() {
    let emulator = TestEmulator::demo().await;
    let app = emulator.app_client();
    for _ in 0..3 {
        app.installed_apps(&seed_chat(), &ListQuery::new())
            .await
            .unwrap();
    }
    let metrics = emulator.admin().metrics().await;
    assert_eq!(metrics["tokensIssued"], 1, "the token is cached: {metrics}");

    let token = app.access_token().await.unwrap();
    let claims = claims(secrecy::ExposeSecret::expose_secret(token.secret()));
    assert_eq!(claims["tid"], demo::TENANT_ID);
    assert_eq!(claims["appid"], demo::CREDENTIALS.client_id, "{claims}");
    let roles: Vec<&str> = claims["roles"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for permission in demo::FLEET_PERMISSIONS {
        assert!(
            roles.contains(permission),
            "{permission} missing from {roles:?}"
        );
    }

    // A wrong secret is refused by the token endpoint; no Graph request is made.
    let before = emulator.admin().metrics().await["requestsTotal"].clone();
    let wrong = emulator
        .client_builder()
        .credential(
            ClientSecretCredential::new(
                demo::CREDENTIALS.tenant_id,
                demo::CREDENTIALS.client_id,
                "not the secret",
            )
            .with_authority(emulator.authority()),
        )
        .build()
        .unwrap();
    let err = wrong
        .installed_apps(&seed_chat(), &ListQuery::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("invalid_client"), "{err}");
    assert_eq!(emulator.admin().metrics().await["requestsTotal"], before);
    emulator.finish().await;
}

#[tokio::test]
async fn device_code_approved_through_the_admin_api_signs_a_user_in() {
    let emulator = TestEmulator::demo().await;

    // Adele reads and upgrades in a chat she is a member of.
    let adele = emulator.delegated_client(demo::ADELE);
    let token = adele.access_token().await.unwrap();
    let claims = claims(secrecy::ExposeSecret::expose_secret(token.secret()));
    assert_eq!(claims["oid"], demo::ADELE, "{claims}");
    assert!(
        claims["scp"]
            .as_str()
            .is_some_and(|s| s.contains("TeamsAppInstallation.ReadWriteForChat")),
        "{claims}"
    );
    let installation = AppInstallationId::new(demo::SEED_INSTALLATION_ID).unwrap();
    adele
        .upgrade(&seed_chat(), &installation, None)
        .await
        .unwrap();

    // Alex may only read: his upgrade is Graph's 403.
    let alex = emulator.delegated_client(demo::ALEX);
    let chats = alex
        .installed_apps(
            &Scope::Chat(ChatId::new(demo::ONE_ON_ONE_CHAT_ID).unwrap()),
            &ListQuery::new(),
        )
        .await
        .unwrap();
    let one_on_one = chats[0].id.clone().unwrap();
    let err = alex
        .upgrade(
            &Scope::Chat(ChatId::new(demo::ONE_ON_ONE_CHAT_ID).unwrap()),
            &AppInstallationId::new(one_on_one).unwrap(),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(http::StatusCode::FORBIDDEN), "{err}");
    emulator.finish().await;
}

#[tokio::test]
async fn device_code_can_be_approved_automatically() {
    let mut config = demo_config();
    config.device_codes.auto_approve = true;
    config.device_codes.auto_approve_user = Some(demo::ADELE.to_owned());
    let emulator = TestEmulator::start(config).await;
    let prompted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = prompted.clone();
    let credential = DeviceCodeCredential::new(
        demo::CREDENTIALS.tenant_id,
        demo::CREDENTIALS.client_id,
        move |prompt| {
            assert!(!prompt.user_code.is_empty());
            seen.store(true, std::sync::atomic::Ordering::SeqCst);
        },
    )
    .with_authority(emulator.authority());
    let client: Client = emulator
        .client_builder()
        .credential(credential)
        .build()
        .unwrap();
    let apps = client
        .installed_apps(&seed_chat(), &ListQuery::new())
        .await
        .unwrap();
    assert!(!apps.is_empty());
    assert!(prompted.load(std::sync::atomic::Ordering::SeqCst));
    emulator.finish().await;
}

/// `teamsapp auth login --device-code`, `auth token`, a command that uses the cached token, and
/// `auth logout`, as real processes against the emulator.
#[tokio::test]
async fn the_cli_signs_in_with_a_device_code_and_caches_the_token() {
    let mut config = demo_config();
    config.device_codes.auto_approve = true;
    config.device_codes.auto_approve_user = Some(demo::ADELE.to_owned());
    let emulator = TestEmulator::start(config).await;
    let home = tempfile::tempdir().unwrap();
    let aim = [
        "--base-url".to_owned(),
        emulator.graph_url(),
        "--authority".to_owned(),
        emulator.authority().to_owned(),
        "--tenant".to_owned(),
        demo::CREDENTIALS.tenant_id.to_owned(),
        "-o".to_owned(),
        "json".to_owned(),
    ];
    let run = |args: Vec<String>| {
        let mut command = teamsapp_command(home.path());
        command.args(&aim).args(args);
        async move {
            let out = tokio::task::spawn_blocking(move || command.output())
                .await
                .unwrap()
                .expect("runs teamsapp");
            assert!(
                out.status.success(),
                "exit {:?}\nstdout: {}\nstderr: {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
    };
    let login = run(vec![
        "--client-id".into(),
        demo::CREDENTIALS.client_id.into(),
        "auth".into(),
        "login".into(),
        "--device-code".into(),
    ])
    .await;
    let login: Value = serde_json::from_str(&login).unwrap();
    assert_eq!(login["result"], "signed in", "{login}");
    let cache = home.path().join("token.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cache).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the token cache is for its owner only");
    }
    let token = run(vec!["auth".into(), "token".into()]).await;
    assert_eq!(claims(token.trim())["oid"], demo::ADELE);

    // A command without credentials uses the cached token.
    let listed = run(vec![
        "chat".into(),
        "apps".into(),
        "list".into(),
        demo::SEED_CHAT_ID.into(),
    ])
    .await;
    assert!(listed.contains("Contoso Tasks"), "{listed}");

    let logout: Value =
        serde_json::from_str(&run(vec!["auth".into(), "logout".into()]).await).unwrap();
    assert_eq!(logout["result"], "signed out");
    assert!(!cache.exists());
    emulator.finish().await;
}
