//! The Teams app manifest schemas this crate vendors (`schemas/`, see its README), compiled
//! lazily, once each, and what their errors become in Graph's shape.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::LocationSegment;
use jsonschema::{Draft, ValidationError, Validator};
use serde_json::Value;
use teamsapp_types::echo;

use crate::{PackageProblem, problem};

/// Every `manifestVersion` the catalog accepts: each published 1.x schema that
/// `@microsoft/app-manifest` 1.1.2 ships (there is no 1.18). A manifest is checked against the
/// schema of the version it declares.
pub const SUPPORTED_MANIFEST_VERSIONS: &[&str] = &[
    "1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8", "1.9", "1.10", "1.11", "1.12",
    "1.13", "1.14", "1.15", "1.16", "1.17", "1.19", "1.20", "1.21", "1.22", "1.23", "1.24", "1.25",
    "1.26", "1.27", "1.28", "1.29", "1.30",
];

/// The newest supported version: the schema a manifest without a `manifestVersion` is checked
/// against, so that every other problem is reported along with the missing version.
pub(crate) const NEWEST: &str = "1.30";

/// The text of each vendored schema, in the order of [`SUPPORTED_MANIFEST_VERSIONS`].
const SCHEMAS: [&str; 30] = [
    include_str!("../schemas/v1.0.json"),
    include_str!("../schemas/v1.1.json"),
    include_str!("../schemas/v1.2.json"),
    include_str!("../schemas/v1.3.json"),
    include_str!("../schemas/v1.4.json"),
    include_str!("../schemas/v1.5.json"),
    include_str!("../schemas/v1.6.json"),
    include_str!("../schemas/v1.7.json"),
    include_str!("../schemas/v1.8.json"),
    include_str!("../schemas/v1.9.json"),
    include_str!("../schemas/v1.10.json"),
    include_str!("../schemas/v1.11.json"),
    include_str!("../schemas/v1.12.json"),
    include_str!("../schemas/v1.13.json"),
    include_str!("../schemas/v1.14.json"),
    include_str!("../schemas/v1.15.json"),
    include_str!("../schemas/v1.16.json"),
    include_str!("../schemas/v1.17.json"),
    include_str!("../schemas/v1.19.json"),
    include_str!("../schemas/v1.20.json"),
    include_str!("../schemas/v1.21.json"),
    include_str!("../schemas/v1.22.json"),
    include_str!("../schemas/v1.23.json"),
    include_str!("../schemas/v1.24.json"),
    include_str!("../schemas/v1.25.json"),
    include_str!("../schemas/v1.26.json"),
    include_str!("../schemas/v1.27.json"),
    include_str!("../schemas/v1.28.json"),
    include_str!("../schemas/v1.29.json"),
    include_str!("../schemas/v1.30.json"),
];

const _: () = assert!(SCHEMAS.len() == SUPPORTED_MANIFEST_VERSIONS.len());

/// Each schema compiled on first use; `Err` holds why a vendored schema did not compile (a test
/// compiles every one, so this is never seen in a release).
static VALIDATORS: [OnceLock<Result<Validator, String>>; 30] = [const { OnceLock::new() }; 30];

/// The most regex backtracking steps one `pattern` check may take; past it the string is refused
/// as not matching (a `SchemaError_Pattern`), so a hostile string cannot stall the check. The
/// schemas' one backtracking pattern (a lookahead on `.xll` file names) needs a few per character.
const BACKTRACK_LIMIT: usize = 100_000;

/// The compiled schema for `manifest_version`, or why there is none.
pub(crate) fn validator(manifest_version: &str) -> Result<&'static Validator, String> {
    let Some(index) = SUPPORTED_MANIFEST_VERSIONS
        .iter()
        .position(|v| *v == manifest_version)
    else {
        return Err(format!("no schema for manifest version {manifest_version}"));
    };
    VALIDATORS[index]
        .get_or_init(|| compile(SCHEMAS[index]))
        .as_ref()
        .map_err(Clone::clone)
}

fn compile(text: &str) -> Result<Validator, String> {
    let schema: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    jsonschema::options()
        .with_draft(Draft::Draft4)
        // A `$ref` to anything but the schema itself is refused, never fetched.
        .offline()
        .should_validate_formats(true)
        .with_pattern_options(
            jsonschema::PatternOptions::fancy_regex().backtrack_limit(BACKTRACK_LIMIT),
        )
        .build(&schema)
        .map_err(|e| e.to_string())
}

