//! The bad-input matrix: requests no client should send, over a raw socket, each of which must
//! answer a Graph-shaped 4xx — `{"error": {"code", "message", "innerError": {"request-id",
//! "date"}}}` with the `request-id` header — never a 5xx, a panic (a dropped connection) or a
//! hang (5 s per request). The answers also go through the conformance checker, so each must
//! match the fragment's error schema.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use serde_json::{Value, json};
use teamsapp_e2e::raw::{RawRequest, RawResponse};
use teamsapp_e2e::{Checker, TestEmulator, demo_config};
use teamsapp_mock::{AppState, EmulatorConfig, ManualClock, TokenSpec};
use teamsapp_model::demo;
use teamsapp_model::package::build_package;
use teamsapp_types::operation::encode_path_segment as enc;

/// The emulator's body limit in this test.
const BODY_LIMIT: usize = 64 * 1024;

/// How long one answer may take.
const DEADLINE: Duration = Duration::from_secs(5);

/// How many cases the matrix has (kept honest by an assertion).
const CASES: usize = 94;

struct Case {
    name: &'static str,
    request: RawRequest,
    status: u16,
    /// Words the error message must contain, for cases that must fail for one reason.
    says: Option<&'static str>,
}

impl Case {
    fn says(mut self, words: &'static str) -> Self {
        self.says = Some(words);
        self
    }
}

/// Graph's error code for each status of the matrix.
fn code_for(status: u16) -> &'static str {
    match status {
        401 => "InvalidAuthenticationToken",
        404 => "NotFound",
        405 => "Request_BadRequest",
        413 => "RequestEntityTooLarge",
        415 => "UnsupportedMediaType",
        421 => "MisdirectedRequest",
        _ => "BadRequest",
    }
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64url(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .expect("base64url")
}

/// Tokens that must all be refused.
struct Tokens {
    valid: String,
    admin: String,
    expired: String,
    wrong_audience: String,
    host_audience: String,
    other_key: String,
    tampered: String,
    alg_none: String,
    unknown_tenant: String,
}

/// The tokens; `clock` is the emulator's, moved on to expire a token without waiting.
async fn tokens(emulator: &TestEmulator, clock: &ManualClock) -> Tokens {
    let admin = emulator.admin();
    let app = demo::CREDENTIALS.client_id;
    let valid = admin.token(json!({"app": app})).await;
    let parts: Vec<&str> = valid.split('.').collect();
    let mut claims: Value = serde_json::from_slice(&unb64url(parts[1])).unwrap();
    claims["roles"] = json!([
        "AppCatalog.ReadWrite.All",
        "TeamsAppInstallation.ReadWriteAndConsentForChat.All"
    ]);
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64url(claims.to_string().as_bytes()),
        parts[2]
    );
    let none_header = b64url(br#"{"alg":"none","typ":"JWT"}"#);
    let alg_none = format!("{none_header}.{}.", parts[1]);
    // The same claims, signed by another emulator's key.
    let other = AppState::new(EmulatorConfig::demo()).unwrap();
    let other_key = other
        .mint_token(&TokenSpec {
            app: Some(app.to_owned()),
            ..TokenSpec::default()
        })
        .unwrap()
        .access_token;
    // Valid for a second, then the clock moves on by two (the other tokens live an hour).
    let expired = admin.token(json!({"app": app, "lifetimeSeconds": 1})).await;
    clock.advance(Duration::from_secs(2));
    Tokens {
        admin: admin.token(json!({"user": demo::ADELE})).await,
        expired,
        wrong_audience: admin
            .token(json!({"app": app, "audience": "https://management.azure.com"}))
            .await,
        host_audience: admin
            .token(json!({"app": app, "audience": "http://evil.example"}))
            .await,
        unknown_tenant: admin
            .token(json!({"tenant": "0badc0de-0000-4000-8000-000000000000", "app": app}))
            .await,
        valid,
        other_key,
        tampered,
        alg_none,
    }
}

