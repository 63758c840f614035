use super::*;
use proptest::prelude::*;

const SEED_CHAT: &str = "19:ea28e88c00e94c7786b065394a61f296@thread.v2";
const ONE_ON_ONE_CHAT: &str =
    "19:8b081ef6-4792-4def-b2c9-c363a1bf41d5_877192bd-9183-47d3-a74c-8aa0426716cf@unq.gbl.spaces";
const SEED_INSTALLATION: &str = "NjRiOWM3NDYtYjE1NS00MDQyLThkNDctOTQxYmQzODE2ODFiIyMwZDgyMGVjZC1kZWYyLTQyOTctYWRhZC03ODA1NmNkZTdjNzg=";
const CHAT_INSTALLATION: &str = "MTk6ZDY1NzEzYmM0OThjNGE0MjhjNzFlZjkzNTNlNmNlMjBAdGhyZWFkLnYyIyMwMDAwMTAxNi1kZTA1LTQ5MmUtOTEwNi00ODI4ZmM4YTg2ODc=";

fn reason<T: fmt::Debug>(result: Result<T, Error>) -> &'static str {
    match result {
        Err(Error::InvalidId { reason, .. }) => reason,
        other => panic!("expected InvalidId, got {other:?}"),
    }
}

// --- chat ids ------------------------------------------------------------------------------

#[test]
fn seed_chat_id_is_a_group_chat() {
    let id = ChatId::new(SEED_CHAT).unwrap();
    assert_eq!(id.as_str(), SEED_CHAT);
    assert_eq!(id.kind(), ChatIdKind::Group);
    assert_eq!(id.one_on_one_members(), None);
    assert_eq!(id.to_string(), SEED_CHAT);
}

#[test]
fn chat_id_forms() {
    let meeting =
        ChatId::new("19:meeting_NjRhYjE1NzMtOTc4Ni00NDgzLWI5OTQtODdlNzFkMTZmNGE3@thread.v2")
            .unwrap();
    assert_eq!(meeting.kind(), ChatIdKind::Meeting);

    let one = ChatId::new(ONE_ON_ONE_CHAT).unwrap();
    assert_eq!(one.kind(), ChatIdKind::OneOnOne);
    assert_eq!(
        one.one_on_one_members(),
        Some((
            "8b081ef6-4792-4def-b2c9-c363a1bf41d5",
            "877192bd-9183-47d3-a74c-8aa0426716cf"
        ))
    );

    let legacy = ChatId::new("19:abcdef0123456789@thread.skype").unwrap();
    assert_eq!(legacy.kind(), ChatIdKind::Group);
}

#[test]
fn chat_id_rejections() {
    assert_eq!(reason(ChatId::new("")), EMPTY);
    assert_eq!(
        reason(ChatId::new("ea28@thread.v2")),
        r#"must start with "19:""#
    );
    assert!(reason(ChatId::new("19%3Aea28%40thread.v2")).contains("percent-encoded"));
    assert!(reason(ChatId::new("19:ea28")).starts_with("must end with"));
    assert!(reason(ChatId::new("19:ea28@thread.tacv2")).starts_with("must end with"));
    assert!(reason(ChatId::new("19:@thread.v2")).contains("thread id"));
    assert_eq!(reason(ChatId::new("19:a b@thread.v2")), WHITESPACE);
    assert_eq!(reason(ChatId::new("19:a\u{0}b@thread.v2")), WHITESPACE);
    for bad in ["19:a/b@thread.v2", "19:a?b@thread.v2", "19:a#b@thread.v2"] {
        assert!(
            reason(ChatId::new(bad)).starts_with("must not contain"),
            "{bad}"
        );
    }
    assert!(reason(ChatId::new("19:a@b@thread.v2")).contains("exactly one"));
    let long = format!("19:{}@thread.v2", "a".repeat(250));
    assert!(reason(ChatId::new(long)).contains("256"));
    assert!(reason(ChatId::new("19:abc_def@unq.gbl.spaces")).contains("one-on-one"));
    assert!(
        reason(ChatId::new(
            "19:8b081ef6-4792-4def-b2c9-c363a1bf41d5@unq.gbl.spaces"
        ))
        .contains("one-on-one")
    );
}

