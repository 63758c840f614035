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
//! # What is checked
//!
//! As Graph's catalog does, every problem is reported at once: a refusal is Graph's
//! `400 BadRequest` with inner code `UnableToParseTeamsAppManifest` ([`PackageError`]), one
//! [`PackageProblem`] per problem with a code, a message and the manifest path at fault
//! (`name.short`, `bots[0].botId`; empty for the package itself). Problems are sorted by that
//! path (array indexes in numeric order), then code and message; at most [`MAX_PROBLEMS`] are
//! listed, the last saying how many more were found.
//!
//! - **The schema.** `manifest.json` is checked against the official Teams app manifest JSON
//!   schema of the `manifestVersion` it declares, vendored in this crate for every version in
//!   [`SUPPORTED_MANIFEST_VERSIONS`] (1.0 to 1.30: each published 1.x that Microsoft's
//!   `@microsoft/app-manifest` package ships; `schemas/README.md` gives the source, version and
//!   licence). Each schema is compiled once, on first use. Remote `$ref`s are never fetched (the
//!   schemas have none). A version not in that list is an `UnsupportedManifestVersion` problem
//!   at `manifestVersion` that names the accepted ones; a manifest with no `manifestVersion` is
//!   checked against the newest schema, so its other problems are reported too.
//! - **What the catalog keeps**, beyond the schema: `version` must be `MAJOR.MINOR.PATCH`
//!   numbers (older schemas only cap its length), `name.short` must not be blank, and the fields
//!   below must have the types the catalog reads.
//! - **The icons**: `icons.color` and `icons.outline` must name files in the package
//!   (`FileNotFound`), be PNG images (`InvalidIconFormat`), 192×192 and 32×32 pixels
//!   (`InvalidIconSize`), read from the PNG's `IHDR` header. Their pixels (an outline icon's
//!   white on transparent) are not checked.
//! - **The zip**: empty, not a zip, too large or with too many entries (`InvalidPackage`,
//!   `PackageTooLarge`), no root `manifest.json` (`ManifestNotFound`), manifest not JSON
//!   (`InvalidJson`), two entries with the same name (`DuplicateEntry`), an entry name with a
//!   NUL character (`InvalidEntryName`).
//!
//! # Codes
//!
//! Graph documents `SchemaError_Required` and `SchemaError_Pattern` (with messages in the words
//! used here); it documents no other code for this API. The other schema codes follow the same
//! `SchemaError_` + keyword style: `SchemaError_MaxLength`, `SchemaError_MinLength`,
//! `SchemaError_Type`, `SchemaError_Enum`, `SchemaError_Const`, `SchemaError_Format`,
//! `SchemaError_AdditionalProperties`, `SchemaError_MaxItems`, `SchemaError_MinItems`,
//! `SchemaError_UniqueItems`, `SchemaError_Maximum`, `SchemaError_Minimum`,
//! `SchemaError_MultipleOf`, `SchemaError_MaxProperties`, `SchemaError_MinProperties`,
//! `SchemaError_AdditionalItems`, `SchemaError_OneOf`, `SchemaError_AnyOf`, `SchemaError_Not`,
//! and `SchemaError_Validator` for any other keyword. A missing property is one
//! `SchemaError_Required` problem whose target is the missing property (`name.short`); an
//! unexpected one is a `SchemaError_AdditionalProperties` problem at that property. The package
//! codes above (`FileNotFound`, `InvalidIconFormat`, `InvalidIconSize`, `DuplicateEntry`,
//! `InvalidEntryName`, `UnsupportedManifestVersion`, `InvalidPackage`, `PackageTooLarge`,
//! `ManifestNotFound`, `InvalidJson`, `TooManyProblems`) are ours: Graph documents none.
//!
//! Fields read (Teams manifest schema): `id` → `teamsApp.externalId`, `version`, `name.short` →
//! `displayName`, `description.short` / `description.full`, `webApplicationInfo.id` →
//! `authorization.clientAppId`, `authorization.permissions.resourceSpecific[] {name, type}` →
//! `authorization.requiredPermissionSet`, and `bots[0].botId` → `bot.id`.
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