/// Every case of the matrix.
#[allow(clippy::too_many_lines, reason = "a table")]
fn matrix(t: &Tokens) -> Vec<Case> {
    let chat = enc(demo::SEED_CHAT_ID);
    let installation = enc(demo::SEED_INSTALLATION_ID);
    let apps = format!("/v1.0/chats/{chat}/installedApps");
    let upgrade = format!("{apps}/{installation}/upgrade");
    let get = |target: &str| RawRequest::new("GET", target).bearer(&t.valid);
    let post = |target: &str| RawRequest::new("POST", target).bearer(&t.valid);
    let install_body = json!({"teamsApp@odata.bind": format!("https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/{}", demo::POLLS_APP_ID)});
    let submitted = teamsapp_types::TeamsAppDefinitionId::build(
        &teamsapp_types::TeamsAppId::new(demo::TASKS_APP_ID).unwrap(),
        demo::TASKS_SUBMITTED_VERSION,
        Some("submitted"),
    )
    .unwrap();
    let definition = format!(
        "/v1.0/appCatalogs/teamsApps/{}/appDefinitions/{}",
        demo::TASKS_APP_ID,
        enc(submitted.as_str())
    );
    let long = "a".repeat(10 * 1024);
    let nested_json = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let nested_filter = format!("{}true{}", "(".repeat(2_000), ")".repeat(2_000));
    let long_filter = format!("{}true{}", "(".repeat(5_000), ")".repeat(5_000));
    let batch = |body: Value| post("/v1.0/$batch").json(&body);
    let item = |id: &str| json!({"id": id, "method": "GET", "url": format!("/chats/{}/installedApps", demo::SEED_CHAT_ID)});
    let case = |name, request, status| Case {
        name,
        request,
        status,
        says: None,
    };

    vec![
        // Ids.
        case("chat id without 19:", get("/v1.0/chats/ea28e88c00e94c7786b065394a61f296%40thread.v2/installedApps"), 400),
        case("chat id of 10 KB", get(&format!("/v1.0/chats/19%3A{long}%40thread.v2/installedApps")), 400),
        case("chat id with %00", get("/v1.0/chats/19%3Aab%00cd%40thread.v2/installedApps"), 400),
        case("chat id ..", get("/v1.0/chats/../installedApps"), 400),
        case("chat id %2E%2E", get("/v1.0/chats/%2E%2E/installedApps"), 400),
        case("chat id with an encoded slash", get("/v1.0/chats/19%3Aa%2F..%2F..%40thread.v2/installedApps"), 400),
        case("chat id of spaces", get("/v1.0/chats/%20%20/installedApps"), 400),
        // Well-formed as a chat id (the thread part is opaque): looked up, not found.
        case("chat id with emoji", get("/v1.0/chats/19%3A%F0%9F%92%A5%40thread.v2/installedApps"), 404),
        case("chat id with invalid UTF-8", get("/v1.0/chats/19%3A%FF%FE%40thread.v2/installedApps"), 400),
        case("installation id of 10 KB", post(&format!("{apps}/{long}/upgrade")), 400),
        // Installation ids are opaque: looked up, not found.
        case("installation id not base64", post(&format!("{apps}/%21%21%21/upgrade")), 404),
        case("installation id with %00", post(&format!("{apps}/abc%00/upgrade")), 400),
        case("team id not a GUID", get("/v1.0/teams/not-a-guid/installedApps"), 400),
        case("team id of 10 KB", get(&format!("/v1.0/teams/{long}/installedApps")), 400),
        case("user id of 10 KB", get(&format!("/v1.0/users/{long}/teamwork/installedApps")), 400),
        case("user id ..", get("/v1.0/users/../teamwork/installedApps"), 400),
        case("app id of 10 KB", get(&format!("/v1.0/appCatalogs/teamsApps/{long}")), 400),
        case("path traversal to the admin API", get("/v1.0/../_emulator/metrics"), 400),
        // Bodies: JSON.
        case("install: malformed JSON", post(&apps).body("application/json", "{\"teamsApp@odata.bind\":"), 400),
        case("install: JSON array", post(&apps).json(&json!([])), 400),
        case("install: JSON string", post(&apps).json(&json!("install")), 400),
        case("install: wrong type", post(&apps).json(&json!({"teamsApp@odata.bind": 5})), 400),
        case("install: missing bind", post(&apps).json(&json!({})), 400),
        case("install: bind to nothing", post(&apps).json(&json!({"teamsApp@odata.bind": "not a url"})), 400),
        case("install: empty body", post(&apps).body("application/json", ""), 400),
        case("install: invalid UTF-8", post(&apps).body("application/json", b"{\"a\":\"\xff\xfe\"}".to_vec()), 400),
        case("install: 10 000 nested arrays", post(&apps).body("application/json", nested_json.clone()), 400),
        case("upgrade: malformed JSON", post(&upgrade).body("application/json", "{"), 400),
        case("upgrade: consent of the wrong type", post(&upgrade).json(&json!({"consentedPermissionSet": 5})), 400),
        case("upgrade: an unknown parameter", post(&upgrade).json(&json!({"force": true})), 400).says("'force' in the request payload is not a valid parameter for the operation 'upgrade'"),
        case("upgrade: permissions of the wrong type", post(&upgrade).json(&json!({"consentedPermissionSet": {"resourceSpecificPermissions": "all"}})), 400),
        case("review: unknown publishing state", RawRequest::new("PATCH", &definition).bearer(&t.admin).json(&json!({"publishingState": 7})), 400),
        // Bodies: content types and sizes.
        case("install: text/plain", post(&apps).body("text/plain", install_body.to_string()), 415),
        case("install: application/zip", post(&apps).body("application/zip", install_body.to_string()), 415),
        case("install: garbage content type", post(&apps).body(";;;", install_body.to_string()), 415),
        case("upgrade: application/xml", post(&upgrade).body("application/xml", "<upgrade/>"), 415),
        case("publish: JSON instead of a zip", RawRequest::new("POST", "/v1.0/appCatalogs/teamsApps").bearer(&t.admin).json(&json!({})), 415),
        case("publish: not a zip", RawRequest::new("POST", "/v1.0/appCatalogs/teamsApps").bearer(&t.admin).body("application/zip", "PK not really"), 400),
        case("install: body over the limit", post(&apps).body("application/json", format!("{{\"x\":\"{}\"}}", "x".repeat(BODY_LIMIT + 1024))), 413),
        case("publish: package over the limit", RawRequest::new("POST", "/v1.0/appCatalogs/teamsApps").bearer(&t.admin).body("application/zip", oversized_zip()), 413),
        case("install: huge Content-Length, tiny body", post(&apps).header("Content-Type", "application/json").header("Content-Length", "999999999999"), 413),
        case("$batch: body over twice the limit", batch(json!({"requests": [], "pad": "x".repeat(2 * BODY_LIMIT + 1024)})), 413),
        // Query options.
        case("$top=-1", get("/v1.0/users?$top=-1"), 400),
        case("$top=abc", get("/v1.0/users?$top=abc"), 400),
        case("$top beyond u64", get("/v1.0/users?$top=99999999999999999999999"), 400),
        case("$top twice", get("/v1.0/users?$top=1&$top=2"), 400).says("more than once"),
        case("$top on installations", get(&format!("{apps}?$top=1")), 400).says("'Top' is not allowed"),
        case("$filter empty", get(&format!("{apps}?$filter=")), 400),
        case("$filter unfinished", get(&format!("{apps}?$filter=teamsApp/id%20eq")), 400),
        case("$filter unbalanced", get(&format!("{apps}?$filter=((((((")), 400),
        case("$filter unknown function", get(&format!("{apps}?$filter=frobnicate(teamsApp/id)")), 400),
        case("$filter unterminated string", get(&format!("{apps}?$filter=teamsApp/id%20eq%20%27abc")), 400),
        case("$filter nested 2 000 deep", get(&format!("{apps}?$filter={nested_filter}")), 400).says("deeper than"),
        case("$filter of 10 000 characters", get(&format!("{apps}?$filter={long_filter}")), 400).says("longer than"),
        case("$orderby not allowed", get(&format!("{apps}?$orderby=id")), 400).says("'OrderBy' is not allowed"),
        case("$search not allowed", get(&format!("{apps}?$search=tasks")), 400),
        case("$foo unknown", get(&format!("{apps}?$foo=1")), 400),
        case("$count=maybe", get(&format!("{apps}?$count=maybe")), 400),
        case("$expand unknown", get(&format!("{apps}?$expand=nothing")), 400),
        case("$skiptoken forged", get(&format!("{apps}?$skiptoken=not-a-token")), 400),
        case("$top on a single entity", get(&format!("{apps}/{installation}?$top=1")), 400),
        // Tokens.
        case("token missing", RawRequest::new("GET", &apps), 401).says("Access token is empty"),
        case("token empty", RawRequest::new("GET", &apps).header("Authorization", "Bearer "), 401),
        case("Basic instead of Bearer", RawRequest::new("GET", &apps).header("Authorization", "Basic dXNlcjpwYXNz"), 401),
        case("token not a JWT", RawRequest::new("GET", &apps).bearer("not-a-jwt"), 401).says("CompactToken parsing failed"),
        case("token of garbage parts", RawRequest::new("GET", &apps).bearer("a.b.c"), 401),
        case("token re-signed with another key", RawRequest::new("GET", &apps).bearer(&t.other_key), 401).says("validation failure"),
        case("token with tampered claims", RawRequest::new("GET", &apps).bearer(&t.tampered), 401).says("validation failure"),
        case("token with alg none", RawRequest::new("GET", &apps).bearer(&t.alg_none), 401).says("CompactToken parsing failed"),
        case("token expired", RawRequest::new("GET", &apps).bearer(&t.expired), 401).says("expired"),
        case("token for another audience", RawRequest::new("GET", &apps).bearer(&t.wrong_audience), 401).says("Invalid audience"),
        case("token of a tenant not served", RawRequest::new("GET", &apps).bearer(&t.unknown_tenant), 401).says("not served"),
        // Hosts and audiences come from configuration, not the request (DNS rebinding).
        case("Host of a name the emulator does not answer", get(&apps).header("Host", "evil.example"), 421).says("does not answer for the host"),
        case("token for the Host's origin, that Host", RawRequest::new("GET", &apps).bearer(&t.host_audience).header("Host", "evil.example"), 421),
        case("token for a foreign origin, a good Host", RawRequest::new("GET", &apps).bearer(&t.host_audience), 401).says("Invalid audience"),
        // Methods and paths.
        case("PUT on installedApps", RawRequest::new("PUT", &apps).bearer(&t.valid).json(&install_body), 405),
        case("PATCH on upgrade", RawRequest::new("PATCH", &upgrade).bearer(&t.valid).json(&json!({})), 405),
        case("GET on upgrade", get(&upgrade), 405),
        case("DELETE on the catalog", RawRequest::new("DELETE", "/v1.0/appCatalogs/teamsApps").bearer(&t.valid), 405),
        case("POST on teams", post("/v1.0/teams").json(&json!({})), 405),
        case("an unknown segment", get("/v1.0/nowhere"), 400),
        case("an unknown version", get("/v2.0/teams"), 400),
        case("a path past upgrade", post(&format!("{upgrade}/again")), 400),
        // $batch.
        case("$batch: 21 requests", batch(json!({"requests": (1..=21).map(|i| item(&i.to_string())).collect::<Vec<_>>()})), 400).says("limit is 20"),
        case("$batch: duplicate ids", batch(json!({"requests": [item("1"), item("1")]})), 400).says("unique"),
        case("$batch: ids equal but for case", batch(json!({"requests": [item("a"), item("A")]})), 400).says("unique"),
        case("$batch: unknown dependsOn", batch(json!({"requests": [{"id": "1", "method": "GET", "url": "/teams", "dependsOn": ["9"]}]})), 400).says("depends on '9'"),
        case("$batch: dependsOn cycle", batch(json!({"requests": [
            {"id": "1", "method": "GET", "url": "/teams", "dependsOn": ["2"]},
            {"id": "2", "method": "GET", "url": "/teams", "dependsOn": ["1"]}]})), 400).says("cycle"),
        case("$batch: requests not an array", batch(json!({"requests": {"id": "1"}})), 400),
        case("$batch: an array body", batch(json!([item("1")])), 400),
        case("$batch: no requests", batch(json!({})), 400),
        case("$batch: an item without url", batch(json!({"requests": [{"id": "1", "method": "GET"}]})), 400),
        case("$batch: a body without Content-Type", batch(json!({"requests": [{"id": "1", "method": "POST", "url": format!("/chats/{}/installedApps", demo::SEED_CHAT_ID), "body": install_body}]})), 400),
        case("$batch: malformed JSON", post("/v1.0/$batch").body("application/json", "{\"requests\": ["), 400),
    ]
}