#[test]
fn chat_id_error_message() {
    let err = ChatId::new("foo").unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"invalid chat id "foo": must start with "19:""#
    );
}

// --- team and user ids ---------------------------------------------------------------------

#[test]
fn team_ids_are_guids() {
    let id = TeamId::new("6903FA93-605b-43ef-920e-77c4729f8258").unwrap();
    assert_eq!(id.as_str(), "6903FA93-605b-43ef-920e-77c4729f8258");
    assert_eq!(reason(TeamId::new("")), EMPTY);
    for bad in [
        "6903fa93605b43ef920e77c4729f8258",
        "{6903fa93-605b-43ef-920e-77c4729f8258}",
        "6903fa93-605b-43ef-920e-77c4729f825g",
        "6903fa93-605b-43ef-920e-77c4729f82588",
    ] {
        assert!(reason(TeamId::new(bad)).contains("GUID"), "{bad}");
    }
}

#[test]
fn user_ids() {
    let oid = UserId::new("5b649834-7412-4cce-9e69-176e95a394f5").unwrap();
    assert!(oid.is_object_id() && !oid.is_upn());
    let upn = UserId::new("adele.vance@contoso.onmicrosoft.com").unwrap();
    assert!(upn.is_upn() && !upn.is_object_id());
    assert!(UserId::new("alice_contoso.com#EXT#@fabrikam.onmicrosoft.com").is_ok());

    assert_eq!(reason(UserId::new("")), EMPTY);
    assert!(reason(UserId::new("adele")).contains("user principal name"));
    assert!(reason(UserId::new("a@b@c.com")).contains("exactly one"));
    assert!(reason(UserId::new("@contoso.com")).contains("name before"));
    for bad in ["a@", "a@contoso", "a@.com", "a@contoso.", "a@contoso..com"] {
        assert!(reason(UserId::new(bad)).contains("domain"), "{bad}");
    }
    assert_eq!(reason(UserId::new("a b@contoso.com")), WHITESPACE);
    assert!(reason(UserId::new("a/b@contoso.com")).starts_with("must not contain"));
    assert!(reason(UserId::new("a?b@contoso.com")).starts_with("must not contain"));
    let long = format!("{}@contoso.com", "a".repeat(250));
    assert!(reason(UserId::new(long)).contains("256"));
}

// --- teams app ids -------------------------------------------------------------------------

#[test]
fn teams_app_ids() {
    let guid = TeamsAppId::new("0d820ecd-def2-4297-adad-78056cde7c78").unwrap();
    assert!(guid.is_guid());
    let store = TeamsAppId::new("com.microsoft.teamspace.tab.planner").unwrap();
    assert!(!store.is_guid());
    assert!(TeamsAppId::new("a".repeat(128)).is_ok());

    assert_eq!(reason(TeamsAppId::new("")), EMPTY);
    assert!(reason(TeamsAppId::new("a".repeat(129))).contains("128"));
    assert_eq!(reason(TeamsAppId::new("a b")), WHITESPACE);
    for bad in ["a/b", "a#b", "a?b", "a:b", "é"] {
        assert!(
            reason(TeamsAppId::new(bad)).contains("ASCII letters"),
            "{bad}"
        );
    }
    assert_eq!(reason(TeamsAppId::new("..")), DOT_SEGMENT);
}

// --- app definition ids --------------------------------------------------------------------

