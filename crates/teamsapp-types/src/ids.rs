//! Validated id newtypes: one type per kind of id this API family puts in a URL or a body.
//!
//! Each type wraps the id exactly as Graph spells it (no case folding, no re-encoding), checks it
//! when built ([`ChatId::new`], [`str::parse`], serde), and serializes as a plain JSON string.
//! The rules are exact but never stricter than Graph: an id Graph hands out always parses.
//!
//! Ids travel in URLs percent-encoded, but these types hold them *decoded*: `19:…@thread.v2`, not
//! `19%3A…%40thread.v2`. Encoding is the caller's business when a path is built.
//!
//! Installation and app definition ids are opaque to clients. Graph happens to form them as
//! base64 of `##`-joined parts; [`AppInstallationId::build`], [`AppInstallationId::decode`],
//! [`TeamsAppDefinitionId::build`] and [`TeamsAppDefinitionId::decode`] reproduce that for the
//! emulator and for diagnostics, and nothing should depend on it for correctness.

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// The kinds of id this module validates, as named in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdKind {
    /// A [`ChatId`].
    Chat,
    /// A [`TeamId`].
    Team,
    /// A [`UserId`].
    User,
    /// A [`TeamsAppId`].
    TeamsApp,
    /// A [`TeamsAppDefinitionId`].
    TeamsAppDefinition,
    /// An [`AppInstallationId`].
    AppInstallation,
}

