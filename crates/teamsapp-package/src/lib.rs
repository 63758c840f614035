//! Teams app packages: a zip with a `manifest.json` at its root, read into an [`AppPackage`].
//!
//! Shared by the emulator (which checks what is published to its catalog) and the `teamsapp`
//! CLI (which checks a package before it uploads it), so both say the same about the same file.
//!
//! [`parse_package`] never panics, and it bounds its work whatever it is given
//! ([`PackageLimits`]): the package size, the number of entries, the total uncompressed size the
//! entries declare, and the bytes actually inflated from `manifest.json` (so a zip bomb stops at
//! the limit, whatever its headers claim). Fuzz targets call it.
//!
//! Fields read (Teams manifest schema): `id` → `teamsApp.externalId`, `version`, `name.short` →
//! `displayName`, `description.short` / `description.full`, `webApplicationInfo.id` →
//! `authorization.clientAppId`, `authorization.permissions.resourceSpecific[] {name, type}` →
//! `authorization.requiredPermissionSet`, and `bots[0].botId` → `bot.id`. Problems are reported
//! in Graph's shape: one [`PackageProblem`] per problem, with a schema error code and the
//! manifest path at fault.
//!
//! [`parse_package`] also checks that the two icons the manifest names (`icons.color`,
//! `icons.outline`) are files in the package, as Teams' package validation does; a missing one is
//! a `SchemaError_Required` (no `icons`) or a `FileNotFound` problem (our code: Graph documents no
//! code for it) at `icons.color` / `icons.outline`.
//!
//! ```
//! use teamsapp_package::{build_package, parse_package};
//!
//! let zip = build_package("b7b8d3a4-51e5-4a7e-9f0b-6d3c2f0e1a11", "1.2.0", "Contoso Tasks", &Default::default());
//! let package = parse_package(&zip)?;
//! assert_eq!((package.version.as_str(), package.display_name.as_str()), ("1.2.0", "Contoso Tasks"));
//!
//! let err = parse_package(b"not a zip").unwrap_err();
//! assert_eq!(err.details[0].code, "InvalidPackage");
//! # Ok::<(), teamsapp_package::PackageError>(())
//! ```

use std::io::{Cursor, Read};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use teamsapp_types::echo;
use teamsapp_types::version::AppVersion;
use teamsapp_types::{TeamsAppResourceSpecificPermission, TeamsAppResourceSpecificPermissionType};

/// A package that is not a valid Teams app package: Graph's `400 BadRequest` with inner code
/// `UnableToParseTeamsAppManifest`, one detail per problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PackageError {
    /// Graph's message: every problem as `target | message`, joined by `; `.
    pub message: String,
    /// One entry per problem (`SchemaError_Required`, …), as in `innerError.details`.
    pub details: Vec<PackageProblem>,
}

/// One problem found in an app package, rendered as an entry of Graph's `innerError.details`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageProblem {
    /// Graph's schema error code, e.g. `SchemaError_Required`.
    pub code: &'static str,
    /// What is wrong, e.g. `Required properties are missing from object: [short].`.
    pub message: String,
    /// The manifest path at fault, e.g. `name`; empty for the package itself.
    pub target: String,
}

/// A resource-specific consent (RSC) permission.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RscPermission {
    /// Its name, e.g. `ChatMessage.Read.Chat`.
    pub permission_value: String,
    /// Delegated or application.
    pub permission_type: RscType,
}

/// The type of an RSC permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RscType {
    /// Delegated: exercised for a signed-in user.
    #[serde(alias = "Delegated")]
    Delegated,
    /// Application: exercised by the app alone.
    #[serde(alias = "Application")]
    Application,
}

impl RscType {
    /// Parses `delegated` or `application`, ASCII case-insensitively.
    pub fn parse(s: &str) -> Option<Self> {
        if s.eq_ignore_ascii_case("delegated") {
            Some(Self::Delegated)
        } else if s.eq_ignore_ascii_case("application") {
            Some(Self::Application)
        } else {
            None
        }
    }

    /// The wire value.
    pub fn to_wire(self) -> TeamsAppResourceSpecificPermissionType {
        match self {
            Self::Delegated => TeamsAppResourceSpecificPermissionType::Delegated,
            Self::Application => TeamsAppResourceSpecificPermissionType::Application,
        }
    }
}

