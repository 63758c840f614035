//! Id parsing: every `teamsapp_types::ids` constructor, and the decoders of the opaque ids.
//!
//! Properties checked on every input (any failure is a bug, not only a panic):
//! - a constructor that accepts a value keeps it byte for byte, and `str::parse`, `TryFrom` and
//!   serde agree with it;
//! - `AppInstallationId::decode` / `TeamsAppDefinitionId::decode` return parts that `build` turns
//!   back into an id decoding to the same parts;
//! - `canonical()` is again a valid installation id, idempotent, and `normalized_eq` to the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use teamsapp_types::{AppInstallationId, ChatId, TeamId, TeamsAppDefinitionId, TeamsAppId, UserId};

/// Checks the shared constructor properties of one id type.
macro_rules! check_id {
    ($ty:ty, $s:expr) => {{
        let s: &str = $s;
        let built = <$ty>::new(s);
        if let Ok(id) = &built {
            assert_eq!(id.as_str(), s, "{} changed its input", stringify!($ty));
            assert_eq!(id.to_string(), s);
        }
        let parsed: Result<$ty, _> = s.parse();
        assert_eq!(parsed.is_ok(), built.is_ok(), "FromStr disagrees with new");
        let json = serde_json::to_string(s).expect("a str always serializes");
        let de = serde_json::from_str::<$ty>(&json);
        assert_eq!(de.is_ok(), built.is_ok(), "serde disagrees with new");
        if let (Ok(de), Ok(id)) = (de, &built) {
            assert_eq!(&de, id);
            assert_eq!(serde_json::to_string(&de).unwrap(), json);
        }
        built.ok()
    }};
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };

    if let Some(chat) = check_id!(ChatId, s) {
        let _ = chat.kind();
        if let Some((a, b)) = chat.one_on_one_members() {
            assert!(!a.is_empty() && !b.is_empty());
        }
    }
    check_id!(TeamId, s);
    if let Some(user) = check_id!(UserId, s) {
        assert_ne!(user.is_upn(), user.is_object_id());
    }
    if let Some(app) = check_id!(TeamsAppId, s) {
        let _ = app.is_guid();
    }

    if let Some(definition) = check_id!(TeamsAppDefinitionId, s)
        && let Some(parts) = definition.decode()
    {
        // Graph's own form: the parts build an id that decodes to the same parts (the state's
        // first letter is upper-cased by `build`, so compare it case-insensitively there).
        if let Ok(app) = TeamsAppId::new(parts.teams_app_id.clone()) {
            let rebuilt = TeamsAppDefinitionId::build(&app, &parts.version, parts.state.as_deref())
                .expect("decoded parts must build");
            let again = rebuilt.decode().expect("a built id must decode");
            assert_eq!(again.teams_app_id, parts.teams_app_id);
            assert_eq!(again.version, parts.version);
            assert_eq!(
                again.state.as_deref().map(str::to_ascii_lowercase),
                parts.state.as_deref().map(str::to_ascii_lowercase)
            );
        }
    }

    if let Some(installation) = check_id!(AppInstallationId, s) {
        let canonical = installation.canonical();
        assert!(
            AppInstallationId::new(canonical.as_str()).is_ok(),
            "canonical() gave an invalid id: {canonical:?}"
        );
        assert_eq!(
            canonical.canonical(),
            canonical,
            "canonical() is not idempotent"
        );
        assert!(installation.normalized_eq(&canonical));
        assert!(canonical.normalized_eq(&installation));
        assert_eq!(
            installation.decode(),
            canonical.decode(),
            "spellings decode differently"
        );
        if let Some(parts) = installation.decode() {
            let rebuilt = AppInstallationId::build(&parts.scope_id, &parts.teams_app_id)
                .expect("decoded parts must build");
            assert_eq!(rebuilt.decode().as_ref(), Some(&parts));
            assert!(
                rebuilt.normalized_eq(&installation),
                "build(decode(id)) is another id"
            );
        }
    }

    // Split at the first "##" and try to build both kinds of opaque id from the halves: whatever
    // `build` accepts must decode back to what it was given.
    if let Some((scope, app)) = s.split_once("##") {
        if let Ok(id) = AppInstallationId::build(scope, app) {
            let parts = id.decode().expect("a built installation id must decode");
            assert_eq!(parts.scope_id, scope);
            assert_eq!(parts.teams_app_id, app);
            assert!(AppInstallationId::new(id.as_str()).is_ok());
        }
        let (version, state) = match app.split_once("##") {
            Some((v, st)) => (v, Some(st)),
            None => (app, None),
        };
        if let Ok(app_id) = TeamsAppId::new(scope)
            && let Ok(id) = TeamsAppDefinitionId::build(&app_id, version, state)
        {
            let parts = id.decode().expect("a built definition id must decode");
            assert_eq!(parts.teams_app_id, scope);
            assert_eq!(parts.version, version);
            assert!(TeamsAppDefinitionId::new(id.as_str()).is_ok());
        }
    }
});
