//! The crate's error type.

use crate::ids::IdKind;

/// How many characters of a rejected value an error echoes back.
///
/// Ids come from URLs, files and command lines; an error must stay bounded whatever it is given.
const ECHO_LIMIT: usize = 100;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A string is not a valid id of the given kind.
    ///
    /// Displays as `invalid chat id "foo": must start with "19:"`.
    #[error("invalid {kind} {value:?}: {reason}")]
    InvalidId {
        /// Which id was being parsed.
        kind: IdKind,
        /// The rejected value, cut to its first 100 characters (followed by `…` when cut).
        value: String,
        /// What the value violates.
        reason: &'static str,
    },
    /// A name (of a national cloud, a permission kind, …) is not one this crate knows.
    ///
    /// Displays as `unknown national cloud "mars": expected one of global, usgov, usgovdod, china`.
    #[error("unknown {what} {value:?}: expected one of {expected}")]
    UnknownName {
        /// What the name should have named, e.g. `national cloud`.
        what: &'static str,
        /// The rejected value, cut to its first 100 characters (followed by `…` when cut).
        value: String,
        /// The accepted names, comma-separated.
        expected: &'static str,
    },
}

impl Error {
    /// An [`Error::InvalidId`] echoing a bounded prefix of `value`.
    pub(crate) fn invalid_id(kind: IdKind, value: &str, reason: &'static str) -> Self {
        Self::InvalidId {
            kind,
            value: echo(value),
            reason,
        }
    }

    /// An [`Error::UnknownName`] echoing a bounded prefix of `value`.
    pub(crate) fn unknown_name(what: &'static str, value: &str, expected: &'static str) -> Self {
        Self::UnknownName {
            what,
            value: echo(value),
            expected,
        }
    }
}

/// The first 100 characters of `value`, with `…` appended when something was cut: how every
/// crate of the workspace echoes a caller-supplied value in a message, so messages stay bounded
/// whatever they are given.
pub fn echo(value: &str) -> String {
    match value.char_indices().nth(ECHO_LIMIT) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_id_message_is_lowercase_and_precise() {
        let err = Error::invalid_id(IdKind::Chat, "foo", "must start with \"19:\"");
        assert_eq!(
            err.to_string(),
            r#"invalid chat id "foo": must start with "19:""#
        );
    }

    #[test]
    fn echoed_value_is_echo() {
        let long = "é".repeat(1000);
        let Error::InvalidId { value, .. } = Error::invalid_id(IdKind::Team, &long, "x") else {
            panic!("wrong variant");
        };
        assert_eq!(value.chars().count(), ECHO_LIMIT + 1);
        assert!(value.ends_with('…'));
        let short = "a".repeat(ECHO_LIMIT);
        assert_eq!(echo(&short), short);
    }

    #[test]
    fn control_characters_are_escaped_in_the_message() {
        let err = Error::invalid_id(IdKind::User, "a\nb\"c", "must not contain whitespace");
        assert_eq!(
            err.to_string(),
            r#"invalid user id "a\nb\"c": must not contain whitespace"#
        );
    }

    #[test]
    fn unknown_name_message() {
        let err = Error::unknown_name("national cloud", "mars", "global, china");
        assert_eq!(
            err.to_string(),
            r#"unknown national cloud "mars": expected one of global, china"#
        );
    }
}