impl RscPermission {
    /// Reads a wire permission; `None` when its name or type is missing or unknown.
    pub fn from_wire(wire: &TeamsAppResourceSpecificPermission) -> Option<Self> {
        let kind = match wire.permission_type.as_ref()? {
            TeamsAppResourceSpecificPermissionType::Delegated => RscType::Delegated,
            TeamsAppResourceSpecificPermissionType::Application => RscType::Application,
            _ => return None,
        };
        Some(Self {
            permission_value: wire.permission_value.clone()?,
            permission_type: kind,
        })
    }

    /// The wire form.
    pub fn to_wire(&self) -> TeamsAppResourceSpecificPermission {
        TeamsAppResourceSpecificPermission {
            permission_type: Some(self.permission_type.to_wire()),
            permission_value: Some(self.permission_value.clone()),
            additional_properties: serde_json::Map::new(),
        }
    }

    /// Whether two permissions are the same, ignoring the ASCII case of the name.
    pub fn same_as(&self, other: &Self) -> bool {
        self.permission_type == other.permission_type
            && self
                .permission_value
                .eq_ignore_ascii_case(&other.permission_value)
    }
}

/// Bounds on the work [`parse_package`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackageLimits {
    /// The largest package accepted, in bytes.
    pub max_package_bytes: usize,
    /// The most entries (files and folders) a package may have.
    pub max_entries: usize,
    /// The largest total uncompressed size the entries may declare, in bytes.
    pub max_uncompressed_bytes: u64,
    /// The largest `manifest.json`, in bytes once inflated.
    pub max_manifest_bytes: usize,
}

impl Default for PackageLimits {
    /// 16 MiB packages of at most 64 entries declaring at most 32 MiB, with a manifest of at most
    /// 1 MiB. A Teams package holds a manifest, two icons and perhaps localization files.
    fn default() -> Self {
        Self {
            max_package_bytes: 16 << 20,
            max_entries: 64,
            max_uncompressed_bytes: 32 << 20,
            max_manifest_bytes: 1 << 20,
        }
    }
}

/// What the catalog keeps of an app package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppPackage {
    /// The manifest `id` (becomes `teamsApp.externalId`).
    pub external_id: String,
    /// The manifest `version`.
    pub version: String,
    /// `name.short`.
    pub display_name: String,
    /// `description.short`, if present.
    pub short_description: Option<String>,
    /// `description.full`, if present.
    pub description: Option<String>,
    /// `webApplicationInfo.id`: the Microsoft Entra app linked to the Teams app.
    pub client_app_id: Option<String>,
    /// `authorization.permissions.resourceSpecific`.
    pub resource_specific_permissions: Vec<RscPermission>,
    /// `bots[0].botId`.
    pub bot_id: Option<String>,
}

/// Reads a Teams app package with the [`PackageLimits::default`] limits.
pub fn parse_package(bytes: &[u8]) -> Result<AppPackage, PackageError> {
    parse_package_with(bytes, PackageLimits::default())
}

/// Reads a Teams app package within `limits`.
pub fn parse_package_with(bytes: &[u8], limits: PackageLimits) -> Result<AppPackage, PackageError> {
    let (manifest, files) = read_manifest(bytes, limits).map_err(|p| invalid(vec![p]))?;
    let missing_icons = icon_problems(&manifest, &files);
    match parse_manifest(&manifest) {
        Ok(package) if missing_icons.is_empty() => Ok(package),
        Ok(_) => Err(invalid(missing_icons)),
        Err(PackageError { mut details, .. }) => {
            details.extend(missing_icons);
            Err(invalid(details))
        }
    }
}

/// The icons the manifest names that the package does not hold (none when the manifest is not a
/// JSON object: [`parse_manifest`] reports that).
fn icon_problems(manifest: &[u8], files: &[String]) -> Vec<PackageProblem> {
    let manifest = manifest.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(manifest);
    let Ok(Value::Object(root)) = serde_json::from_slice::<Value>(manifest) else {
        return Vec::new();
    };
    let Some(icons) = root.get("icons").and_then(Value::as_object) else {
        return vec![problem(
            "SchemaError_Required",
            "",
            "Required properties are missing from object: [icons].",
        )];
    };
    let mut problems = Vec::new();
    for kind in ["color", "outline"] {
        let target = format!("icons.{kind}");
        match icons.get(kind).and_then(Value::as_str) {
            None => problems.push(problem(
                "SchemaError_Required",
                "icons",
                format!("Required properties are missing from object: [{kind}]."),
            )),
            Some(name) if !files.iter().any(|f| f == name) => problems.push(problem(
                "FileNotFound",
                &target,
                format!(
                    "The app package has no file \"{}\" (the {kind} icon).",
                    echo(name)
                ),
            )),
            Some(_) => {}
        }
    }
    problems
}