/// A valid package padded (with incompressible noise) past the body limit.
fn oversized_zip() -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: String = (0..BODY_LIMIT * 2)
        .map(|_| {
            // xorshift64: noise that deflate cannot shrink much.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b'a' + u8::try_from(state % 26).unwrap())
        })
        .collect();
    let mut extra = serde_json::Map::new();
    extra.insert("padding".to_owned(), json!(noise));
    let zip = build_package(
        "0ba5e000-0000-4000-8000-000000000001",
        "1.0.0",
        "Big",
        &extra,
    );
    assert!(zip.len() > BODY_LIMIT, "the padding survives compression");
    zip
}

/// What is wrong with an answer, if anything.
fn judge(case: &Case, answer: &RawResponse) -> Option<String> {
    if answer.status != case.status {
        return Some(format!(
            "status {} (expected {})",
            answer.status, case.status
        ));
    }
    if !(400..500).contains(&answer.status) {
        return Some(format!("status {} is not a 4xx", answer.status));
    }
    let Some(body) = answer.json() else {
        return Some("the body is not JSON".to_owned());
    };
    let error = &body["error"];
    if error["code"] != code_for(case.status) {
        return Some(format!(
            "code {} (expected {})",
            error["code"],
            code_for(case.status)
        ));
    }
    if let Some(words) = case.says
        && !error["message"].as_str().is_some_and(|m| m.contains(words))
    {
        return Some(format!("the message does not say {words:?}"));
    }
    for field in ["code", "message"] {
        if error[field].as_str().is_none_or(str::is_empty) {
            return Some(format!("error.{field} is missing"));
        }
    }
    let inner = &error["innerError"];
    let Some(request_id) = inner["request-id"].as_str() else {
        return Some("innerError.request-id is missing".to_owned());
    };
    if !inner["date"].is_string() {
        return Some("innerError.date is missing".to_owned());
    }
    if answer.header("request-id") != Some(request_id) {
        return Some(format!(
            "the request-id header {:?} differs from innerError.request-id {request_id:?}",
            answer.header("request-id")
        ));
    }
    None
}