#[test]
fn decodes_documented_definition_ids() {
    let cases = [
        (
            "MDAwMDEwMTYtZGUwNS00OTJlLTkxMDYtNDgyOGZjOGE4Njg3IyMxLjAuMiMjUHVibGlzaGVk",
            "00001016-de05-492e-9106-4828fc8a8687",
            "1.0.2",
            Some("Published"),
        ),
        (
            "OGExZWQ3YTMtNWM3OC00NmIyLTg1MDQtZjlkYTAwYTFkMWE2IyMxLjAuOSMjUmVqZWN0ZWQ=",
            "8a1ed7a3-5c78-46b2-8504-f9da00a1d1a6",
            "1.0.9",
            Some("Rejected"),
        ),
        (
            "YTUyMjhjMjYtYTlhZS00NzAyLTkwZTAtNzlhNTI0NmQyZjdkIyMxLjAuMCMjUHVibGlzaGVk",
            "a5228c26-a9ae-4702-90e0-79a5246d2f7d",
            "1.0.0",
            Some("Published"),
        ),
    ];
    for (encoded, app, version, state) in cases {
        let id = TeamsAppDefinitionId::new(encoded).unwrap();
        let decoded = id.decode().unwrap();
        assert_eq!(
            decoded,
            DecodedDefinitionId {
                teams_app_id: app.to_owned(),
                version: version.to_owned(),
                state: state.map(str::to_owned),
            }
        );
        let app = TeamsAppId::new(app).unwrap();
        let rebuilt = TeamsAppDefinitionId::build(&app, version, state).unwrap();
        // Graph pads; the first and third examples need no padding.
        assert_eq!(rebuilt.as_str(), encoded);
    }
}

#[test]
fn definition_build_forms() {
    let app = TeamsAppId::new("a761ad07-22ef-4a53-9feb-2837c8ad4a84").unwrap();
    let submitted = TeamsAppDefinitionId::build(&app, "1.1.8", Some("submitted")).unwrap();
    assert_eq!(
        submitted.decode().unwrap().state.as_deref(),
        Some("Submitted")
    );
    let old = TeamsAppDefinitionId::build(&app, "6.0.0", None).unwrap();
    let decoded = old.decode().unwrap();
    assert_eq!((decoded.version.as_str(), decoded.state), ("6.0.0", None));
    assert!(reason(TeamsAppDefinitionId::build(&app, "", None)).contains("version"));
    assert!(reason(TeamsAppDefinitionId::build(&app, "1#2", None)).contains("version"));
    assert!(reason(TeamsAppDefinitionId::build(&app, "1", Some(""))).contains("state"));
    let long = "1".repeat(800);
    assert!(reason(TeamsAppDefinitionId::build(&app, &long, None)).contains("1024"));
}

#[test]
fn definition_decode_rejects_other_shapes() {
    for text in ["a", "a##", "##b", "a##b##c##d", "a###b", "a##b##"] {
        let id = TeamsAppDefinitionId::new(STANDARD.encode(text)).unwrap();
        assert_eq!(id.decode(), None, "{text}");
    }
    assert_eq!(
        TeamsAppDefinitionId::new("not-base64!").unwrap().decode(),
        None
    );
}

// --- app installation ids ------------------------------------------------------------------

#[test]
fn decodes_and_builds_the_seed_installation_id() {
    let id = AppInstallationId::new(SEED_INSTALLATION).unwrap();
    let decoded = id.decode().unwrap();
    assert_eq!(decoded.scope_id, "64b9c746-b155-4042-8d47-941bd381681b");
    assert_eq!(decoded.teams_app_id, "0d820ecd-def2-4297-adad-78056cde7c78");
    let built = AppInstallationId::build(&decoded.scope_id, &decoded.teams_app_id).unwrap();
    assert_eq!(built.as_str(), SEED_INSTALLATION);
    assert_eq!(built, id);
}

#[test]
fn decodes_the_chat_installation_id() {
    let decoded = AppInstallationId::new(CHAT_INSTALLATION)
        .unwrap()
        .decode()
        .unwrap();
    assert_eq!(
        decoded,
        DecodedInstallationId {
            scope_id: "19:d65713bc498c4a428c71ef9353e6ce20@thread.v2".to_owned(),
            teams_app_id: "00001016-de05-492e-9106-4828fc8a8687".to_owned(),
        }
    );
    assert!(ChatId::new(decoded.scope_id).is_ok());
    let built = AppInstallationId::build(
        "19:d65713bc498c4a428c71ef9353e6ce20@thread.v2",
        "00001016-de05-492e-9106-4828fc8a8687",
    )
    .unwrap();
    assert_eq!(built.as_str(), CHAT_INSTALLATION);
}