mod schema;

pub use schema::SUPPORTED_MANIFEST_VERSIONS;

/// The most problems one [`PackageError`] lists: past it, the first `MAX_PROBLEMS - 1` (in the
/// sorted order) are listed and a last `TooManyProblems` entry says how many more were found.
pub const MAX_PROBLEMS: usize = 100;

/// A package that is not a valid Teams app package: Graph's `400 BadRequest` with inner code
/// `UnableToParseTeamsAppManifest`, one detail per problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PackageError {
    /// Graph's message: every problem as `target | message`, joined by `; `.
    pub message: String,
    /// One entry per problem (`SchemaError_Required`, …), as in `innerError.details`, sorted by
    /// target; at most [`MAX_PROBLEMS`].
    pub details: Vec<PackageProblem>,
}

/// One problem found in an app package, rendered as an entry of Graph's `innerError.details`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageProblem {
    /// Graph's schema error code, e.g. `SchemaError_Required` (the crate docs list them all).
    pub code: &'static str,
    /// What is wrong, e.g. `Required properties are missing from object: [short].`.
    pub message: String,
    /// The manifest path at fault, e.g. `name.short` or `bots[0].botId`; empty for the package
    /// itself.
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
    /// Where the app can be installed: the `scopes` of its bots and tabs,
    /// as Graph's beta `allowedInstallationScopes` names them (`team`, `groupChat`, `personal`,
    /// in that order); empty when no capability names one.
    pub installation_scopes: Vec<String>,
}

/// The scopes the manifest's capabilities may be installed in, in Graph's order.
fn installation_scopes(root: &Value) -> Vec<String> {
    let named: Vec<String> = [
        "bots",
        "staticTabs",
        "configurableTabs",
        "composeExtensions",
    ]
    .iter()
    .filter_map(|capability| root.get(capability).and_then(Value::as_array))
    .flatten()
    .filter_map(|entry| entry.get("scopes").and_then(Value::as_array))
    .flatten()
    .filter_map(Value::as_str)
    .map(str::to_ascii_lowercase)
    .collect();
    ["team", "groupChat", "personal"]
        .into_iter()
        .filter(|scope| named.iter().any(|n| n.eq_ignore_ascii_case(scope)))
        .map(str::to_owned)
        .collect()
}

/// Reads a Teams app package with the [`PackageLimits::default`] limits.
pub fn parse_package(bytes: &[u8]) -> Result<AppPackage, PackageError> {
    parse_package_with(bytes, PackageLimits::default())
}

/// Reads a Teams app package within `limits`.
pub fn parse_package_with(bytes: &[u8], limits: PackageLimits) -> Result<AppPackage, PackageError> {
    let mut archive = open_archive(bytes, limits).map_err(|p| invalid(vec![p]))?;
    let entries = scan_entries(&mut archive, limits).map_err(|p| invalid(vec![p]))?;
    let mut problems = entries.problems;
    let Some(index) = entries.manifest else {
        problems.push(problem(
            "ManifestNotFound",
            "manifest.json",
            "The app package has no manifest.json at its root.",
        ));
        return Err(invalid(problems));
    };
    let root = match read_manifest(&mut archive, index, limits).and_then(|m| read_json(&m)) {
        Ok(root) => root,
        Err(p) => {
            problems.push(p);
            return Err(invalid(problems));
        }
    };
    let (package, found) = check_manifest(&root);
    problems.extend(found);
    problems.extend(icon_problems(&root, &mut archive, &entries.files));
    match package {
        Some(package) if problems.is_empty() => Ok(package),
        _ => Err(invalid(problems)),
    }
}

/// Reads the fields the catalog keeps from the text of a `manifest.json`, after checking it
/// against the schema of its `manifestVersion` (everything [`parse_package`] checks but the zip
/// and the icons).
pub fn parse_manifest(manifest: &[u8]) -> Result<AppPackage, PackageError> {
    let root = read_json(manifest).map_err(|p| invalid(vec![p]))?;
    match check_manifest(&root) {
        (Some(package), problems) if problems.is_empty() => Ok(package),
        (_, problems) => Err(invalid(problems)),
    }
}