fn invalid(details: Vec<PackageProblem>) -> PackageError {
    let message = details
        .iter()
        .map(|d| {
            if d.target.is_empty() {
                d.message.clone()
            } else {
                format!("{} | {}", d.target, d.message)
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    PackageError { message, details }
}

fn problem(code: &'static str, target: &str, message: impl Into<String>) -> PackageProblem {
    PackageProblem {
        code,
        message: message.into(),
        target: target.to_owned(),
    }
}

/// The text of `manifest.json` and the names of every entry.
fn read_manifest(
    bytes: &[u8],
    limits: PackageLimits,
) -> Result<(Vec<u8>, Vec<String>), PackageProblem> {
    const PACKAGE: &str = "";
    if bytes.is_empty() {
        return Err(problem(
            "InvalidPackage",
            PACKAGE,
            "The app package is empty; send the zip file as the request body.",
        ));
    }
    if bytes.len() > limits.max_package_bytes {
        return Err(problem(
            "PackageTooLarge",
            PACKAGE,
            format!(
                "The app package is larger than {} bytes.",
                limits.max_package_bytes
            ),
        ));
    }
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
        problem(
            "InvalidPackage",
            PACKAGE,
            format!("The app package is not a valid zip file ({e})."),
        )
    })?;
    if archive.len() > limits.max_entries {
        return Err(problem(
            "PackageTooLarge",
            PACKAGE,
            format!(
                "The app package has {} entries; at most {} are accepted.",
                archive.len(),
                limits.max_entries
            ),
        ));
    }
    let mut declared: u64 = 0;
    let mut manifest_index = None;
    let mut files = Vec::new();
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).map_err(|e| {
            problem(
                "InvalidPackage",
                PACKAGE,
                format!("The app package has an unreadable entry ({e})."),
            )
        })?;
        declared = declared.saturating_add(entry.size());
        if entry.name().is_ok_and(|n| n == "manifest.json") {
            manifest_index = Some(index);
        }
        if let Ok(name) = entry.name() {
            files.push(name.into_owned());
        }
    }
    if declared > limits.max_uncompressed_bytes {
        return Err(problem(
            "PackageTooLarge",
            PACKAGE,
            format!(
                "The app package would inflate to more than {} bytes.",
                limits.max_uncompressed_bytes
            ),
        ));
    }
    let Some(index) = manifest_index else {
        return Err(problem(
            "ManifestNotFound",
            "manifest.json",
            "The app package has no manifest.json at its root.",
        ));
    };
    let entry = archive.by_index(index).map_err(|e| {
        problem(
            "InvalidPackage",
            "manifest.json",
            format!("manifest.json cannot be read ({e})."),
        )
    })?;
    let mut manifest = Vec::new();
    let cap = u64::try_from(limits.max_manifest_bytes).unwrap_or(u64::MAX);
    entry
        .take(cap.saturating_add(1))
        .read_to_end(&mut manifest)
        .map_err(|e| {
            problem(
                "InvalidPackage",
                "manifest.json",
                format!("manifest.json cannot be inflated ({e})."),
            )
        })?;
    if manifest.len() > limits.max_manifest_bytes {
        return Err(problem(
            "PackageTooLarge",
            "manifest.json",
            format!(
                "manifest.json is larger than {} bytes.",
                limits.max_manifest_bytes
            ),
        ));
    }
    Ok((manifest, files))
}