#[test]
fn unpadded_user_scope_id() {
    let padded = AppInstallationId::build(
        "5b649834-7412-4cce-9e69-176e95a394f5",
        "a6b63365-31a4-4f43-92ec-710b71557af9",
    )
    .unwrap();
    assert!(padded.as_str().ends_with('='));
    let unpadded = AppInstallationId::new(padded.as_str().trim_end_matches('=')).unwrap();
    assert_ne!(padded, unpadded);
    let decoded = unpadded.decode().unwrap();
    assert_eq!(decoded.scope_id, "5b649834-7412-4cce-9e69-176e95a394f5");
    assert_eq!(decoded.teams_app_id, "a6b63365-31a4-4f43-92ec-710b71557af9");
    assert_eq!(unpadded.canonical(), padded);
    assert_eq!(padded.canonical(), padded);
    assert!(unpadded.normalized_eq(&padded) && padded.normalized_eq(&unpadded));
}

#[test]
fn url_safe_spelling_normalizes() {
    // Bytes chosen so that standard base64 contains "+" and "/".
    let standard = AppInstallationId::build("a>>>b", "c???d").unwrap();
    assert!(standard.as_str().contains(['+', '/']), "{standard}");
    let url_safe = standard
        .as_str()
        .replace('+', "-")
        .replace('/', "_")
        .replace('=', "");
    let url_safe = AppInstallationId::new(url_safe).unwrap();
    assert_eq!(url_safe.decode(), standard.decode());
    assert_eq!(url_safe.canonical(), standard);
}

#[test]
fn installation_decode_rejects_other_shapes() {
    for text in ["ab", "a##", "##b", "a##b##c", "a###b"] {
        let id = AppInstallationId::new(STANDARD.encode(text)).unwrap();
        assert_eq!(id.decode(), None, "{text}");
    }
    for raw in ["x", "not-base64!", "=", "====", "YQ", "/w=="] {
        let id = AppInstallationId::new(raw).unwrap();
        assert_eq!(id.decode(), None, "{raw}");
        let _ = id.canonical();
    }
    assert_eq!(
        AppInstallationId::new("not-base64!")
            .unwrap()
            .canonical()
            .as_str(),
        "not-base64!"
    );
}

#[test]
fn installation_build_rejections() {
    assert!(reason(AppInstallationId::build("", "b")).contains("scope id"));
    assert!(reason(AppInstallationId::build("a#", "b")).contains("scope id"));
    assert!(reason(AppInstallationId::build("a##c", "b")).contains("scope id"));
    assert!(reason(AppInstallationId::build("a", "")).contains("teams app id"));
    assert!(reason(AppInstallationId::build("a", "#b")).contains("teams app id"));
    assert!(reason(AppInstallationId::build(&"a".repeat(800), "b")).contains("1024"));
    assert!(AppInstallationId::build(&"a".repeat(765), "b").is_ok());
}

#[test]
fn opaque_id_rejections() {
    assert_eq!(reason(AppInstallationId::new("")), EMPTY);
    assert_eq!(reason(AppInstallationId::new("ab c")), WHITESPACE);
    assert_eq!(reason(AppInstallationId::new(".")), DOT_SEGMENT);
    assert!(reason(TeamsAppDefinitionId::new("a".repeat(1025))).contains("1024"));
    assert!(TeamsAppDefinitionId::new("a".repeat(1024)).is_ok());
}

// --- serde and conversions -----------------------------------------------------------------