impl IdKind {
    /// The lowercase name used in messages, e.g. `chat id`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Chat => "chat id",
            Self::Team => "team id",
            Self::User => "user id",
            Self::TeamsApp => "teams app id",
            Self::TeamsAppDefinition => "teams app definition id",
            Self::AppInstallation => "app installation id",
        }
    }

    /// Checks `value` against the rules of this kind of id without copying it: what the id
    /// newtype's `new` checks.
    pub fn validate(self, value: &str) -> Result<(), Error> {
        let checked = match self {
            Self::Chat => validate_chat(value),
            Self::Team => validate_team(value),
            Self::User => validate_user(value),
            Self::TeamsApp => validate_teams_app(value),
            Self::TeamsAppDefinition | Self::AppInstallation => validate_opaque(value),
        };
        checked.map_err(|reason| Error::invalid_id(self, value, reason))
    }
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Implements the shared surface of an id newtype: constructor, accessors, conversions, serde.
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident, $kind:expr, $validate:path) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Checks `value` against the rules in the type's documentation and wraps it unchanged.
            pub fn new(value: impl Into<String>) -> Result<Self, Error> {
                let value = value.into();
                match $validate(&value) {
                    Ok(()) => Ok(Self(value)),
                    Err(reason) => Err(Error::invalid_id($kind, &value, reason)),
                }
            }

            /// The id exactly as given (not percent-encoded).
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as an owned string.
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self, Error> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;

            fn try_from(value: String) -> Result<Self, Error> {
                Self::new(value)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = Error;

            fn try_from(value: &str) -> Result<Self, Error> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        /// Exact (byte-wise) comparison, consistent with `Eq` and `Hash`, so ids can key maps
        /// that are looked up by `&str`.
        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = String::deserialize(deserializer)?;
                Self::new(value).map_err(serde::de::Error::custom)
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Shared checks. Each returns the reason a value is rejected, phrased to follow
// `invalid <kind> "<value>": `.

const EMPTY: &str = "must not be empty";
const WHITESPACE: &str = "must not contain whitespace or control characters";
const DOT_SEGMENT: &str = r#"must not be "." or "..""#;

/// Whether `s` is a GUID in its 8-4-4-4-12 hexadecimal form (either case, no braces): the one
/// check of this shape, shared by the ids, the model's tenant rules and the emulator.
///
/// ```
/// use teamsapp_types::ids::is_guid;
///
/// assert!(is_guid("c0ffee00-0000-4000-8000-000000000001"));
/// assert!(is_guid("C0FFEE00-0000-4000-8000-00000000F1EE"));
/// assert!(!is_guid("{c0ffee00-0000-4000-8000-000000000001}"));
/// assert!(!is_guid("contoso.onmicrosoft.com"));
/// ```
pub fn is_guid(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// `text` in ASCII lowercase, borrowed when it already is: ids (and host names) usually are, so
/// the key of a case-insensitive lookup costs no allocation.
///
/// ```
/// use teamsapp_types::ids::ascii_lowercase;
/// use std::borrow::Cow;
///
/// assert!(matches!(ascii_lowercase("c0ffee00-0000"), Cow::Borrowed("c0ffee00-0000")));
/// assert_eq!(ascii_lowercase("C0FFEE00-Ä"), "c0ffee00-Ä");
/// ```
pub fn ascii_lowercase(text: &str) -> std::borrow::Cow<'_, str> {
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(text.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// Rejects empty values and values longer than `max` characters.
fn check_length(s: &str, max: usize, too_long: &'static str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err(EMPTY);
    }
    // No more bytes than the limit is no more characters (the common case, counted without
    // decoding); otherwise counting stops one past the limit, so a huge input costs no more
    // than a short one.
    if s.len() > max && s.chars().nth(max).is_some() {
        return Err(too_long);
    }
    Ok(())
}

/// Rejects whitespace and control characters (which no Graph id contains).
fn check_no_whitespace(s: &str) -> Result<(), &'static str> {
    // ASCII text, the common case, byte by byte: its only whitespace that is not a control
    // character is the space.
    let found = if s.is_ascii() {
        s.bytes().any(|b| b == b' ' || b.is_ascii_control())
    } else {
        s.chars().any(|c| c.is_whitespace() || c.is_control())
    };
    if found { Err(WHITESPACE) } else { Ok(()) }
}

/// The longest opaque id accepted (app definition and installation ids).
const OPAQUE_MAX: usize = 1024;

/// The scratch space [`AppInstallationId::decode_in`] decodes into: enough for the longest id
/// (1024 characters of base64 are at most 768 bytes).
pub const DECODE_SCRATCH: usize = OPAQUE_TEXT_MAX;

/// The longest text [`AppInstallationId::build`] and [`TeamsAppDefinitionId::build`] encode:
/// 768 bytes of text are 1024 characters of padded base64.
const OPAQUE_TEXT_MAX: usize = OPAQUE_MAX / 4 * 3;

/// Opaque ids: non-empty, at most 1024 characters, no whitespace or control characters, and not a
/// dot segment (which a URL parser would resolve away, since `.` is never percent-encoded).
fn validate_opaque(s: &str) -> Result<(), &'static str> {
    check_length(s, OPAQUE_MAX, "must be at most 1024 characters")?;
    check_no_whitespace(s)?;
    if s == "." || s == ".." {
        return Err(DOT_SEGMENT);
    }
    Ok(())
}

/// Padding optional, as in the ids Graph's docs put in URLs.
const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Decodes standard or URL-safe base64, padded or not; `None` if it is neither.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let engine = if s.contains(['-', '_']) {
        &URL_SAFE_LENIENT
    } else {
        &STANDARD_LENIENT
    };
    engine.decode(s).ok()
}

/// Decodes base64 of UTF-8 text.
fn decode_base64_text(s: &str) -> Option<String> {
    String::from_utf8(decode_base64(s)?).ok()
}

// ---------------------------------------------------------------------------------------------
// Chat ids.

const CHAT_PREFIX: &str = "19:";
const THREAD_V2: &str = "@thread.v2";
const ONE_ON_ONE: &str = "@unq.gbl.spaces";
const THREAD_SKYPE: &str = "@thread.skype";
const MEETING_PREFIX: &str = "meeting_";

/// Splits a chat id (known to start with `19:`) into its thread part and its `@…` suffix.
fn chat_parts(s: &str) -> Option<(&str, &'static str)> {
    let rest = s.strip_prefix(CHAT_PREFIX)?;
    [THREAD_V2, ONE_ON_ONE, THREAD_SKYPE]
        .into_iter()
        .find_map(|suffix| Some((rest.strip_suffix(suffix)?, suffix)))
}