/// One segment of a manifest path, for sorting problems in document-path order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Segment {
    Index(usize),
    Property(String),
}

/// Reads a target (`bots[0].botId`) back into segments, so `bots[2]` sorts before `bots[10]`.
pub(crate) fn segments(target: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    if target.is_empty() {
        return out;
    }
    for part in target.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(at) => part.split_at(at),
            None => (part, ""),
        };
        out.push(Segment::Property(name.to_owned()));
        while let Some(inner) = rest.strip_prefix('[') {
            let Some(end) = inner.find(']') else {
                out.push(Segment::Property(rest.to_owned()));
                break;
            };
            match inner[..end].parse() {
                Ok(index) => out.push(Segment::Index(index)),
                Err(_) => out.push(Segment::Property(inner[..end].to_owned())),
            }
            rest = &inner[end + 1..];
        }
    }
    out
}

/// Appends a property to a target.
pub(crate) fn child(parent: &str, name: &str) -> String {
    let name = echo(name);
    if parent.is_empty() {
        name
    } else {
        format!("{parent}.{name}")
    }
}

/// The target of an instance location: `name.short`, `bots[0].botId`.
fn target_of(error: &ValidationError<'_>) -> String {
    let mut target = String::new();
    for segment in error.instance_path() {
        match segment {
            LocationSegment::Property(name) => target = child(&target, &name),
            LocationSegment::Index(index) => target = format!("{target}[{index}]"),
        }
    }
    target
}

/// Every problem `manifest` has under `validator`, one per schema error (one per missing or
/// unexpected property), in the validator's order.
pub(crate) fn check(validator: &Validator, manifest: &Value) -> Vec<PackageProblem> {
    let mut problems = Vec::new();
    for error in validator.iter_errors(manifest) {
        let target = target_of(&error);
        let instance: &Value = error.instance();
        match error.kind() {
            ValidationErrorKind::Required { property } => {
                let name = property
                    .as_str()
                    .map_or_else(|| property.to_string(), str::to_owned);
                problems.push(problem(
                    "SchemaError_Required",
                    &child(&target, &name),
                    format!(
                        "Required properties are missing from object: [{}].",
                        echo(&name)
                    ),
                ));
            }
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                for name in unexpected {
                    problems.push(problem(
                        "SchemaError_AdditionalProperties",
                        &child(&target, name),
                        format!(
                            "Property \"{}\" has not been defined and the schema does not allow additional properties.",
                            echo(name)
                        ),
                    ));
                }
            }
            kind => {
                let (code, message) = describe(kind, instance);
                problems.push(problem(code, &target, message));
            }
        }
    }
    problems
}