#[test]
fn serde_is_a_plain_string_and_validates() {
    let id = ChatId::new(SEED_CHAT).unwrap();
    let json = serde_json::to_string(&id).unwrap();
    assert_eq!(json, format!("\"{SEED_CHAT}\""));
    assert_eq!(serde_json::from_str::<ChatId>(&json).unwrap(), id);
    let err = serde_json::from_str::<ChatId>("\"foo\"").unwrap_err();
    assert!(
        err.to_string().contains(r#"invalid chat id "foo""#),
        "{err}"
    );
    assert!(serde_json::from_str::<TeamId>("42").is_err());
}

#[test]
fn conversions() {
    let id: TeamsAppId = "com.microsoft.teamspace.tab.planner".parse().unwrap();
    assert_eq!(id, "com.microsoft.teamspace.tab.planner");
    let same = TeamsAppId::try_from(String::from(id.clone())).unwrap();
    assert_eq!(same, id);
    let set: std::collections::HashSet<TeamsAppId> = [id.clone()].into();
    assert!(set.contains("com.microsoft.teamspace.tab.planner"));
    assert_eq!(id.as_ref(), id.clone().into_inner());
}

// --- properties ----------------------------------------------------------------------------

/// Checks the properties every constructor must have for one input.
fn check_new<T>(s: &str, new: fn(String) -> Result<T, Error>, as_str: fn(&T) -> &str) {
    if let Ok(id) = new(s.to_owned()) {
        assert_eq!(as_str(&id), s);
    }
}

fn check_all(s: &str) {
    check_new(s, ChatId::new, ChatId::as_str);
    check_new(s, TeamId::new, TeamId::as_str);
    check_new(s, UserId::new, UserId::as_str);
    check_new(s, TeamsAppId::new, TeamsAppId::as_str);
    check_new(s, TeamsAppDefinitionId::new, TeamsAppDefinitionId::as_str);
    if let Ok(id) = AppInstallationId::new(s) {
        assert_eq!(id.as_str(), s);
        let _ = id.decode();
        let canonical = id.canonical();
        assert!(AppInstallationId::new(canonical.as_str()).is_ok());
        assert!(id.normalized_eq(&canonical));
        let _ = TeamsAppDefinitionId::new(s).map(|d| d.decode());
    }
}

fn json_round_trip<T>(id: &T)
where
    T: Serialize + for<'de> Deserialize<'de> + PartialEq + fmt::Debug,
{
    let json = serde_json::to_string(id).unwrap();
    assert_eq!(&serde_json::from_str::<T>(&json).unwrap(), id);
}

proptest! {
    #[test]
    fn constructors_never_panic(s in any::<String>()) {
        check_all(&s);
    }

    #[test]
    fn constructors_never_panic_on_id_like_input(
        s in "(19:|19%3A)?[a-zA-Z0-9_@.#/:=+-]{0,40}(@thread\\.v2|@unq\\.gbl\\.spaces|@)?"
    ) {
        check_all(&s);
    }

    #[test]
    fn decode_never_panics_on_base64_like_input(s in "[A-Za-z0-9+/_-]{1,64}={0,3}") {
        check_all(&s);
    }

    #[test]
    fn installation_ids_round_trip(
        scope in "([^#]|#[^#]){1,40}",
        app in "[^#]([^#]|#[^#]){0,40}",
    ) {
        // The regexes give parts without "##", a scope not ending with "#" and an app not
        // starting with "#": exactly what `build` accepts.
        let id = AppInstallationId::build(&scope, &app).unwrap();
        let decoded = id.decode().unwrap();
        let mut scratch = [0u8; DECODE_SCRATCH];
        prop_assert_eq!(
            id.decode_in(&mut scratch),
            Some((decoded.scope_id.as_str(), decoded.teams_app_id.as_str()))
        );
        prop_assert_eq!(decoded.scope_id, scope);
        prop_assert_eq!(decoded.teams_app_id, app);
        prop_assert_eq!(AppInstallationId::new(id.as_str()).unwrap(), id.clone());
        let unpadded = AppInstallationId::new(id.as_str().trim_end_matches('=')).unwrap();
        prop_assert!(unpadded.normalized_eq(&id));
        prop_assert_eq!(unpadded.canonical(), id.clone());
        // Graph's own spelling is borrowed as it is; another spelling is re-encoded.
        prop_assert!(matches!(id.canonical_cow(), std::borrow::Cow::Borrowed(_)));
        if unpadded.as_str() != id.as_str() {
            prop_assert!(matches!(unpadded.canonical_cow(), std::borrow::Cow::Owned(_)));
        }
        json_round_trip(&id);
    }

    #[test]
    fn installation_build_then_decode_agree(scope in any::<String>(), app in any::<String>()) {
        if let Ok(id) = AppInstallationId::build(&scope, &app) {
            let decoded = id.decode().unwrap();
            prop_assert_eq!(decoded.scope_id, scope);
            prop_assert_eq!(decoded.teams_app_id, app);
        }
    }

    #[test]
    fn definition_ids_round_trip(
        app in "[A-Za-z0-9._-]{3,128}",
        version in "[0-9]{1,3}(\\.[0-9]{1,3}){0,3}",
        state in proptest::option::of("(published|submitted|rejected)"),
    ) {
        let app = TeamsAppId::new(app).unwrap();
        let id = TeamsAppDefinitionId::build(&app, &version, state.as_deref()).unwrap();
        let decoded = id.decode().unwrap();
        prop_assert_eq!(decoded.teams_app_id, app.as_str());
        prop_assert_eq!(decoded.version, version);
        prop_assert_eq!(decoded.state.map(|s| s.to_ascii_lowercase()), state);
        json_round_trip(&id);
    }

    #[test]
    fn valid_ids_round_trip_through_json(
        thread in "[a-f0-9]{32}",
        meeting in "[A-Za-z0-9]{1,60}",
        a in "[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}",
        b in "[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}",
        upn in "[a-z0-9._#-]{1,30}@[a-z0-9-]{1,20}(\\.[a-z]{2,10}){1,3}",
        app in "[A-Za-z0-9._-]{3,128}",
    ) {
        json_round_trip(&ChatId::new(format!("19:{thread}@thread.v2")).unwrap());
        let meeting = ChatId::new(format!("19:meeting_{meeting}@thread.v2")).unwrap();
        prop_assert_eq!(meeting.kind(), ChatIdKind::Meeting);
        json_round_trip(&meeting);
        let one = ChatId::new(format!("19:{a}_{b}@unq.gbl.spaces")).unwrap();
        prop_assert_eq!(one.one_on_one_members(), Some((a.as_str(), b.as_str())));
        json_round_trip(&one);
        json_round_trip(&TeamId::new(a.clone()).unwrap());
        json_round_trip(&UserId::new(a).unwrap());
        json_round_trip(&UserId::new(upn).unwrap());
        json_round_trip(&TeamsAppId::new(app).unwrap());
    }
}

#[test]
fn the_ascii_checks_agree_with_the_character_checks() {
    // check_no_whitespace and check_length take a byte-wise path for ASCII text: every ASCII
    // character, alone and inside an id, is judged as the char-wise rules judge it.
    for b in 0u8..128 {
        let c = char::from(b);
        let expected = c.is_whitespace() || c.is_control();
        for text in [c.to_string(), format!("ab{c}cd")] {
            assert_eq!(
                super::check_no_whitespace(&text).is_err(),
                expected,
                "{b:#04x} in {text:?}"
            );
        }
    }
    // Non-ASCII whitespace still counts; a long multi-byte id is measured in characters.
    assert!(super::check_no_whitespace("a\u{a0}b").is_err());
    assert!(super::check_no_whitespace("a\u{85}b").is_err());
    assert!(super::check_no_whitespace("aéb").is_ok());
    assert!(super::check_length(&"é".repeat(10), 10, "long").is_ok());
    assert!(super::check_length(&"é".repeat(11), 10, "long").is_err());
    assert!(super::check_length(&"e".repeat(11), 10, "long").is_err());
}
