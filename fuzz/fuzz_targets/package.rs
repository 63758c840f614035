//! App-package zip parsing: `teamsapp_package::parse_package` (the zip, with the default
//! limits) and `parse_manifest` (the manifest JSON alone).
//!
//! The input is tried both ways: as a whole package, and as a bare `manifest.json`; inputs that
//! start with the zip signature `PK` also go through `parse_package_with` under tiny limits.
//! Properties: never a panic, an abort on allocation or a hang (libFuzzer's `-rss_limit_mb` and
//! `-timeout` catch the last two); every refusal is `400 InvalidPackage`-shaped with details; an
//! accepted package has a valid app id and version and a non-blank name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use teamsapp_model::{AppVersion, ModelError};
use teamsapp_package::{
    AppPackage, PackageError, PackageLimits, parse_manifest, parse_package, parse_package_with,
};
use teamsapp_types::TeamsAppId;

fn check(result: Result<AppPackage, PackageError>) {
    match result {
        Ok(package) => {
            assert!(
                TeamsAppId::new(package.external_id.as_str()).is_ok(),
                "{package:?}"
            );
            assert!(AppVersion::parse(&package.version).is_some(), "{package:?}");
            assert!(!package.display_name.trim().is_empty(), "{package:?}");
        }
        Err(e) => {
            let e = ModelError::from(e);
            assert_eq!(e.status(), 400, "{e:?}");
            assert!(!e.details().is_empty(), "a refusal without details: {e:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check(parse_package(data));
    check(parse_manifest(data));
    if data.starts_with(b"PK") {
        let tiny = PackageLimits {
            max_package_bytes: 4096,
            max_entries: 4,
            max_uncompressed_bytes: 8192,
            max_manifest_bytes: 1024,
        };
        check(parse_package_with(data, tiny));
    }
});