/// The error for `problems`: sorted by target (then code and message), duplicates dropped, at
/// most [`MAX_PROBLEMS`]. Never called with no problem.
fn invalid(mut details: Vec<PackageProblem>) -> PackageError {
    details.sort_by_cached_key(|p| (schema::segments(&p.target), p.code, p.message.clone()));
    details.dedup();
    if details.len() > MAX_PROBLEMS {
        let more = details.len() - (MAX_PROBLEMS - 1);
        details.truncate(MAX_PROBLEMS - 1);
        details.push(problem(
            "TooManyProblems",
            "",
            format!(
                "{more} more problems were found and are not listed; {} are listed.",
                MAX_PROBLEMS - 1
            ),
        ));
    }
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

type Archive<'a> = zip::ZipArchive<Cursor<&'a [u8]>>;

/// Opens the zip, refusing what is empty, too large or has too many entries.
fn open_archive(bytes: &[u8], limits: PackageLimits) -> Result<Archive<'_>, PackageProblem> {
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
    let archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
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
    Ok(archive)
}

/// What the entries of a package say before any is inflated.
struct Entries {
    /// The index of the root `manifest.json`.
    manifest: Option<usize>,
    /// The name of every entry (those with a UTF-8 name).
    files: Vec<String>,
    /// Duplicate names and names with NUL: reported with the manifest's problems.
    problems: Vec<PackageProblem>,
}

fn scan_entries(
    archive: &mut Archive<'_>,
    limits: PackageLimits,
) -> Result<Entries, PackageProblem> {
    let mut declared: u64 = 0;
    let mut entries = Entries {
        manifest: None,
        files: Vec::new(),
        problems: Vec::new(),
    };
    if archive.has_duplicate_names() {
        entries.problems.push(problem(
            "DuplicateEntry",
            "",
            "The app package has two or more entries with the same name; each name must be unique.",
        ));
    }
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).map_err(|e| {
            problem(
                "InvalidPackage",
                "",
                format!("The app package has an unreadable entry ({e})."),
            )
        })?;
        declared = declared.saturating_add(entry.size());
        if entry.name_raw().contains(&0) {
            let shown = String::from_utf8_lossy(entry.name_raw())
                .escape_debug()
                .to_string();
            entries.problems.push(problem(
                "InvalidEntryName",
                "",
                format!(
                    "The app package has an entry whose name has a NUL character (\"{}\").",
                    echo(&shown)
                ),
            ));
            continue;
        }
        if let Ok(name) = entry.name() {
            if name == "manifest.json" {
                entries.manifest = Some(index);
            }
            entries.files.push(name.into_owned());
        }
    }
    if declared > limits.max_uncompressed_bytes {
        return Err(problem(
            "PackageTooLarge",
            "",
            format!(
                "The app package would inflate to more than {} bytes.",
                limits.max_uncompressed_bytes
            ),
        ));
    }
    Ok(entries)
}

/// The text of `manifest.json`, inflated up to the limit.
fn read_manifest(
    archive: &mut Archive<'_>,
    index: usize,
    limits: PackageLimits,
) -> Result<Vec<u8>, PackageProblem> {
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
    Ok(manifest)
}

/// The manifest as JSON (a UTF-8 byte order mark, common in manifests written on Windows, is
/// skipped).
fn read_json(manifest: &[u8]) -> Result<Value, PackageProblem> {
    let manifest = manifest.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(manifest);
    serde_json::from_slice(manifest).map_err(|e| {
        problem(
            "InvalidJson",
            "manifest.json",
            format!("manifest.json is not valid JSON ({e})."),
        )
    })
}