/// Reads the fields the catalog keeps from the text of a `manifest.json`.
pub fn parse_manifest(manifest: &[u8]) -> Result<AppPackage, PackageError> {
    // A UTF-8 byte order mark is common in manifests written on Windows.
    let manifest = manifest.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(manifest);
    let root: Value = serde_json::from_slice(manifest).map_err(|e| {
        invalid(vec![problem(
            "InvalidJson",
            "manifest.json",
            format!("manifest.json is not valid JSON ({e})."),
        )])
    })?;
    let Value::Object(_) = &root else {
        return Err(invalid(vec![problem(
            "SchemaError_Type",
            "manifest.json",
            "manifest.json must be a JSON object.",
        )]));
    };
    let mut problems = Vec::new();

    let external_id = required_string(&root, &[], "id", &mut problems);
    if let Some(id) = &external_id
        && teamsapp_types::TeamsAppId::new(id.as_str()).is_err()
    {
        problems.push(problem(
            "SchemaError_Pattern",
            "id",
            format!(
                "String \"{}\" is not a valid app id (a GUID, or letters, digits, '.', '_' and '-').",
                echo(id)
            ),
        ));
    }
    let version = required_string(&root, &[], "version", &mut problems);
    if let Some(v) = &version
        && AppVersion::parse(v).is_none()
    {
        problems.push(problem(
            "SchemaError_Pattern",
            "version",
            format!(
                "String \"{}\" does not match regex pattern \"^([0-9]|[1-9][0-9]*)\\.([0-9]|[1-9][0-9]*)\\.([0-9]|[1-9][0-9]*)$\".",
                echo(v)
            ),
        ));
    }
    let display_name = required_string(&root, &["name"], "short", &mut problems);
    let short_description = optional_string(&root, &["description"], "short", &mut problems);
    let description = optional_string(&root, &["description"], "full", &mut problems);
    let client_app_id = optional_string(&root, &["webApplicationInfo"], "id", &mut problems);
    let resource_specific_permissions = rsc_permissions(&root, &mut problems);
    let bot_id = match root.get("bots") {
        None | Some(Value::Null) => None,
        Some(Value::Array(bots)) => match bots.first() {
            None => None,
            Some(bot) => optional_string(bot, &[], "botId", &mut problems),
        },
        Some(_) => {
            problems.push(problem(
                "SchemaError_Type",
                "bots",
                "Expected an array of bots.",
            ));
            None
        }
    };

    match (external_id, version, display_name) {
        (Some(external_id), Some(version), Some(display_name)) if problems.is_empty() => {
            Ok(AppPackage {
                external_id,
                version,
                display_name,
                short_description,
                description,
                client_app_id,
                resource_specific_permissions,
                bot_id,
            })
        }
        _ => Err(invalid(problems)),
    }
}

/// The object at `path` (each segment an object property), if all of it exists.
fn object_at<'a>(root: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter()
        .try_fold(root, |value, segment| value.get(segment))
}

fn required_string(
    root: &Value,
    path: &[&str],
    name: &str,
    problems: &mut Vec<PackageProblem>,
) -> Option<String> {
    let target = path.join(".");
    let Some(parent) = object_at(root, path) else {
        problems.push(problem(
            "SchemaError_Required",
            path.first().copied().unwrap_or(""),
            format!(
                "Required properties are missing from object: [{}].",
                path.first().copied().unwrap_or(name)
            ),
        ));
        return None;
    };
    match parent.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        None | Some(Value::Null) => {
            problems.push(problem(
                "SchemaError_Required",
                &target,
                format!("Required properties are missing from object: [{name}]."),
            ));
            None
        }
        Some(Value::String(_)) => {
            problems.push(problem(
                "SchemaError_MinLength",
                &join(&target, name),
                "String is shorter than the minimum length of 1.",
            ));
            None
        }
        Some(_) => {
            problems.push(problem(
                "SchemaError_Type",
                &join(&target, name),
                "Invalid type. Expected String.",
            ));
            None
        }
    }
}

fn optional_string(
    root: &Value,
    path: &[&str],
    name: &str,
    problems: &mut Vec<PackageProblem>,
) -> Option<String> {
    match object_at(root, path)?.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        _ => {
            problems.push(problem(
                "SchemaError_Type",
                &join(&path.join("."), name),
                "Invalid type. Expected String.",
            ));
            None
        }
    }
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