fn validate_chat(s: &str) -> Result<(), &'static str> {
    check_length(s, 256, "must be at most 256 characters")?;
    if !s.starts_with(CHAT_PREFIX) {
        let looks_encoded = s
            .get(..CHAT_PREFIX.len() + 2)
            .is_some_and(|head| head.eq_ignore_ascii_case("19%3a"));
        return Err(if looks_encoded {
            r#"must not be percent-encoded (decode "19%3A" to "19:")"#
        } else {
            r#"must start with "19:""#
        });
    }
    check_no_whitespace(s)?;
    if s.contains(['/', '?', '#']) {
        return Err(r##"must not contain "/", "?" or "#""##);
    }
    let Some((thread, suffix)) = chat_parts(s) else {
        return Err(r#"must end with "@thread.v2", "@unq.gbl.spaces" or "@thread.skype""#);
    };
    if thread.is_empty() {
        return Err(r#"must have a thread id between "19:" and "@""#);
    }
    if thread.contains('@') {
        return Err(r#"must contain exactly one "@""#);
    }
    if suffix == ONE_ON_ONE
        && !thread
            .split_once('_')
            .is_some_and(|(a, b)| is_guid(a) && is_guid(b))
    {
        return Err(r#"must be "19:{guid}_{guid}@unq.gbl.spaces" for a one-on-one chat"#);
    }
    Ok(())
}

id_type! {
    /// A chat's thread id, e.g. `19:ea28e88c00e94c7786b065394a61f296@thread.v2`.
    ///
    /// Accepted forms (all start with `19:` and contain exactly one `@`):
    /// - group chats `19:{thread}@thread.v2`, and meeting chats `19:meeting_{…}@thread.v2`;
    /// - one-on-one chats `19:{user-guid}_{user-guid}@unq.gbl.spaces` (both GUIDs checked);
    /// - legacy `19:{thread}@thread.skype`.
    ///
    /// Rejected: anything else (channel ids `…@thread.tacv2` included), an empty thread part,
    /// whitespace or control characters, `/`, `?`, `#`, and more than 256 characters.
    ChatId, IdKind::Chat, validate_chat
}

/// What kind of chat a [`ChatId`] names, as far as its form tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChatIdKind {
    /// A group chat (`@thread.v2` or legacy `@thread.skype`).
    Group,
    /// An online meeting's chat (`19:meeting_…@thread.v2`).
    Meeting,
    /// A one-on-one chat (`@unq.gbl.spaces`).
    OneOnOne,
}

impl ChatId {
    /// The kind of chat, read from the id's form.
    pub fn kind(&self) -> ChatIdKind {
        match chat_parts(&self.0) {
            Some((_, ONE_ON_ONE)) => ChatIdKind::OneOnOne,
            Some((thread, _)) if thread.starts_with(MEETING_PREFIX) => ChatIdKind::Meeting,
            _ => ChatIdKind::Group,
        }
    }

    /// For a one-on-one chat, the object ids of its two members, in id order.
    pub fn one_on_one_members(&self) -> Option<(&str, &str)> {
        match chat_parts(&self.0) {
            Some((thread, ONE_ON_ONE)) => thread.split_once('_'),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Team and user ids.

fn validate_team(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        Err(EMPTY)
    } else if is_guid(s) {
        Ok(())
    } else {
        Err("must be a GUID (8-4-4-4-12 hexadecimal digits)")
    }
}

id_type! {
    /// A team's id: the GUID of its Microsoft 365 group, e.g.
    /// `6903fa93-605b-43ef-920e-77c4729f8258` (either case; kept as given).
    TeamId, IdKind::Team, validate_team
}

fn validate_user(s: &str) -> Result<(), &'static str> {
    if is_guid(s) {
        return Ok(());
    }
    check_length(s, 256, "must be at most 256 characters")?;
    check_no_whitespace(s)?;
    if s.contains(['/', '?']) {
        return Err(r#"must not contain "/" or "?""#);
    }
    let Some((local, domain)) = s.split_once('@') else {
        return Err("must be a GUID (object id) or a user principal name (name@domain)");
    };
    if domain.contains('@') {
        return Err(r#"must contain exactly one "@""#);
    }
    if local.is_empty() {
        return Err(r#"must have a name before "@""#);
    }
    if !domain.contains('.') || domain.split('.').any(str::is_empty) {
        return Err(r#"must have a domain of dot-separated labels after "@" (e.g. "contoso.com")"#);
    }
    Ok(())
}

id_type! {
    /// A user: an object id (GUID) or a user principal name (`name@domain`), as Graph accepts in
    /// `/users/{user-id | userPrincipalName}`.
    ///
    /// A UPN has exactly one `@`, a non-empty name, and a domain of non-empty dot-separated labels;
    /// it has no whitespace, control characters, `/` or `?`, and at most 256 characters. `#` is
    /// allowed: guest UPNs look like `alice_contoso.com#EXT#@fabrikam.onmicrosoft.com`.
    UserId, IdKind::User, validate_user
}

impl UserId {
    /// Whether this is a user principal name (`name@domain`).
    pub fn is_upn(&self) -> bool {
        !self.is_object_id()
    }

    /// Whether this is an object id (GUID).
    pub fn is_object_id(&self) -> bool {
        is_guid(&self.0)
    }
}

// ---------------------------------------------------------------------------------------------
// Teams app ids.

fn validate_teams_app(s: &str) -> Result<(), &'static str> {
    check_length(s, 128, "must be at most 128 characters")?;
    check_no_whitespace(s)?;
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(r#"must be a GUID or consist of ASCII letters, digits, ".", "_" and "-""#);
    }
    if s == "." || s == ".." {
        return Err(DOT_SEGMENT);
    }
    Ok(())
}

id_type! {
    /// A Teams app's catalog id (`teamsApp.id`), e.g. `0d820ecd-def2-4297-adad-78056cde7c78`.
    ///
    /// Catalog ids are GUIDs, but Microsoft's store apps keep their manifest ids, such as
    /// `com.microsoft.teamspace.tab.planner`. Accepted: 1 to 128 ASCII letters, digits, `.`, `_`
    /// and `-` (a GUID is such a token), except `.` and `..`.
    TeamsAppId, IdKind::TeamsApp, validate_teams_app
}

impl TeamsAppId {
    /// Whether the id is a GUID (an organization or sideloaded app's catalog id).
    pub fn is_guid(&self) -> bool {
        is_guid(&self.0)
    }
}

// ---------------------------------------------------------------------------------------------
// App definition ids.

id_type! {
    /// A Teams app definition's id (one version of an app in the catalog).
    ///
    /// Opaque to clients: non-empty, at most 1024 characters, no whitespace or control characters,
    /// not `.` or `..`. Graph forms it as base64 of `{teamsAppId}##{version}##{State}` (older ids
    /// omit `##{State}`), so the id changes when a version's publishing state does; see
    /// [`TeamsAppDefinitionId::build`] and [`TeamsAppDefinitionId::decode`].
    TeamsAppDefinitionId, IdKind::TeamsAppDefinition, validate_opaque
}

/// The parts of a [`TeamsAppDefinitionId`] as Graph forms it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DecodedDefinitionId {
    /// The catalog id of the app (`teamsApp.id`).
    pub teams_app_id: String,
    /// The app version, e.g. `1.0.2`.
    pub version: String,
    /// The publishing state as Graph writes it in ids (`Published`, `Submitted`, `Rejected`),
    /// absent in older ids.
    pub state: Option<String>,
}

impl TeamsAppDefinitionId {
    /// Forms an id the way Graph does: standard padded base64 of `{teamsAppId}##{version}##{State}`
    /// (or of `{teamsAppId}##{version}` when `state` is `None`).
    ///
    /// The state's first letter is upper-cased, so the wire value `published` gives `Published`.
    /// Fails if `version` or `state` is empty or contains `#`, or if the id would exceed 1024
    /// characters; whatever succeeds [`decode`](Self::decode)s back to its parts.
    pub fn build(
        teams_app_id: &TeamsAppId,
        version: &str,
        state: Option<&str>,
    ) -> Result<Self, Error> {
        let mut text = format!("{teams_app_id}##{version}");
        if let Some(state) = state {
            text.push_str("##");
            let mut chars = state.chars();
            if let Some(first) = chars.next() {
                text.push(first.to_ascii_uppercase());
                text.push_str(chars.as_str());
            }
        }
        let reason = if version.is_empty() {
            Some("its version must not be empty")
        } else if version.contains('#') {
            Some(r##"its version must not contain "#""##)
        } else if state.is_some_and(str::is_empty) {
            Some("its state must not be empty")
        } else if state.is_some_and(|s| s.contains('#')) {
            Some(r##"its state must not contain "#""##)
        } else if text.len() > OPAQUE_TEXT_MAX {
            Some("must be at most 1024 characters once encoded")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::invalid_id(IdKind::TeamsAppDefinition, &text, reason)),
            None => Ok(Self(STANDARD.encode(text))),
        }
    }

    /// Reads the parts back from an id formed as Graph does; `None` for anything else (the id is
    /// opaque, so this is for diagnostics and the emulator, never for correctness).
    ///
    /// Accepts standard or URL-safe base64, padded or not, of UTF-8 text made of two or three
    /// non-empty `##`-separated parts that contain no `#`.
    pub fn decode(&self) -> Option<DecodedDefinitionId> {
        let text = decode_base64_text(&self.0)?;
        let mut parts = text.split("##");
        let teams_app_id = parts.next()?;
        let version = parts.next()?;
        let state = parts.next();
        if parts.next().is_some()
            || [Some(teams_app_id), Some(version), state]
                .into_iter()
                .flatten()
                .any(|part| part.is_empty() || part.contains('#'))
        {
            return None;
        }
        Some(DecodedDefinitionId {
            teams_app_id: teams_app_id.to_owned(),
            version: version.to_owned(),
            state: state.map(str::to_owned),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// App installation ids.

id_type! {
    /// A Teams app installation's id, e.g.
    /// `NjRiOWM3NDYtYjE1NS00MDQyLThkNDctOTQxYmQzODE2ODFiIyMwZDgyMGVjZC1kZWYyLTQyOTctYWRhZC03ODA1NmNkZTdjNzg=`.
    ///
    /// Opaque to clients: non-empty, at most 1024 characters, no whitespace or control characters,
    /// not `.` or `..`. Graph forms it as base64 of `{scopeId}##{teamsAppId}` and accepts it with
    /// or without padding; equality here is exact, use [`normalized_eq`](Self::normalized_eq) or
    /// [`canonical`](Self::canonical) to match both spellings.
    AppInstallationId, IdKind::AppInstallation, validate_opaque
}

/// The parts of an [`AppInstallationId`] as Graph forms it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DecodedInstallationId {
    /// The chat id, team id or user object id the app is installed in.
    pub scope_id: String,
    /// The catalog id of the installed app (`teamsApp.id`).
    pub teams_app_id: String,
}

impl AppInstallationId {
    /// Forms an id the way Graph does: standard padded base64 of `{scopeId}##{teamsAppId}`.
    ///
    /// Fails if a part is empty, if `scope_id` contains `##` or ends with `#`, if `teams_app_id`
    /// contains `##` or starts with `#` (either would make the id ambiguous), or if the id would
    /// exceed 1024 characters; whatever succeeds [`decode`](Self::decode)s back to its parts.
    pub fn build(scope_id: &str, teams_app_id: &str) -> Result<Self, Error> {
        let text = format!("{scope_id}##{teams_app_id}");
        let reason = if scope_id.is_empty() {
            Some("its scope id must not be empty")
        } else if scope_id.contains("##") || scope_id.ends_with('#') {
            Some(r###"its scope id must not contain "##" or end with "#""###)
        } else if teams_app_id.is_empty() {
            Some("its teams app id must not be empty")
        } else if teams_app_id.contains("##") || teams_app_id.starts_with('#') {
            Some(r###"its teams app id must not contain "##" or start with "#""###)
        } else if text.len() > OPAQUE_TEXT_MAX {
            Some("must be at most 1024 characters once encoded")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::invalid_id(IdKind::AppInstallation, &text, reason)),
            None => Ok(Self(STANDARD.encode(text))),
        }
    }

    /// Reads the parts back from an id formed as Graph does; `None` for anything else (the id is
    /// opaque, so this is for diagnostics and the emulator, never for correctness).
    ///
    /// Accepts standard or URL-safe base64, padded or not, of UTF-8 text with exactly one `##`
    /// between two non-empty parts.
    pub fn decode(&self) -> Option<DecodedInstallationId> {
        let mut scratch = [0u8; DECODE_SCRATCH];
        let (scope_id, teams_app_id) = self.decode_in(&mut scratch)?;
        Some(DecodedInstallationId {
            scope_id: scope_id.to_owned(),
            teams_app_id: teams_app_id.to_owned(),
        })
    }

    /// [`decode`](Self::decode) into `scratch` (of [`DECODE_SCRATCH`] bytes, on the caller's
    /// stack): the scope id and the teams app id borrowed from it, nothing allocated.
    pub fn decode_in<'s>(
        &self,
        scratch: &'s mut [u8; DECODE_SCRATCH],
    ) -> Option<(&'s str, &'s str)> {
        let engine = if self.0.contains(['-', '_']) {
            &URL_SAFE_LENIENT
        } else {
            &STANDARD_LENIENT
        };
        let len = engine.decode_slice(&self.0, scratch).ok()?;
        let text = std::str::from_utf8(&scratch[..len]).ok()?;
        let (scope_id, teams_app_id) = text.split_once("##")?;
        if scope_id.is_empty()
            || teams_app_id.is_empty()
            || teams_app_id.starts_with('#')
            || teams_app_id.contains("##")
        {
            return None;
        }
        Some((scope_id, teams_app_id))
    }

    /// The id in Graph's own spelling: standard base64 with padding.
    ///
    /// Unpadded and URL-safe spellings of the same bytes map to it; an id that is not base64 at
    /// all is returned unchanged.
    #[must_use]
    pub fn canonical(&self) -> Self {
        self.canonical_cow().into_owned()
    }

    /// [`canonical`](Self::canonical), borrowing the id when it is already spelled so (Graph's
    /// own ids, the common case): checked by decoding onto the stack, nothing allocated.
    #[must_use]
    pub fn canonical_cow(&self) -> std::borrow::Cow<'_, Self> {
        let mut scratch = [0u8; OPAQUE_TEXT_MAX];
        // The strict engine takes only padded standard base64 with zero trailing bits: exactly
        // the strings that re-encoding would give back unchanged.
        if !self.0.is_empty() && STANDARD.decode_slice(&self.0, &mut scratch).is_ok() {
            return std::borrow::Cow::Borrowed(self);
        }
        std::borrow::Cow::Owned(match decode_base64(&self.0) {
            Some(bytes) if !bytes.is_empty() => {
                let encoded = STANDARD.encode(bytes);
                // Re-encoding never lengthens a valid id past 1024 characters; keep the
                // invariant even so.
                if encoded.len() <= OPAQUE_MAX {
                    Self(encoded)
                } else {
                    self.clone()
                }
            }
            _ => self.clone(),
        })
    }

    /// Whether both ids name the same installation, ignoring base64 padding and alphabet.
    pub fn normalized_eq(&self, other: &Self) -> bool {
        self == other || self.canonical() == other.canonical()
    }
}

#[cfg(test)]
mod tests;
