//! App versions: dotted numbers (`1.0.2`, `6.0.0`, `1.3`) compared numerically.

use std::cmp::Ordering;
use std::fmt;

/// A Teams app version: one to four dot-separated decimal numbers, as the manifest schema allows
/// (`"^([0-9]|[1-9][0-9]*)\.…"`; leading zeros are tolerated here).
///
/// Ordering is numeric, part by part, with missing parts counting as zero, so `1.10 > 1.9` and
/// `1.0 == 1.0.0` compare equal (their text still differs).
#[derive(Debug, Clone, Eq)]
pub struct AppVersion {
    text: Box<str>,
    parts: [u64; 4],
}

impl AppVersion {
    /// Parses `text`; `None` unless it is one to four dot-separated runs of 1 to 9 digits.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = [0_u64; 4];
        for (count, part) in text.split('.').enumerate() {
            if count == 4 || part.is_empty() || part.len() > 9 {
                return None;
            }
            if !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            parts[count] = part.parse().ok()?;
        }
        Some(Self {
            text: text.into(),
            parts,
        })
    }

    /// The version as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl PartialEq for AppVersion {
    fn eq(&self, other: &Self) -> bool {
        self.parts == other.parts
    }
}

impl PartialOrd for AppVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for AppVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.parts.cmp(&other.parts)
    }
}

impl fmt::Display for AppVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> AppVersion {
        AppVersion::parse(s).unwrap()
    }

    #[test]
    fn numeric_order() {
        assert!(v("1.10.0") > v("1.9.9"));
        assert!(v("2") > v("1.99.99"));
        assert_eq!(v("1.0"), v("1.0.0"));
        assert!(v("1.0.1") > v("1.0"));
        assert_eq!(v("01.2").as_str(), "01.2");
    }

    #[test]
    fn rejects_non_versions() {
        for bad in [
            "",
            ".",
            "1.",
            ".1",
            "1..2",
            "a",
            "1.2.3.4.5",
            "1.-2",
            "1.2b",
            "1234567890",
        ] {
            assert!(AppVersion::parse(bad).is_none(), "{bad}");
        }
    }
}