fn rsc_permissions(root: &Value, problems: &mut Vec<PackageProblem>) -> Vec<RscPermission> {
    const TARGET: &str = "authorization.permissions.resourceSpecific";
    let Some(list) = object_at(root, &["authorization", "permissions", "resourceSpecific"]) else {
        return Vec::new();
    };
    let Value::Array(items) = list else {
        problems.push(problem(
            "SchemaError_Type",
            TARGET,
            "Invalid type. Expected Array.",
        ));
        return Vec::new();
    };
    let mut permissions = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let target = format!("{TARGET}[{i}]");
        let name = item.get("name").and_then(Value::as_str);
        let kind = item.get("type").and_then(Value::as_str);
        match (name, kind) {
            (Some(name), Some(kind)) if !name.is_empty() => {
                let Some(kind) = RscType::parse(kind) else {
                    problems.push(problem(
                        "SchemaError_Enum",
                        &format!("{target}.type"),
                        format!(
                            "Value \"{}\" is not defined in enum [Application, Delegated].",
                            echo(kind)
                        ),
                    ));
                    continue;
                };
                let permission = RscPermission {
                    permission_value: name.to_owned(),
                    permission_type: kind,
                };
                if !permissions.contains(&permission) {
                    permissions.push(permission);
                }
            }
            _ => problems.push(problem(
                "SchemaError_Required",
                &target,
                "Required properties are missing from object: [name, type].",
            )),
        }
    }
    permissions
}

/// A 1×1 transparent PNG: the icons of [`build_package`]'s packages.
const PNG_1X1: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

/// Writes a minimal valid Teams app package (manifest and both icons): for tests, the demo and
/// benchmarks.
///
/// `extra` is merged into the manifest's top-level object (e.g. `webApplicationInfo`,
/// `authorization`, `bots`).
pub fn build_package(
    external_id: &str,
    version: &str,
    name: &str,
    extra: &serde_json::Map<String, Value>,
) -> Vec<u8> {
    let mut manifest = serde_json::json!({
        "$schema": "https://developer.microsoft.com/json-schemas/teams/v1.17/MicrosoftTeams.schema.json",
        "manifestVersion": "1.17",
        "id": external_id,
        "version": version,
        "name": { "short": name, "full": name },
        "description": { "short": format!("{name} for Microsoft Teams"), "full": format!("{name}: a demo app of the teamsapp emulator.") },
        "developer": { "name": "Contoso", "websiteUrl": "https://contoso.example", "privacyUrl": "https://contoso.example/privacy", "termsOfUseUrl": "https://contoso.example/terms" },
        "icons": { "color": "color.png", "outline": "outline.png" },
        "accentColor": "#FFFFFF"
    });
    if let Value::Object(object) = &mut manifest {
        for (key, value) in extra {
            object.insert(key.clone(), value.clone());
        }
    }
    let text = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    zip_files(&[
        ("manifest.json", &text),
        ("color.png", PNG_1X1),
        ("outline.png", PNG_1X1),
    ])
}

