//! Request bodies (and the response bodies the client reads): `serde_json::from_slice` into the
//! generated wire types, then the model's handling of the two JSON request bodies it acts on.
//!
//! Properties: never a panic; whatever parses serializes and parses back to an equal value
//! (unknown properties and unknown enum values are kept, so nothing is lost on a round trip;
//! floats may move by a few units in the last place while serde_json's `float_roundtrip`
//! feature is off, see `EXACT_FLOATS`);
//! an upgrade or install with a parsed body, on a fresh demo tenant, succeeds or answers a 4xx.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use teamsapp_fuzz::{app_caller, fresh_demo_world};
use teamsapp_model::{ModelError, Query, demo};
use teamsapp_types::Scope;
use teamsapp_types::{
    AppInstallationId, BatchRequest, BatchResponse, ChatId, GraphError,
    InstalledAppsPostRequestBody, TeamsApp, TeamsAppCollectionResponse, TeamsAppDefinition,
    TeamsAppInstallation, TeamsAppInstallationCollectionResponse, UpgradePostRequestBody,
    UserScopeTeamsAppInstallationCollectionResponse,
};

/// Parses `data` as `T`; if it parses, checks the serde round trip and returns the value.
fn round_trip<T>(data: &[u8]) -> Option<T>
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let value: T = serde_json::from_slice(data).ok()?;
    let json = serde_json::to_vec(&value).expect("a parsed body serializes");
    let again: T = serde_json::from_slice(&json).unwrap_or_else(|e| {
        panic!(
            "{} does not parse its own output ({e}): {}",
            std::any::type_name::<T>(),
            String::from_utf8_lossy(&json)
        )
    });
    if again != value {
        let (before, after) = (to_value(&value), to_value(&again));
        assert!(
            !*EXACT_FLOATS && same_but_floats(&before, &after),
            "{} changed on a round trip:\n before {before}\n after  {after}",
            std::any::type_name::<T>()
        );
    }
    Some(value)
}

fn to_value<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("a parsed body converts to a JSON value")
}

/// Whether serde_json reads back every `f64` it writes. Without its `float_roundtrip` feature it
/// does not: it reads `1.1111111111111111e23` as `1.1111111111111113e23` (this target's first
/// find, `corpus/bodies/float-roundtrip-1e23.json`). Until the workspace enables that feature, a
/// float that moves by a few units in the last place is tolerated and everything else is exact;
/// once it does, this probe turns the strict check back on.
static EXACT_FLOATS: LazyLock<bool> = LazyLock::new(|| {
    serde_json::from_str::<f64>("1.1111111111111111e23").ok() == Some(1.111_111_111_111_111_1e23)
});

/// Equal but for floats that differ by at most 4 units in the last place.
fn same_but_floats(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => {
                    x == y
                        || (x.is_sign_negative() == y.is_sign_negative()
                            && x.to_bits().abs_diff(y.to_bits()) <= 4)
                }
                _ => false,
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_but_floats(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_but_floats(v, w)))
        }
        _ => a == b,
    }
}

fn answered<T>(result: Result<T, ModelError>) {
    if let Err(e) = result {
        assert!(
            (400..500).contains(&e.status()),
            "answered {}: {e:?}",
            e.status()
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let upgrade = round_trip::<UpgradePostRequestBody>(data);
    let install = round_trip::<InstalledAppsPostRequestBody>(data);
    round_trip::<BatchRequest>(data);
    round_trip::<TeamsAppDefinition>(data);
    // What the client reads back.
    round_trip::<BatchResponse>(data);
    round_trip::<GraphError>(data);
    round_trip::<TeamsApp>(data);
    round_trip::<TeamsAppCollectionResponse>(data);
    round_trip::<TeamsAppInstallation>(data);
    round_trip::<TeamsAppInstallationCollectionResponse>(data);
    round_trip::<UserScopeTeamsAppInstallationCollectionResponse>(data);

    if upgrade.is_none() && install.is_none() {
        return;
    }
    let mut world = fresh_demo_world();
    let caller = app_caller();
    let chat = ChatId::new(demo::SEED_CHAT_ID).unwrap();
    let installation = AppInstallationId::new(demo::SEED_INSTALLATION_ID).unwrap();
    let now = time::OffsetDateTime::UNIX_EPOCH;
    let query = Query::new();
    if let Some(body) = &upgrade {
        answered(world.upgrade_app(&caller, &Scope::from(&chat), &installation, body, &query, now));
    }
    if let Some(body) = &install {
        answered(world.install_app(&caller, &Scope::from(&chat), body, &query, now));
        // A group chat of the demo without the app, so the install can go through.
        let other = ChatId::new(demo::group_chat_id(1)).unwrap();
        answered(world.install_app(&caller, &Scope::from(&other), body, &query, now));
    }
});
