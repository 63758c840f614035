//! Teams app manifest versions: dotted numbers (`1.0.2`, `6.0.0`, `1.3`), compared numerically.
//!
//! The catalog refuses an update whose version is not higher, and the fleet upgrade compares each
//! installed version with the catalog's latest: both use [`compare`].

use std::cmp::Ordering;

/// Compares two manifest versions numerically, part by part; missing parts count as 0, and a
/// part that is not a number compares as text after every number (so nothing panics).
pub fn compare(left: &str, right: &str) -> Ordering {
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
}
