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

// ---------------------------------------------------------------------------------------------
// Tokens.

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Number(i64),
    Slash,
    Open,
    Close,
    Comma,
    Colon,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Ident(s) => write!(f, "'{}'", crate::error::echo(s)),
            Token::Str(_) => f.write_str("a string literal"),
            Token::Number(n) => write!(f, "'{n}'"),
            Token::Slash => f.write_str("'/'"),
            Token::Open => f.write_str("'('"),
            Token::Close => f.write_str("')'"),
            Token::Comma => f.write_str("','"),
            Token::Colon => f.write_str("':'"),
        }
    }
}

fn tokenize(input: &str) -> Result<Vec<(usize, Token)>, FilterError> {
    let bytes = input.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        match c {
            b' ' | b'\t' => {
                i += 1;
                continue;
            }
            b'/' => tokens.push((start, Token::Slash)),
            b'(' => tokens.push((start, Token::Open)),
            b')' => tokens.push((start, Token::Close)),
            b',' => tokens.push((start, Token::Comma)),
            b':' => tokens.push((start, Token::Colon)),
            b'\'' => {
                let mut text = String::new();
                i += 1;
                loop {
                    let Some(rest) = input.get(i..) else {
                        return Err(invalid(format!("unterminated string at position {start}")));
                    };
                    match rest.find('\'') {
                        None => {
                            return Err(invalid(format!(
                                "unterminated string at position {start}"
                            )));
                        }
                        Some(q) => {
                            text.push_str(&rest[..q]);
                            i += q + 1;
                            if bytes.get(i) == Some(&b'\'') {
                                text.push('\'');
                                i += 1;
                            } else {
                                break;
                            }
                        }
                    }
                }
                tokens.push((start, Token::Str(text)));
                continue;
            }
            b'-' | b'0'..=b'9' => {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                let text = &input[start..i];
                let n = text
                    .parse::<i64>()
                    .map_err(|_| invalid(format!("invalid number at position {start}")))?;
                tokens.push((start, Token::Number(n)));
                continue;
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b'@' || c == b'$' => {
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'_' | b'.' | b'@'))
                {
                    i += 1;
                }
                tokens.push((start, Token::Ident(input[start..i].to_owned())));
                continue;
            }
            _ => {
                let ch = input[start..].chars().next().unwrap_or('?');
                return Err(invalid(format!(
                    "unexpected character '{ch}' at position {start}"
                )));
            }
        }
        i += 1;
    }
    Ok(tokens)
}

// ---------------------------------------------------------------------------------------------
// Parser.

/// Parses a `$filter` value (already percent-decoded).
///
/// Never panics; rejects input longer than [`MAX_FILTER_LEN`] or nested deeper than 32 levels.
pub fn parse_filter(input: &str) -> Result<Filter, FilterError> {
    if input.len() > MAX_FILTER_LEN {
        return Err(invalid(format!(
            "the filter is longer than {MAX_FILTER_LEN} characters"
        )));
    }
    if input.trim().is_empty() {
        return Err(invalid("the filter is empty"));
    }
    let tokens = tokenize(input)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        end: input.len(),
    };
    let filter = parser.or(0)?;
    if let Some((at, token)) = parser.tokens.get(parser.pos) {
        return Err(invalid(format!("unexpected {token} at position {at}")));
    }
    Ok(filter)
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    pos: usize,
    end: usize,
}