/// Checks a manifest against the schema of its version and reads what the catalog keeps: the
/// package when its fields could be read, and every problem.
fn check_manifest(root: &Value) -> (Option<AppPackage>, Vec<PackageProblem>) {
    if !root.is_object() {
        return (
            None,
            vec![problem(
                "SchemaError_Type",
                "manifest.json",
                "manifest.json must be a JSON object.",
            )],
        );
    }
    let mut problems = match root.get("manifestVersion") {
        Some(Value::String(version))
            if !SUPPORTED_MANIFEST_VERSIONS.contains(&version.as_str()) =>
        {
            vec![problem(
                "UnsupportedManifestVersion",
                "manifestVersion",
                format!(
                    "Manifest version \"{}\" is not supported; the supported versions are {}.",
                    echo(version),
                    SUPPORTED_MANIFEST_VERSIONS.join(", ")
                ),
            )]
        }
        Some(Value::String(version)) => schema_problems(version, root),
        // Missing or not a string: the newest schema says so, along with everything else (but
        // not that the value is not its own version: it is not a version at all).
        _ => {
            let mut problems = schema_problems(schema::NEWEST, root);
            problems.retain(|p| !(p.target == "manifestVersion" && p.code == "SchemaError_Const"));
            problems
        }
    };
    let (package, extracted) = extract(root);
    // What the schema already says about a field is not said twice.
    let said: std::collections::HashSet<String> =
        problems.iter().map(|p| p.target.clone()).collect();
    problems.extend(extracted.into_iter().filter(|p| !said.contains(&p.target)));
    (package, problems)
}

fn schema_problems(version: &str, root: &Value) -> Vec<PackageProblem> {
    match schema::validator(version) {
        Ok(validator) => schema::check(validator, root),
        Err(why) => vec![problem(
            "UnsupportedManifestVersion",
            "manifestVersion",
            format!(
                "The schema of manifest version {} cannot be used ({}).",
                echo(version),
                echo(&why)
            ),
        )],
    }
}

/// The PNG header's width and height: `None` when `head` is not the start of a PNG.
fn png_size(head: &[u8]) -> Option<(u32, u32)> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    let rest = head.strip_prefix(SIGNATURE)?;
    // The first chunk is IHDR: its length (13), its type, then width and height, big-endian.
    let (length, rest) = rest.split_first_chunk::<4>()?;
    let (kind, rest) = rest.split_first_chunk::<4>()?;
    let (width, rest) = rest.split_first_chunk::<4>()?;
    let (height, _) = rest.split_first_chunk::<4>()?;
    (u32::from_be_bytes(*length) == 13 && kind == b"IHDR")
        .then(|| (u32::from_be_bytes(*width), u32::from_be_bytes(*height)))
}

/// The icons the manifest names that the package does not hold, that are not PNGs, or that do not
/// have their size (color 192×192, outline 32×32). Nothing when `icons` or a name is missing or
/// not a string: the schema says so.
fn icon_problems(root: &Value, archive: &mut Archive<'_>, files: &[String]) -> Vec<PackageProblem> {
    let Some(icons) = root.get("icons").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    for (kind, size) in [("color", 192), ("outline", 32)] {
        let Some(name) = icons.get(kind).and_then(Value::as_str) else {
            continue;
        };
        let target = format!("icons.{kind}");
        if !files.iter().any(|f| f == name) {
            problems.push(problem(
                "FileNotFound",
                &target,
                format!(
                    "The app package has no file \"{}\" (the {kind} icon).",
                    echo(name)
                ),
            ));
            continue;
        }
        let mut head = Vec::new();
        let read = archive
            .by_name(name)
            .map_err(|e| e.to_string())
            .and_then(|entry| {
                entry
                    .take(24)
                    .read_to_end(&mut head)
                    .map_err(|e| e.to_string())
            });
        match (read, png_size(&head)) {
            (Err(e), _) => problems.push(problem(
                "InvalidIconFormat",
                &target,
                format!(
                    "The {kind} icon \"{}\" cannot be read ({}).",
                    echo(name),
                    echo(&e)
                ),
            )),
            (Ok(_), None) => problems.push(problem(
                "InvalidIconFormat",
                &target,
                format!("The {kind} icon \"{}\" is not a PNG image.", echo(name)),
            )),
            (Ok(_), Some((w, h))) if (w, h) != (size, size) => problems.push(problem(
                "InvalidIconSize",
                &target,
                format!(
                    "The {kind} icon \"{}\" is {w}x{h} pixels; it must be {size}x{size}.",
                    echo(name)
                ),
            )),
            (Ok(_), Some(_)) => {}
        }
    }
    problems
}

