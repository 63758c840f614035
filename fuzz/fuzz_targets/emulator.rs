//! The emulator's HTTP surface: arbitrary bytes as the body (and, in one mode, the path
//! parameters and query string) of every route `teamsapp_mock::router` serves, sent with tower's
//! `oneshot` in a current-thread runtime, on the demo tenant, reset before every input so each
//! input is reproducible alone.
//!
//! Input layout: byte 0 picks the target (every Graph operation at its template and its aliases,
//! the identity endpoints, the admin API); byte 1 holds flags:
//!
//! | bits | meaning |
//! | --- | --- |
//! | 0–2 | `Content-Type`: the route's own, none, JSON, zip, text, form, JSON with charset, garbage |
//! | 3–4 | `Authorization`: an application token, a delegated token (Adele), none, a forged token |
//! | 5 | the rest is `param1 \n param2 \n query \n body` instead of the body alone (an empty parameter keeps the demo's value) |
//! | 6 | `/beta` instead of `/v1.0` |
//! | 7 | byte 2 picks the method (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, TRACE) |
//!
//! `TEAMSAPP_FUZZ_LIST_TARGETS=1` prints the target table once; `TEAMSAPP_FUZZ_VERBOSE=1` prints
//! each request and its status (run the binary on seed files to see what they reach).
//!
//! Properties: never a panic, never a hang, never a `5xx` (faults and throttling are off, and
//! the 30 s request timeout, answered `504`, is far beyond libFuzzer's per-input timeout, so no
//! documented `5xx` can occur); every `4xx` under `/v1.0` or `/beta` carries Graph's error
//! envelope (`error.code`, `error.message`), but for `HEAD`, whose answers have no body; every
//! JSON response parses; no `421` (every request names the emulator's own host, so inputs reach
//! the operations rather than the DNS-rebinding check).
#![no_main]

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use http::{Method, Request};
use libfuzzer_sys::fuzz_target;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use teamsapp_fuzz::fresh_demo_world;
use teamsapp_mock::teamsapp_model::demo;
use teamsapp_mock::teamsapp_model::spec::InstallationScope;
use teamsapp_mock::{AppState, EmulatorConfig, ManualClock, ThrottleConfig, TokenSpec, router};
use teamsapp_model::Query;
use teamsapp_types::permissions::{self, PermissionKind};
use teamsapp_types::{TeamsAppId, routes};
use tokio::runtime::Runtime;
use tower::ServiceExt as _;

/// Characters that cannot stand in a URI path or query: everything else is left as the fuzzer
/// wrote it, `%`, `/`, `?`, `&`, `=` and `.` included, so bad encodings and dot segments get in.
const NOT_IN_URI: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\')
    .add(b'^')
    .add(b'|');

/// How the client and Microsoft's SDKs encode a path parameter: all but RFC 3986's unreserved
/// characters.
const SEGMENT: &AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

const METHODS: [Method; 8] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::HEAD,
    Method::OPTIONS,
    Method::TRACE,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surface {
    Graph,
    Identity,
    Admin,
}

/// One thing to send a request to.
struct Target {
    surface: Surface,
    method: Method,
    /// The path, with `{param}` placeholders (below the version for Graph).
    template: &'static str,
    /// The default value of each placeholder, in order.
    params: Vec<String>,
    content_type: Option<&'static str>,
}

struct Fixture {
    runtime: Runtime,
    state: AppState,
    app: Router,
    app_token: String,
    user_token: String,
    targets: Vec<Target>,
}

/// A demo value for each path parameter of the Graph routes.
fn param_value(route: &teamsapp_types::Route, name: &str, ids: &DemoIds) -> String {
    match name {
        "chat-id" => demo::SEED_CHAT_ID.to_owned(),
        "team-id" => demo::ENGINEERING_TEAM_ID.to_owned(),
        "user-id" => demo::ADELE.to_owned(),
        "teamsApp-id" => demo::TASKS_APP_ID.to_owned(),
        "teamsAppDefinition-id" => ids.definition.clone(),
        "teamsAppInstallation-id" if route.template.starts_with("/teams/") => ids.team.clone(),
        "teamsAppInstallation-id" => demo::SEED_INSTALLATION_ID.to_owned(),
        "userScopeTeamsAppInstallation-id" => ids.user.clone(),
        other => panic!("no demo value for path parameter {other}"),
    }
}

/// Ids of the demo tenant that the templates need.
struct DemoIds {
    team: String,
    user: String,
    definition: String,
}