/// Zips `files` (name, contents) with deflate; an empty vector if writing fails (it cannot, in
/// memory).
pub fn zip_files(files: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write as _;
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, contents) in files {
        if writer.start_file(*name, options).is_err() || writer.write_all(contents).is_err() {
            return Vec::new();
        }
    }
    writer.finish().map(Cursor::into_inner).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extra(value: Value) -> serde_json::Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        }
    }

    #[test]
    fn reads_a_real_package() {
        let package = build_package(
            "a55ec032-36e9-4b60-b604-34b2fe55abf1",
            "1.2.0",
            "Contoso Polls",
            &extra(serde_json::json!({
                "webApplicationInfo": { "id": "11111111-2222-3333-4444-555555555555", "resource": "api://x" },
                "authorization": { "permissions": { "resourceSpecific": [
                    { "name": "ChatMessage.Read.Chat", "type": "Application" },
                    { "name": "OnlineMeeting.ReadBasic.Chat", "type": "Delegated" }
                ] } },
                "bots": [ { "botId": "bb9f67a4-893b-48d7-ab17-40ed466c0f16", "scopes": ["personal"] } ]
            })),
        );
        let app = parse_package(&package).unwrap();
        assert_eq!(app.external_id, "a55ec032-36e9-4b60-b604-34b2fe55abf1");
        assert_eq!(app.version, "1.2.0");
        assert_eq!(app.display_name, "Contoso Polls");
        assert_eq!(
            app.client_app_id.as_deref(),
            Some("11111111-2222-3333-4444-555555555555")
        );
        assert_eq!(app.resource_specific_permissions.len(), 2);
        assert_eq!(
            app.resource_specific_permissions[0].permission_type,
            RscType::Application
        );
        assert_eq!(
            app.bot_id.as_deref(),
            Some("bb9f67a4-893b-48d7-ab17-40ed466c0f16")
        );
    }

    fn problems(bytes: &[u8]) -> Vec<PackageProblem> {
        parse_package(bytes).unwrap_err().details
    }

    #[test]
    fn explains_what_is_wrong() {
        assert_eq!(problems(b"")[0].code, "InvalidPackage");
        assert_eq!(problems(b"not a zip")[0].code, "InvalidPackage");
        let no_manifest = zip_files(&[("icon.png", b"png")]);
        assert_eq!(problems(&no_manifest)[0].code, "ManifestNotFound");
        let nested = zip_files(&[("app/manifest.json", b"{}")]);
        assert_eq!(problems(&nested)[0].code, "ManifestNotFound");
        let bad_json = zip_files(&[("manifest.json", b"{")]);
        assert_eq!(problems(&bad_json)[0].code, "InvalidJson");
        let array = zip_files(&[("manifest.json", b"[]")]);
        assert_eq!(problems(&array)[0].code, "SchemaError_Type");

        let missing = zip_files(&[("manifest.json", br#"{"version":"x","name":{}}"#)]);
        let found = problems(&missing);
        let codes: Vec<(&str, &str)> = found.iter().map(|p| (p.code, p.target.as_str())).collect();
        assert_eq!(
            codes,
            [
                ("SchemaError_Required", ""),
                ("SchemaError_Pattern", "version"),
                ("SchemaError_Required", "name"),
                ("SchemaError_Required", ""),
            ]
        );
        let err = parse_package(&missing).unwrap_err();
        assert!(
            err.message
                .contains("name | Required properties are missing from object: [short]."),
            "{err}"
        );

        let bad_rsc = zip_files(&[(
            "manifest.json",
            br#"{"id":"x","version":"1.0.0","name":{"short":"n"},"authorization":{"permissions":{"resourceSpecific":[{"name":"A.Chat","type":"Sometimes"},{"name":"B"}]}}}"#,
        )]);
        let found = problems(&bad_rsc);
        assert_eq!(found[0].code, "SchemaError_Enum");
        assert_eq!(
            found[1].target,
            "authorization.permissions.resourceSpecific[1]"
        );
    }

    #[test]
    fn the_icons_the_manifest_names_must_be_in_the_package() {
        let whole = build_package("x1", "1.0.0", "n", &serde_json::Map::new());
        assert!(parse_package(&whole).is_ok());
        let manifest = br#"{"id":"x1","version":"1.0.0","name":{"short":"n"},"icons":{"color":"color.png","outline":"outline.png"}}"#;
        let no_icons = zip_files(&[("manifest.json", manifest)]);
        let found = problems(&no_icons);
        let codes: Vec<(&str, &str)> = found.iter().map(|p| (p.code, p.target.as_str())).collect();
        assert_eq!(
            codes,
            [
                ("FileNotFound", "icons.color"),
                ("FileNotFound", "icons.outline")
            ]
        );
        let one = zip_files(&[("manifest.json", manifest), ("color.png", PNG_1X1)]);
        assert_eq!(problems(&one).len(), 1);
    }

    #[test]
    fn bounds_hold() {
        let package = build_package("x", "1.0.0", "n", &serde_json::Map::new());
        let small = PackageLimits {
            max_package_bytes: 10,
            ..PackageLimits::default()
        };
        assert_eq!(problems_with(&package, small)[0].code, "PackageTooLarge");
        // A manifest that inflates past the limit, however its sizes are declared.
        let bomb = zip_files(&[("manifest.json", &vec![b' '; 4 << 20])]);
        assert!(bomb.len() < 64 << 10);
        let found = problems_with(&bomb, PackageLimits::default());
        assert_eq!(found[0].code, "PackageTooLarge");
        let many: Vec<(String, Vec<u8>)> = (0..100).map(|i| (format!("f{i}"), vec![])).collect();
        let refs: Vec<(&str, &[u8])> = many
            .iter()
            .map(|(n, c)| (n.as_str(), c.as_slice()))
            .collect();
        assert_eq!(problems(&zip_files(&refs))[0].code, "PackageTooLarge");
    }

    fn problems_with(bytes: &[u8], limits: PackageLimits) -> Vec<PackageProblem> {
        parse_package_with(bytes, limits).unwrap_err().details
    }
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
