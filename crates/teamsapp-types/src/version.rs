//! Teams app manifest versions: dotted numbers (`1.0.2`, `6.0.0`, `1.3`), compared numerically.
//!
//! [`AppVersion`] is the one version type: the model's catalog rules (an update must be higher)
//! and the fleet upgrade's "is this installation behind" both order versions with it; [`compare`]
//! and [`is_behind`] are its forms for text read off the wire.

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

/// Compares two manifest versions as [`AppVersion`]s. Text that is not a version (Graph should
/// never send one) is still ordered, without panicking: numerically part by part, missing parts
/// as 0, a part that is not a number after every number.
pub fn compare(left: &str, right: &str) -> Ordering {
    if let (Some(left), Some(right)) = (
        AppVersion::parse(left.trim()),
        AppVersion::parse(right.trim()),
    ) {
        return left.cmp(&right);
    }
    let mut left_parts = left.trim().split('.');
    let mut right_parts = right.trim().split('.');
    loop {
        match (left_parts.next(), right_parts.next()) {
            (None, None) => return Ordering::Equal,
            (lhs, rhs) => {
                let (lhs, rhs) = (lhs.unwrap_or("0"), rhs.unwrap_or("0"));
                let ord = match (lhs.parse::<u64>(), rhs.parse::<u64>()) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    (Err(_), Err(_)) => lhs.cmp(rhs),
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

/// Whether `installed` is behind `latest`.
pub fn is_behind(installed: &str, latest: &str) -> bool {
    compare(installed, latest) == Ordering::Less
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_numerically_not_lexically() {
        assert_eq!(compare("1.10.0", "1.9.9"), Ordering::Greater);
        assert_eq!(compare("1.3", "1.3.0"), Ordering::Equal);
        assert!(is_behind("1.0.0", "1.1.0"));
        assert!(!is_behind("1.1.0", "1.1.0"));
        assert!(!is_behind("2.0", "1.99"));
        assert_eq!(compare("1.0.x", "1.0.1"), Ordering::Greater);
    }

    #[test]
    fn compare_agrees_with_app_version() {
        for (a, b) in [
            ("1.10.0", "1.9.9"),
            ("1.0", "1.0.0"),
            ("2", "1.99.99"),
            ("1.0.1", "1.0"),
        ] {
            assert_eq!(compare(a, b), v(a).cmp(&v(b)), "{a} vs {b}");
        }
    }

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