/// 94 cases: ids, bodies, content types, sizes, query options, tokens, hosts, methods, paths and
/// `$batch`.
#[tokio::test]
async fn bad_input_matrix_of_94_cases_answers_graph_shaped_4xx() {
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let mut config = demo_config();
    config.body_limit = BODY_LIMIT;
    config.clock = clock.clone();
    let emulator = TestEmulator::start_checked(config, Checker::responses_only()).await;
    let tokens = tokens(&emulator, &clock).await;
    let cases = matrix(&tokens);
    assert_eq!(
        cases.len(),
        CASES,
        "update CASES, the test's name and its docs"
    );
    let addr: SocketAddr = emulator.addr();

    let mut failures = Vec::new();
    for case in &cases {
        match case.request.send(addr, DEADLINE).await {
            Ok(answer) => {
                if let Some(why) = judge(case, &answer) {
                    failures.push(format!(
                        "{}: {why}\n    {} {}…\n    → {:?}",
                        case.name,
                        case.request.method,
                        case.request.target.chars().take(100).collect::<String>(),
                        answer
                    ));
                }
            }
            Err(e) => failures.push(format!("{}: {e}", case.name)),
        }
    }

    // Still alive and well after all that.
    let alive = RawRequest::new(
        "GET",
        format!("/v1.0/chats/{}/installedApps", enc(demo::SEED_CHAT_ID)),
    )
    .bearer(&tokens.valid)
    .send(addr, DEADLINE)
    .await
    .expect("the emulator still answers");
    assert_eq!(alive.status, 200, "{alive:?}");

    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    emulator.finish().await;
}
