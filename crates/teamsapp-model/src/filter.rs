//! OData `$filter`: a parser for the subset Graph documents for this API family (reference §1.6),
//! a checker against each collection's properties, and an evaluator.
//!
//! Supported: comparisons `eq` and `ne` between a property path and a literal; `and`, `or`,
//! `not`; parentheses; string literals in single quotes with `''` for a quote; `null`, `true`,
//! `false` and integers; lambda operators `any` and `all` on collection properties
//! (`appDefinitions/any(a:a/bot ne null)`). Graph's catalog docs list exactly these ("Equal,
//! not-equal, and, or, and not"). Everything else (`gt`, functions such as `startswith`,
//! arithmetic) is answered with a `400` that names what is not supported.
//!
//! String comparisons ignore ASCII case, as Microsoft Graph's directory-backed properties do.
//! [`parse_filter`] is public so fuzz targets can call it; it never panics and bounds its work by
//! [`MAX_FILTER_LEN`] and a nesting limit.

use std::borrow::Cow;
use std::fmt;

use teamsapp_types::entity::{Entity, PropertyKind};

/// The longest `$filter` accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 4096;

/// The deepest nesting of parentheses, `not` and lambdas accepted.
const MAX_DEPTH: usize = 32;

/// A parsed `$filter` expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// `left and right`.
    And(Box<Filter>, Box<Filter>),
    /// `left or right`.
    Or(Box<Filter>, Box<Filter>),
    /// `not inner`.
    Not(Box<Filter>),
    /// `property op literal` (either side may come first).
    Compare {
        /// The left operand.
        left: Operand,
        /// The operator.
        op: CompareOp,
        /// The right operand.
        right: Operand,
    },
    /// `collection/any(v: predicate)` or `collection/all(v: predicate)`.
    Lambda {
        /// `any` or `all`.
        kind: LambdaKind,
        /// The path of the collection property, e.g. `["appDefinitions"]`.
        collection: Vec<String>,
        /// The range variable and predicate; `None` for `any()`, which asks whether the collection
        /// is non-empty.
        body: Option<(String, Box<Filter>)>,
    },
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `eq`.
    Eq,
    /// `ne`.
    Ne,
}

/// A lambda operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LambdaKind {
    /// `any`.
    Any,
    /// `all`.
    All,
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    /// A property path such as `teamsApp/externalId` or `a/bot`.
    Property(Vec<String>),
    /// A literal value.
    Literal(Literal),
}

/// A literal value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    /// `'text'` (with `''` unescaped to `'`).
    String(String),
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer.
    Number(i64),
}

/// Why a `$filter` was rejected: a message in Graph's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    /// The message, e.g. `Invalid filter clause: unsupported operator 'gt' at position 10.`.
    pub message: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FilterError {}

fn invalid(detail: impl fmt::Display) -> FilterError {
    FilterError {
        message: format!("Invalid filter clause: {detail}."),
    }
}

mod parse;
pub use parse::parse_filter;

// ---------------------------------------------------------------------------------------------
// Checking against an entity's filterable properties (the generated `teamsapp_types::entities`).

/// Checks every property path of `filter` against `schema`, so an unknown property is a `400`
/// even on an empty collection.
pub(crate) fn check(filter: &Filter, schema: &'static Entity) -> Result<(), FilterError> {
    let mut scopes: Vec<(&str, &'static Entity)> = Vec::new();
    check_in(filter, schema, &mut scopes)
}

fn check_in<'f>(
    filter: &'f Filter,
    root: &'static Entity,
    scopes: &mut Vec<(&'f str, &'static Entity)>,
) -> Result<(), FilterError> {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => {
            check_in(a, root, scopes)?;
            check_in(b, root, scopes)
        }
        Filter::Not(inner) => check_in(inner, root, scopes),
        Filter::Compare { left, right, .. } => {
            let (path, literal) = match (left, right) {
                (Operand::Property(p), Operand::Literal(l))
                | (Operand::Literal(l), Operand::Property(p)) => (p, l),
                (Operand::Property(_), Operand::Property(_)) => {
                    return Err(invalid("comparing two properties is not supported"));
                }
                (Operand::Literal(_), Operand::Literal(_)) => {
                    return Err(invalid("a comparison needs a property"));
                }
            };
            let kind = resolve(path, root, scopes)?;
            let fits = matches!(
                (kind, literal),
                (PropertyKind::String, Literal::String(_) | Literal::Null)
                    | (PropertyKind::Boolean, Literal::Bool(_) | Literal::Null)
                    | (PropertyKind::Navigation(_), Literal::Null)
            );
            if fits {
                Ok(())
            } else {
                Err(invalid(format!(
                    "the property '{}' cannot be compared with {}",
                    crate::error::echo(&path.join("/")),
                    match literal {
                        Literal::String(_) => "a string",
                        Literal::Null => "null",
                        Literal::Bool(_) => "a boolean",
                        Literal::Number(_) => "a number",
                    }
                )))
            }
        }
        Filter::Lambda {
            collection, body, ..
        } => {
            let PropertyKind::Collection(item) = resolve(collection, root, scopes)? else {
                return Err(invalid(format!(
                    "'{}' is not a collection, so 'any' and 'all' cannot be used on it",
                    crate::error::echo(&collection.join("/"))
                )));
            };
            if let Some((variable, predicate)) = body {
                scopes.push((variable.as_str(), item));
                let result = check_in(predicate, root, scopes);
                scopes.pop();
                result?;
            }
            Ok(())
        }
    }
}