/// Reads the fields the catalog keeps, with the problems the schema does not catch (or that the
/// manifest has when no schema applies).
fn extract(root: &Value) -> (Option<AppPackage>, Vec<PackageProblem>) {
    let mut problems = Vec::new();

    let external_id = required_string(root, &[], "id", &mut problems);
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
    let version = required_string(root, &[], "version", &mut problems);
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
    let display_name = required_string(root, &["name"], "short", &mut problems);
    let short_description = optional_string(root, &["description"], "short", &mut problems);
    let description = optional_string(root, &["description"], "full", &mut problems);
    let client_app_id = optional_string(root, &["webApplicationInfo"], "id", &mut problems);
    let resource_specific_permissions = rsc_permissions(root, &mut problems);
    let bot_id = match root.get("bots") {
        None | Some(Value::Null) => None,
        Some(Value::Array(bots)) => match bots.first() {
            None => None,
            Some(bot) => optional_string(bot, &[], "botId", &mut problems),
        },
        Some(other) => {
            problems.push(type_problem("bots", "Array", other));
            None
        }
    };
    let package = match (external_id, version, display_name) {
        (Some(external_id), Some(version), Some(display_name)) => Some(AppPackage {
            external_id,
            version,
            display_name,
            short_description,
            description,
            client_app_id,
            resource_specific_permissions,
            bot_id,
            installation_scopes: installation_scopes(root),
        }),
        _ => None,
    };
    (package, problems)
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
    let parent_target = path.join(".");
    let target = schema::child(&parent_target, name);
    let Some(parent) = object_at(root, path) else {
        // Only one-segment paths are used: the missing property is the parent itself.
        let missing = path.first().copied().unwrap_or(name);
        problems.push(problem(
            "SchemaError_Required",
            missing,
            format!("Required properties are missing from object: [{missing}]."),
        ));
        return None;
    };
    if !parent.is_object() {
        problems.push(type_problem(&parent_target, "Object", parent));
        return None;
    }
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
        Some(Value::String(s)) => {
            problems.push(problem(
                "SchemaError_MinLength",
                &target,
                format!(
                    "String \"{}\" is blank; at least one character that is not white space is needed.",
                    echo(s)
                ),
            ));
            None
        }
        Some(other) => {
            problems.push(type_problem(&target, "String", other));
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
        other => {
            problems.push(type_problem(
                &schema::child(&path.join("."), name),
                "String",
                other,
            ));
            None
        }
    }
}

fn type_problem(target: &str, expected: &str, got: &Value) -> PackageProblem {
    problem(
        "SchemaError_Type",
        target,
        format!(
            "Invalid type. Expected {expected} but got {}.",
            schema::type_name(schema::json_type(got))
        ),
    )
}