fn demo_ids() -> DemoIds {
    let world = fresh_demo_world();
    let installations = world.installations(demo::TENANT_ID);
    let find = |scope: InstallationScope, scope_id: &str| {
        installations
            .iter()
            .find(|i| i.scope == scope && i.scope_id == scope_id)
            .map_or_else(
                || panic!("the demo has a {scope:?} installation in {scope_id}"),
                |i| i.id.clone(),
            )
    };
    let team = find(InstallationScope::Team, demo::ENGINEERING_TEAM_ID);
    let user = find(InstallationScope::User, demo::ADELE);
    let caller = teamsapp_fuzz::app_caller();
    let app = TeamsAppId::new(demo::TASKS_APP_ID).unwrap();
    let definitions = world
        .list_catalog_app_definitions(&caller, &app, &Query::new())
        .expect("the demo lists its definitions");
    // The last version is the one submitted for review, so a review PATCH can act on it.
    let definition = definitions
        .items
        .last()
        .and_then(|d| d.id.clone())
        .expect("definitions have ids");
    DemoIds {
        team,
        user,
        definition,
    }
}

fn targets() -> Vec<Target> {
    let ids = demo_ids();
    let mut targets = Vec::new();
    for route in routes::ALL {
        let params: Vec<String> = route
            .path_params
            .iter()
            .map(|name| param_value(route, name, &ids))
            .collect();
        for template in std::iter::once(route.template).chain(route.aliases.iter().copied()) {
            targets.push(Target {
                surface: Surface::Graph,
                method: route.method.clone(),
                template,
                params: params.clone(),
                content_type: route.request_content_type,
            });
        }
    }
    let tenant = vec![demo::TENANT_ID.to_owned()];
    let form = Some("application/x-www-form-urlencoded");
    for (method, template, content_type) in [
        (Method::POST, "/{tenant}/oauth2/v2.0/token", form),
        (Method::POST, "/{tenant}/oauth2/v2.0/devicecode", form),
        (Method::GET, "/{tenant}/discovery/v2.0/keys", None),
        (
            Method::GET,
            "/{tenant}/v2.0/.well-known/openid-configuration",
            None,
        ),
        (Method::GET, "/{tenant}/discovery/instance", None),
    ] {
        targets.push(Target {
            surface: Surface::Identity,
            method,
            template,
            params: tenant.clone(),
            content_type,
        });
    }
    let json = Some("application/json");
    for (method, template, content_type) in [
        (Method::POST, "/_emulator/reset", None),
        (Method::POST, "/_emulator/tenants", json),
        (Method::GET, "/_emulator/state", None),
        (Method::GET, "/_emulator/installations/{id}", None),
        (Method::GET, "/_emulator/journal", None),
        (Method::GET, "/_emulator/metrics", None),
        (Method::PUT, "/_emulator/faults", json),
        (Method::PUT, "/_emulator/throttle", json),
        (Method::PUT, "/_emulator/scenarios", json),
        (Method::POST, "/_emulator/token", json),
        (Method::POST, "/_emulator/devicecode/approve", json),
        (Method::GET, "/_emulator/devicelogin", None),
    ] {
        let params = if template.contains('{') {
            vec![demo::SEED_INSTALLATION_ID.to_owned()]
        } else {
            Vec::new()
        };
        targets.push(Target {
            surface: Surface::Admin,
            method,
            template,
            params,
            content_type,
        });
    }
    targets
}

/// The host every request names, configured as one of the emulator's origins.
const HOST: &str = "graph.test";

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime");
        let config = EmulatorConfig {
            clock: Arc::new(ManualClock::at_2025()),
            throttle: ThrottleConfig::disabled(),
            // The `Host` every request names: one of the emulator's own origins, or every
            // request would stop at the DNS-rebinding check (`421`).
            origins: vec![format!("http://{HOST}")],
            ..EmulatorConfig::demo()
        };
        let state = AppState::new(config).expect("the demo emulator starts");
        // Tokens holding every permission of the operations' tables (resource-specific ones
        // aside), so requests get past authorization to the code that reads them.
        let every = |kind: PermissionKind| {
            let mut names: Vec<String> = permissions::all()
                .flat_map(|op| op.allowed(kind).iter())
                .filter(|name| !permissions::is_resource_specific(name))
                .map(|&name| name.to_owned())
                .collect();
            names.sort();
            names.dedup();
            names
        };
        let app_token = state
            .mint_token(&TokenSpec {
                roles: Some(every(PermissionKind::Application)),
                ..TokenSpec::default()
            })
            .expect("an application token")
            .access_token;
        let user_token = state
            .mint_token(&TokenSpec {
                user: Some(demo::ADELE.to_owned()),
                scopes: Some(every(PermissionKind::Delegated)),
                ..TokenSpec::default()
            })
            .expect("a delegated token")
            .access_token;
        let targets = targets();
        if std::env::var_os("TEAMSAPP_FUZZ_LIST_TARGETS").is_some() {
            for (i, t) in targets.iter().enumerate() {
                eprintln!("{i:3} {:?} {} {}", t.surface, t.method, t.template);
            }
        }
        Fixture {
            app: router(state.clone()),
            runtime,
            state,
            app_token,
            user_token,
            targets,
        }
    })
}