/// The kind of the property at `path`: it starts at a range variable when its first segment
/// names one, else at the root.
fn resolve(
    path: &[String],
    root: &'static Entity,
    scopes: &[(&str, &'static Entity)],
) -> Result<PropertyKind, FilterError> {
    let (mut schema, rest) = match scopes
        .iter()
        .rev()
        .find(|(v, _)| path.first().is_some_and(|p| p == v))
    {
        Some((_, schema)) => (*schema, &path[1..]),
        None => (root, path),
    };
    let Some((last, walk)) = rest.split_last() else {
        return Err(invalid(
            "a range variable must be followed by a property, as in 'a/bot'",
        ));
    };
    for segment in walk {
        match schema.filterable(segment).map(|p| p.kind) {
            Some(PropertyKind::Navigation(next)) => schema = next,
            Some(_) => {
                return Err(invalid(format!(
                    "'{}' has no properties to navigate to",
                    crate::error::echo(segment)
                )));
            }
            None => return Err(unknown_property(segment, schema)),
        }
    }
    schema
        .filterable(last)
        .map(|p| p.kind)
        .ok_or_else(|| unknown_property(last, schema))
}

fn unknown_property(name: &str, schema: &Entity) -> FilterError {
    let known: Vec<&str> = schema.filterable_names().collect();
    invalid(format!(
        "could not find a property named '{}' on type '{}' (filterable: {})",
        crate::error::echo(name),
        schema.name,
        known.join(", ")
    ))
}

// ---------------------------------------------------------------------------------------------
// Evaluation.

/// The value of a property, as the evaluator sees it.
pub(crate) enum Value<'a> {
    /// A string.
    Str(Cow<'a, str>),
    /// A boolean.
    Bool(bool),
    /// A navigation or complex property that is present.
    Present,
    /// Absent or null.
    Null,
}

/// Something a filter can be evaluated on.
pub(crate) trait Record {
    /// The value at `path` (a path the schema check accepted), relative to this record.
    fn value(&self, path: &[String]) -> Value<'_>;

    /// Calls `visit` for each item of the collection at `path` until it returns `true`; returns
    /// whether it did. Records without collections keep the default.
    fn each(&self, path: &[String], visit: &mut dyn FnMut(&dyn Record) -> bool) -> bool {
        let _ = (path, visit);
        false
    }
}

/// Whether `record` matches `filter` (which [`check`] accepted).
pub(crate) fn matches(filter: &Filter, record: &dyn Record) -> bool {
    let mut scopes: Vec<(&str, &dyn Record)> = Vec::new();
    eval(filter, record, &mut scopes)
}

fn eval<'f, 'r>(
    filter: &'f Filter,
    root: &'r dyn Record,
    scopes: &mut Vec<(&'f str, &'r dyn Record)>,
) -> bool {
    match filter {
        Filter::And(a, b) => eval(a, root, scopes) && eval(b, root, scopes),
        Filter::Or(a, b) => eval(a, root, scopes) || eval(b, root, scopes),
        Filter::Not(inner) => !eval(inner, root, scopes),
        Filter::Compare { left, op, right } => {
            let ((Operand::Property(path), Operand::Literal(literal))
            | (Operand::Literal(literal), Operand::Property(path))) = (left, right)
            else {
                return false;
            };
            let (record, rest) = locate(path, root, scopes);
            let equal = match (record.value(rest), literal) {
                (Value::Str(a), Literal::String(b)) => a.eq_ignore_ascii_case(b),
                (Value::Bool(a), Literal::Bool(b)) => a == *b,
                (Value::Null, Literal::Null) => true,
                _ => false,
            };
            match op {
                CompareOp::Eq => equal,
                CompareOp::Ne => !equal,
            }
        }
        Filter::Lambda {
            kind,
            collection,
            body,
        } => {
            let (record, rest) = locate(collection, root, scopes);
            match (kind, body) {
                (_, None) => record.each(rest, &mut |_| true),
                (LambdaKind::Any, Some((variable, predicate))) => record.each(rest, &mut |item| {
                    let mut inner: Vec<(&str, &dyn Record)> = scopes.clone();
                    inner.push((variable.as_str(), item));
                    eval(predicate, root, &mut inner)
                }),
                (LambdaKind::All, Some((variable, predicate))) => !record.each(rest, &mut |item| {
                    let mut inner: Vec<(&str, &dyn Record)> = scopes.clone();
                    inner.push((variable.as_str(), item));
                    !eval(predicate, root, &mut inner)
                }),
            }
        }
    }
}

fn locate<'p, 'r>(
    path: &'p [String],
    root: &'r dyn Record,
    scopes: &[(&str, &'r dyn Record)],
) -> (&'r dyn Record, &'p [String]) {
    match scopes
        .iter()
        .rev()
        .find(|(v, _)| path.first().is_some_and(|p| p == v))
    {
        Some((_, record)) => (*record, &path[1..]),
        None => (root, path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use teamsapp_types::entities::{TEAMS_APP, TEAMS_APP_INSTALLATION as INSTALLATION, USER};

    fn prop(path: &str) -> Operand {
        Operand::Property(path.split('/').map(str::to_owned).collect())
    }

    fn string(s: &str) -> Operand {
        Operand::Literal(Literal::String(s.to_owned()))
    }

    #[test]
    fn parses_the_documented_shapes() {
        assert_eq!(
            parse_filter("teamsApp/externalId eq 'cf1ba4c7-f94e-4d80-ba90-5594b641a8ee'").unwrap(),
            Filter::Compare {
                left: prop("teamsApp/externalId"),
                op: CompareOp::Eq,
                right: string("cf1ba4c7-f94e-4d80-ba90-5594b641a8ee"),
            }
        );
        assert_eq!(
            parse_filter("appDefinitions/any(a:a/bot ne null)").unwrap(),
            Filter::Lambda {
                kind: LambdaKind::Any,
                collection: vec!["appDefinitions".into()],
                body: Some((
                    "a".into(),
                    Box::new(Filter::Compare {
                        left: prop("a/bot"),
                        op: CompareOp::Ne,
                        right: Operand::Literal(Literal::Null),
                    })
                )),
            }
        );
        for ok in [
            "distributionMethod eq 'organization'",
            "id eq 'a' or (externalId eq 'b' and not (displayName ne 'c'))",
            "NOT id EQ 'x'",
            "'x' eq id",
            "displayName eq 'it''s'",
            "appDefinitions/any()",
            "appDefinitions/all(d: d/publishingState eq 'published')",
            "accountEnabled eq true",
        ] {
            assert!(parse_filter(ok).is_ok(), "{ok}");
        }
        let Filter::Compare { right, .. } = parse_filter("displayName eq 'it''s'").unwrap() else {
            panic!()
        };
        assert_eq!(right, string("it's"));
    }

    #[test]
    fn precedence_and_binds_tighter_than_or() {
        let f = parse_filter("id eq 'a' or id eq 'b' and id eq 'c'").unwrap();
        assert!(matches!(f, Filter::Or(_, ref b) if matches!(**b, Filter::And(_, _))));
    }

    #[test]
    fn precise_errors() {
        let cases = [
            ("", "empty"),
            ("id gt 'a'", "unsupported operator 'gt'"),
            (
                "startswith(displayName,'a')",
                "unsupported function 'startswith'",
            ),
            ("id eq 'a", "unterminated string"),
            ("id eq", "expected a property, a literal or '('"),
            ("id 'a'", "expected a comparison operator"),
            ("(id eq 'a'", "expected ')'"),
            ("id eq 'a' 'b'", "unexpected a string literal"),
            ("id eq 'a' # x", "unexpected character '#'"),
            ("id eq id", "two properties"),
            ("all/all()", "'all()' needs"),
        ];
        for (input, expected) in cases {
            let err = parse_filter(input)
                .and_then(|f| check(&f, &TEAMS_APP))
                .unwrap_err();
            assert!(
                err.message.contains(expected),
                "{input}: {} (expected {expected})",
                err.message
            );
            assert!(err.message.starts_with("Invalid filter clause: "));
        }
    }

    #[test]
    fn nesting_and_length_are_bounded() {
        let deep = format!("{}id eq 'a'{}", "(".repeat(100), ")".repeat(100));
        assert!(parse_filter(&deep).unwrap_err().message.contains("deeper"));
        let nots = format!("{}id eq 'a'", "not ".repeat(100));
        assert!(parse_filter(&nots).unwrap_err().message.contains("deeper"));
        let long = format!("id eq '{}'", "a".repeat(MAX_FILTER_LEN));
        assert!(parse_filter(&long).unwrap_err().message.contains("longer"));
    }

    #[test]
    fn schema_check() {
        let ok = |s: &str, schema: &'static Entity| check(&parse_filter(s).unwrap(), schema);
        assert!(ok("teamsApp/externalId eq 'x'", &INSTALLATION).is_ok());
        assert!(ok("teamsApp/id eq 'x'", &INSTALLATION).is_ok());
        assert!(ok("appDefinitions/any(a:a/bot ne null)", &TEAMS_APP).is_ok());
        let err = ok("teamsApp/foo eq 'x'", &INSTALLATION).unwrap_err();
        assert!(
            err.message
                .contains("'foo' on type 'microsoft.graph.teamsApp'"),
            "{err}"
        );
        let err = ok("id/x eq 'x'", &INSTALLATION).unwrap_err();
        assert!(err.message.contains("no properties"), "{err}");
        let err = ok("teamsApp eq 'x'", &INSTALLATION).unwrap_err();
        assert!(
            err.message.contains("cannot be compared with a string"),
            "{err}"
        );
        let err = ok("displayName/any(a:a eq 'x')", &TEAMS_APP).unwrap_err();
        assert!(err.message.contains("not a collection"), "{err}");
        let err = ok("appDefinitions/any(a:a eq null)", &TEAMS_APP).unwrap_err();
        assert!(
            err.message.contains("range variable must be followed"),
            "{err}"
        );
        assert!(ok("accountEnabled eq 1", &USER).is_err());
    }

    struct Def {
        bot: bool,
        version: &'static str,
    }

    impl Record for Def {
        fn value(&self, path: &[String]) -> Value<'_> {
            match path.first().map(String::as_str) {
                Some("bot") if self.bot => Value::Present,
                Some("version") => Value::Str(self.version.into()),
                _ => Value::Null,
            }
        }
    }

    struct App {
        name: &'static str,
        defs: Vec<Def>,
    }

    impl Record for App {
        fn value(&self, path: &[String]) -> Value<'_> {
            match path.first().map(String::as_str) {
                Some("displayName") => Value::Str(self.name.into()),
                _ => Value::Null,
            }
        }

        fn each(&self, _path: &[String], visit: &mut dyn FnMut(&dyn Record) -> bool) -> bool {
            self.defs.iter().any(|d| visit(d))
        }
    }

    #[test]
    fn evaluation() {
        let app = App {
            name: "Contoso",
            defs: vec![
                Def {
                    bot: false,
                    version: "1.0.0",
                },
                Def {
                    bot: true,
                    version: "1.1.0",
                },
            ],
        };
        let empty = App {
            name: "Empty",
            defs: vec![],
        };
        let eval = |s: &str, app: &App| matches(&parse_filter(s).unwrap(), app);
        assert!(eval("displayName eq 'contoso'", &app));
        assert!(!eval("displayName ne 'CONTOSO'", &app));
        assert!(eval("appDefinitions/any(a:a/bot ne null)", &app));
        assert!(!eval("appDefinitions/all(a:a/bot ne null)", &app));
        assert!(eval("appDefinitions/all(a:a/bot ne null)", &empty));
        assert!(!eval("appDefinitions/any()", &empty));
        assert!(eval(
            "appDefinitions/any(a:a/version eq '1.1.0' and a/bot ne null)",
            &app
        ));
        assert!(eval(
            "not (displayName eq 'x') and displayName ne null",
            &app
        ));
    }
}