fn rsc_permissions(root: &Value, problems: &mut Vec<PackageProblem>) -> Vec<RscPermission> {
    const TARGET: &str = "authorization.permissions.resourceSpecific";
    let Some(list) = object_at(root, &["authorization", "permissions", "resourceSpecific"]) else {
        return Vec::new();
    };
    let Value::Array(items) = list else {
        problems.push(type_problem(TARGET, "Array", list));
        return Vec::new();
    };
    let mut permissions = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, item) in items.iter().enumerate() {
        let target = format!("{TARGET}[{i}]");
        if !item.is_object() {
            problems.push(type_problem(&target, "Object", item));
            continue;
        }
        let name = match item.get("name") {
            Some(Value::String(name)) if !name.is_empty() => Some(name.as_str()),
            Some(Value::String(_)) => {
                problems.push(problem(
                    "SchemaError_MinLength",
                    &format!("{target}.name"),
                    "String \"\" is less than minimum length of 1.",
                ));
                None
            }
            None | Some(Value::Null) => {
                problems.push(problem(
                    "SchemaError_Required",
                    &format!("{target}.name"),
                    "Required properties are missing from object: [name].",
                ));
                None
            }
            Some(other) => {
                problems.push(type_problem(&format!("{target}.name"), "String", other));
                None
            }
        };
        let kind = match item.get("type") {
            Some(Value::String(kind)) => {
                let parsed = RscType::parse(kind);
                if parsed.is_none() {
                    problems.push(problem(
                        "SchemaError_Enum",
                        &format!("{target}.type"),
                        format!(
                            "Value \"{}\" is not defined in enum [Application, Delegated].",
                            echo(kind)
                        ),
                    ));
                }
                parsed
            }
            None | Some(Value::Null) => {
                problems.push(problem(
                    "SchemaError_Required",
                    &format!("{target}.type"),
                    "Required properties are missing from object: [type].",
                ));
                None
            }
            Some(other) => {
                problems.push(type_problem(&format!("{target}.type"), "String", other));
                None
            }
        };
        if let (Some(name), Some(kind)) = (name, kind) {
            let permission = RscPermission {
                permission_value: name.to_owned(),
                permission_type: kind,
            };
            if seen.insert(permission.clone()) {
                permissions.push(permission);
            }
        }
    }
    permissions
}

/// The icons of [`build_package`]'s packages: a 192×192 full-color PNG and a 32×32 white outline
/// on transparent, as the manifest schema's descriptions ask.
const COLOR_PNG: &[u8] = include_bytes!("icons/color.png");
const OUTLINE_PNG: &[u8] = include_bytes!("icons/outline.png");

/// The `manifestVersion` of [`build_package`]'s manifests.
pub const BUILD_MANIFEST_VERSION: &str = "1.17";

/// Writes a minimal valid Teams app package (manifest and both icons, valid against the schema of
/// [`BUILD_MANIFEST_VERSION`]): for tests, the demo and benchmarks.
///
/// `extra` is merged into the manifest's top-level object (e.g. `webApplicationInfo`,
/// `authorization`, `bots`). `external_id` should be a GUID and `name` at most 30 characters, as
/// the schema asks.
pub fn build_package(
    external_id: &str,
    version: &str,
    name: &str,
    extra: &serde_json::Map<String, Value>,
) -> Vec<u8> {
    build_package_for(BUILD_MANIFEST_VERSION, external_id, version, name, extra)
}

/// [`build_package`] with the given `manifestVersion` (one of [`SUPPORTED_MANIFEST_VERSIONS`]):
/// the manifest then has what that version's schema requires (`packageName` before 1.5, no
/// `$schema` in 1.0, whose schema does not define it).
pub fn build_package_for(
    manifest_version: &str,
    external_id: &str,
    version: &str,
    name: &str,
    extra: &serde_json::Map<String, Value>,
) -> Vec<u8> {
    let mut manifest = serde_json::json!({
        "$schema": format!("https://developer.microsoft.com/json-schemas/teams/v{manifest_version}/MicrosoftTeams.schema.json"),
        "manifestVersion": manifest_version,
        "id": external_id,
        "version": version,
        "name": { "short": name, "full": name },
        "description": { "short": format!("{name} for Microsoft Teams"), "full": format!("{name}: a demo app of the teamsapp emulator.") },
        "developer": { "name": "Contoso", "websiteUrl": "https://contoso.example", "privacyUrl": "https://contoso.example/privacy", "termsOfUseUrl": "https://contoso.example/terms" },
        "icons": { "color": "color.png", "outline": "outline.png" },
        "accentColor": "#FFFFFF"
    });
    if let Value::Object(object) = &mut manifest {
        if manifest_version == "1.0" {
            object.remove("$schema");
        }
        if ["1.0", "1.1", "1.2", "1.3", "1.4"].contains(&manifest_version) {
            object.insert("packageName".into(), "com.contoso.teamsapp".into());
        }
        for (key, value) in extra {
            object.insert(key.clone(), value.clone());
        }
    }
    let text = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    zip_files(&[
        ("manifest.json", &text),
        ("color.png", COLOR_PNG),
        ("outline.png", OUTLINE_PNG),
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
mod tests;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
