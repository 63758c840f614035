//! The `$filter` parser: tokens, then a recursive-descent parser into a [`Filter`]; checking and
//! evaluation live in the parent module.

use std::fmt;

use super::{
    CompareOp, Filter, FilterError, LambdaKind, Literal, MAX_DEPTH, MAX_FILTER_LEN, Operand,
    invalid,
};

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