/// Splits `rest` on `\n` into at most `n + 1` parts.
fn split(rest: &[u8], n: usize) -> Vec<&[u8]> {
    rest.splitn(n + 1, |&b| b == b'\n').collect()
}

fn text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

fuzz_target!(|data: &[u8]| {
    let [target, flags, rest @ ..] = data else {
        return;
    };
    let fx = fixture();
    let target = &fx.targets[usize::from(*target) % fx.targets.len()];

    let (method, rest) = if flags & 0x80 != 0 {
        let Some((m, rest)) = rest.split_first() else {
            return;
        };
        (METHODS[usize::from(*m) % METHODS.len()].clone(), rest)
    } else {
        (target.method.clone(), rest)
    };

    let (params, query, body): (Vec<String>, Option<String>, &[u8]) = if flags & 0x20 != 0 {
        let parts = split(rest, 3);
        let mut params = target.params.clone();
        for (slot, part) in params.iter_mut().zip(parts.iter().take(2)) {
            // An empty part keeps the demo value, so seeds can change one thing at a time.
            *slot = if part.is_empty() {
                utf8_percent_encode(slot, SEGMENT).to_string()
            } else {
                utf8_percent_encode(&text(part), NOT_IN_URI).to_string()
            };
        }
        let query = parts
            .get(2)
            .filter(|q| !q.is_empty())
            .map(|q| utf8_percent_encode(&text(q), NOT_IN_URI).to_string());
        (params, query, parts.get(3).copied().unwrap_or(&[]))
    } else {
        let params = target
            .params
            .iter()
            .map(|p| utf8_percent_encode(p, SEGMENT).to_string())
            .collect();
        (params, None, rest)
    };

    let mut path = String::new();
    if target.surface == Surface::Graph {
        path.push_str(if flags & 0x40 != 0 { "/beta" } else { "/v1.0" });
    }
    let mut params = params.into_iter();
    for (i, piece) in target.template.split('{').enumerate() {
        if i == 0 {
            path.push_str(piece);
        } else if let Some((_, after)) = piece.split_once('}') {
            path.push_str(&params.next().unwrap_or_default());
            path.push_str(after);
        }
    }
    if let Some(query) = query {
        path.push('?');
        path.push_str(&query);
    }
    let Ok(uri) = path.parse::<http::Uri>() else {
        return;
    };

    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", HOST);
    let content_type = match flags & 0x07 {
        0 => target.content_type,
        1 => None,
        2 => Some("application/json"),
        3 => Some("application/zip"),
        4 => Some("text/plain"),
        5 => Some("application/x-www-form-urlencoded"),
        6 => Some("application/json; charset=utf-8"),
        _ => Some("application/x-\u{7f}garbage"),
    };
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let authorization = match (flags >> 3) & 0x03 {
        0 => Some(format!("Bearer {}", fx.app_token)),
        1 => Some(format!("Bearer {}", fx.user_token)),
        2 => None,
        _ => Some("Bearer eyJhbGciOiJub25lIn0.eyJ0aWQiOiJ4In0.".to_owned()),
    };
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    let Ok(request) = request.body(Body::from(body.to_vec())) else {
        return;
    };

    let summary = format!("{} {}", request.method(), request.uri());
    let (status, content_type, bytes) = fx.runtime.block_on(async {
        fx.state.reset().await.expect("the emulator resets");
        let response = fx
            .app
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("the response body reads");
        (status, content_type, bytes)
    });

    if std::env::var_os("TEAMSAPP_FUZZ_VERBOSE").is_some() {
        eprintln!("{summary} -> {status}");
    }
    assert!(
        !status.is_server_error(),
        "{summary} answered {status}: {}",
        text(&bytes)
    );
    // Every request names the emulator's own host: a `421` would mean the fuzzer only reaches
    // the origin check.
    assert_ne!(
        status,
        http::StatusCode::MISDIRECTED_REQUEST,
        "{summary}: {}",
        text(&bytes)
    );
    let is_json = content_type
        .as_deref()
        .is_some_and(|c| c.starts_with("application/json"));
    let json: Option<serde_json::Value> = if is_json && !bytes.is_empty() {
        Some(serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{summary} answered {status} with bad JSON ({e}): {}",
                text(&bytes)
            )
        }))
    } else {
        None
    };
    let under_graph = summary.split_whitespace().nth(1).is_some_and(|p| {
        let p = p.to_ascii_lowercase();
        p.starts_with("/v1.0/") || p.starts_with("/beta/")
    });
    // A response to HEAD has no body (RFC 9110 §9.3.2), so there is no envelope to check.
    if status.is_client_error() && under_graph && !summary.starts_with("HEAD ") {
        let envelope = json.as_ref().map(|j| &j["error"]);
        assert!(
            envelope.is_some_and(|e| e["code"].is_string() && e["message"].is_string()),
            "{summary} answered {status} without Graph's error envelope: {}",
            text(&bytes)
        );
    }
});