/// What a primary expression turned out to be.
enum Node {
    Bool(Filter),
    Operand(Operand),
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(_, t)| t)
    }

    fn at(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |(at, _)| *at)
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Token::Ident(s)) if s.eq_ignore_ascii_case(keyword))
    }

    fn expect(&mut self, token: &Token, what: &str) -> Result<(), FilterError> {
        if self.peek() == Some(token) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected(what))
        }
    }

    fn unexpected(&self, expected: &str) -> FilterError {
        match self.tokens.get(self.pos) {
            Some((at, token)) => invalid(format!(
                "expected {expected} at position {at} but found {token}"
            )),
            None => invalid(format!("expected {expected} at the end of the filter")),
        }
    }

    fn check_depth(depth: usize) -> Result<(), FilterError> {
        if depth > MAX_DEPTH {
            Err(invalid(format!(
                "the filter nests deeper than {MAX_DEPTH} levels"
            )))
        } else {
            Ok(())
        }
    }

    fn or(&mut self, depth: usize) -> Result<Filter, FilterError> {
        Self::check_depth(depth)?;
        let mut left = self.and(depth)?;
        while self.peek_keyword("or") {
            self.pos += 1;
            let right = self.and(depth)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Filter, FilterError> {
        let mut left = self.unary(depth)?;
        while self.peek_keyword("and") {
            self.pos += 1;
            let right = self.unary(depth)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize) -> Result<Filter, FilterError> {
        if self.peek_keyword("not") {
            self.pos += 1;
            Self::check_depth(depth + 1)?;
            let inner = self.unary(depth + 1)?;
            return Ok(Filter::Not(Box::new(inner)));
        }
        self.comparison(depth)
    }

    fn comparison(&mut self, depth: usize) -> Result<Filter, FilterError> {
        let left = self.primary(depth)?;
        let op_at = self.at();
        let op = match self.peek() {
            Some(Token::Ident(word)) => match word.to_ascii_lowercase().as_str() {
                "eq" => Some(CompareOp::Eq),
                "ne" => Some(CompareOp::Ne),
                "gt" | "ge" | "lt" | "le" | "has" | "in" | "add" | "sub" | "mul" | "div"
                | "mod" => {
                    return Err(invalid(format!(
                        "unsupported operator '{}' at position {op_at}; use eq, ne, and, or, not",
                        word.to_ascii_lowercase()
                    )));
                }
                _ => None,
            },
            _ => None,
        };
        let Some(op) = op else {
            return match left {
                Node::Bool(filter) => Ok(filter),
                Node::Operand(_) => Err(self.unexpected("a comparison operator (eq or ne)")),
            };
        };
        self.pos += 1;
        let right = self.primary(depth)?;
        match (left, right) {
            (Node::Operand(left), Node::Operand(right)) => Ok(Filter::Compare { left, op, right }),
            _ => Err(invalid(format!(
                "the operands of the comparison at position {op_at} must be a property and a literal"
            ))),
        }
    }

    fn primary(&mut self, depth: usize) -> Result<Node, FilterError> {
        let at = self.at();
        match self.peek().cloned() {
            Some(Token::Open) => {
                self.pos += 1;
                Self::check_depth(depth + 1)?;
                let inner = self.or(depth + 1)?;
                self.expect(&Token::Close, "')'")?;
                Ok(Node::Bool(inner))
            }
            Some(Token::Str(s)) => {
                self.pos += 1;
                Ok(Node::Operand(Operand::Literal(Literal::String(s))))
            }
            Some(Token::Number(n)) => {
                self.pos += 1;
                Ok(Node::Operand(Operand::Literal(Literal::Number(n))))
            }
            Some(Token::Ident(word)) => {
                let lower = word.to_ascii_lowercase();
                match lower.as_str() {
                    "null" => {
                        self.pos += 1;
                        return Ok(Node::Operand(Operand::Literal(Literal::Null)));
                    }
                    "true" | "false" => {
                        self.pos += 1;
                        return Ok(Node::Operand(Operand::Literal(Literal::Bool(
                            lower == "true",
                        ))));
                    }
                    "and" | "or" | "eq" | "ne" => {
                        return Err(self.unexpected("a property or a literal"));
                    }
                    _ => {}
                }
                if self.tokens.get(self.pos + 1).map(|(_, t)| t) == Some(&Token::Open) {
                    return Err(invalid(format!(
                        "unsupported function '{}' at position {at}",
                        crate::error::echo(&word)
                    )));
                }
                self.path(depth)
            }
            _ => Err(self.unexpected("a property, a literal or '('")),
        }
    }

    /// A property path, possibly ending in a lambda (`appDefinitions/any(a: …)`).
    fn path(&mut self, depth: usize) -> Result<Node, FilterError> {
        let mut segments = Vec::new();
        loop {
            let Some(Token::Ident(name)) = self.peek().cloned() else {
                return Err(self.unexpected("a property name"));
            };
            let lambda = if name.eq_ignore_ascii_case("any") {
                Some(LambdaKind::Any)
            } else if name.eq_ignore_ascii_case("all") {
                Some(LambdaKind::All)
            } else {
                None
            };
            if let Some(kind) = lambda.filter(|_| !segments.is_empty())
                && self.tokens.get(self.pos + 1).map(|(_, t)| t) == Some(&Token::Open)
            {
                self.pos += 2;
                return self.lambda(kind, segments, depth);
            }
            self.pos += 1;
            segments.push(name);
            if self.peek() == Some(&Token::Slash) {
                self.pos += 1;
            } else {
                return Ok(Node::Operand(Operand::Property(segments)));
            }
        }
    }

    fn lambda(
        &mut self,
        kind: LambdaKind,
        collection: Vec<String>,
        depth: usize,
    ) -> Result<Node, FilterError> {
        Self::check_depth(depth + 1)?;
        if self.peek() == Some(&Token::Close) {
            self.pos += 1;
            if kind == LambdaKind::All {
                return Err(invalid("'all()' needs a range variable and a predicate"));
            }
            return Ok(Node::Bool(Filter::Lambda {
                kind,
                collection,
                body: None,
            }));
        }
        let Some(Token::Ident(variable)) = self.peek().cloned() else {
            return Err(self.unexpected("a range variable"));
        };
        self.pos += 1;
        self.expect(&Token::Colon, "':' after the range variable")?;
        let predicate = self.or(depth + 1)?;
        self.expect(&Token::Close, "')'")?;
        Ok(Node::Bool(Filter::Lambda {
            kind,
            collection,
            body: Some((variable, Box::new(predicate))),
        }))
    }
}

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