/// The Graph-style code and message of one schema error.
fn describe(kind: &ValidationErrorKind, instance: &Value) -> (&'static str, String) {
    let shown = show(instance);
    match kind {
        ValidationErrorKind::Pattern { pattern } => (
            "SchemaError_Pattern",
            format!("String {shown} does not match regex pattern \"{pattern}\"."),
        ),
        ValidationErrorKind::BacktrackLimitExceeded { .. }
        | ValidationErrorKind::RegexEngineFailure { .. } => (
            "SchemaError_Pattern",
            format!(
                "String {shown} could not be matched against the regex pattern within its limits."
            ),
        ),
        ValidationErrorKind::MaxLength { limit } => (
            "SchemaError_MaxLength",
            format!(
                "String {shown} exceeds maximum length of {limit} ({} characters).",
                instance.as_str().map_or(0, |s| s.chars().count())
            ),
        ),
        ValidationErrorKind::MinLength { limit } => (
            "SchemaError_MinLength",
            format!("String {shown} is less than minimum length of {limit}."),
        ),
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => type_name(t.as_str()).to_owned(),
                TypeKind::Multiple(set) => set
                    .iter()
                    .map(|t| type_name(t.as_str()))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            (
                "SchemaError_Type",
                format!(
                    "Invalid type. Expected {expected} but got {}.",
                    type_name(json_type(instance))
                ),
            )
        }
        ValidationErrorKind::Enum { options } => (
            "SchemaError_Enum",
            format!("Value {shown} is not defined in enum [{}].", list(options)),
        ),
        ValidationErrorKind::Constant { expected_value } => (
            "SchemaError_Const",
            format!(
                "Value {shown} does not match const {}.",
                show(expected_value)
            ),
        ),
        ValidationErrorKind::Format { format } => (
            "SchemaError_Format",
            format!("String {shown} does not validate against format \"{format}\"."),
        ),
        ValidationErrorKind::MaxItems { limit } => (
            "SchemaError_MaxItems",
            format!(
                "Array item count {} exceeds maximum count of {limit}.",
                instance.as_array().map_or(0, Vec::len)
            ),
        ),
        ValidationErrorKind::MinItems { limit } => (
            "SchemaError_MinItems",
            format!(
                "Array item count {} is less than minimum count of {limit}.",
                instance.as_array().map_or(0, Vec::len)
            ),
        ),
        ValidationErrorKind::UniqueItems => (
            "SchemaError_UniqueItems",
            "Array items must be unique; some are equal.".to_owned(),
        ),
        ValidationErrorKind::MaxProperties { limit } => (
            "SchemaError_MaxProperties",
            format!("Object has more than the maximum of {limit} properties."),
        ),
        ValidationErrorKind::MinProperties { limit } => (
            "SchemaError_MinProperties",
            format!("Object has fewer than the minimum of {limit} properties."),
        ),
        ValidationErrorKind::Maximum { limit }
        | ValidationErrorKind::ExclusiveMaximum { limit } => (
            "SchemaError_Maximum",
            format!("Value {shown} exceeds maximum value of {limit}."),
        ),
        ValidationErrorKind::Minimum { limit }
        | ValidationErrorKind::ExclusiveMinimum { limit } => (
            "SchemaError_Minimum",
            format!("Value {shown} is less than minimum value of {limit}."),
        ),
        ValidationErrorKind::MultipleOf { multiple_of } => (
            "SchemaError_MultipleOf",
            format!("Value {shown} is not a multiple of {multiple_of}."),
        ),
        ValidationErrorKind::AdditionalItems { limit } => (
            "SchemaError_AdditionalItems",
            format!("Array has more than the {limit} items the schema defines."),
        ),
        ValidationErrorKind::OneOfNotValid { .. } => (
            "SchemaError_OneOf",
            "JSON is valid against no schemas from 'oneOf'.".to_owned(),
        ),
        ValidationErrorKind::OneOfMultipleValid { .. } => (
            "SchemaError_OneOf",
            "JSON is valid against more than one schema from 'oneOf'.".to_owned(),
        ),
        ValidationErrorKind::AnyOf { .. } => (
            "SchemaError_AnyOf",
            "JSON does not match any schemas from 'anyOf'.".to_owned(),
        ),
        ValidationErrorKind::Not { .. } => (
            "SchemaError_Not",
            "JSON is valid against schema from 'not'.".to_owned(),
        ),
        // Keywords the draft-04 Teams schemas do not use (or a `$ref` they cannot resolve):
        // reported under the keyword's name, with the validator's own words.
        other => (
            "SchemaError_Validator",
            format!(
                "Value {shown} fails the schema's \"{}\" keyword.",
                other.keyword()
            ),
        ),
    }
}

/// A value as messages show it: a string quoted, anything else as JSON; at most 100 characters.
fn show(value: &Value) -> String {
    match value {
        Value::String(s) => format!("\"{}\"", echo(s)),
        Value::Array(_) => "(an array)".to_owned(),
        Value::Object(_) => "(an object)".to_owned(),
        other => echo(&other.to_string()),
    }
}

/// The values of an `enum`, as Graph lists them (`[Application, Delegated]`), at most 20.
fn list(options: &Value) -> String {
    const SHOWN: usize = 20;
    let Some(values) = options.as_array() else {
        return show(options);
    };
    let mut out: Vec<String> = values
        .iter()
        .take(SHOWN)
        .map(|v| v.as_str().map_or_else(|| show(v), echo))
        .collect();
    if values.len() > SHOWN {
        out.push(format!("… {} more", values.len() - SHOWN));
    }
    out.join(", ")
}

pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A JSON type as Graph's messages spell it (`String`, `Object`, …).
pub(crate) fn type_name(name: &str) -> &'static str {
    match name {
        "null" => "Null",
        "boolean" => "Boolean",
        "integer" => "Integer",
        "number" => "Number",
        "string" => "String",
        "array" => "Array",
        "object" => "Object",
        _ => "Unknown",
    }
}
