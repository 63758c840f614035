//! Printing results: one [`Report`] rendered as a table, JSON, NDJSON or CSV. Nothing else in the
//! CLI writes results; diagnostics go to stderr through tracing.
//!
//! One schema per record: every format shows the same fields under the same names (the declared
//! columns first, then any other field a record has); absent values are `null` in JSON and empty
//! in CSV and tables; arrays stay arrays in JSON (joined with `, ` in CSV and tables).

use crate::cli::OutputFormat;
use serde_json::{Map, Value};
use std::io::{self, Write};

/// Rows of records with a column order for tables and CSV; JSON prints the records whole.
#[derive(Debug, Default)]
pub struct Report {
    columns: Vec<String>,
    rows: Vec<Map<String, Value>>,
    single: bool,
    raw: Option<String>,
}

/// How wide a table may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    /// At most this many columns of text: long cells wrap.
    Fit(u16),
    /// Every column at full width (`--wide`).
    Unlimited,
}

impl Width {
    /// The terminal's width when stdout is one, else `$COLUMNS`, else 80; `Unlimited` with `wide`.
    pub fn detect(wide: bool) -> Self {
        if wide {
            return Self::Unlimited;
        }
        if let Some((terminal_size::Width(w), _)) = terminal_size::terminal_size() {
            return Self::Fit(w);
        }
        let columns = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<u16>().ok())
            .filter(|c| *c > 0);
        Self::Fit(columns.unwrap_or(80))
    }
}

impl Report {
    /// A list of records shown with these columns (first, in this order).
    pub fn list(columns: &[&str]) -> Self {
        Self {
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            ..Self::default()
        }
    }

    /// One record (JSON prints an object, not an array).
    pub fn single(columns: &[&str], record: Map<String, Value>) -> Self {
        let mut report = Self::list(columns);
        report.rows.push(record);
        report.single = true;
        report
    }

    /// Text printed as is in every format (`auth token`).
    pub fn raw(text: impl Into<String>) -> Self {
        Self {
            raw: Some(text.into()),
            ..Self::default()
        }
    }

    /// Adds a record.
    pub fn push(&mut self, record: Map<String, Value>) {
        self.rows.push(record);
    }

    /// The records.
    pub fn rows(&self) -> &[Map<String, Value>] {
        &self.rows
    }

    /// Every column: the declared ones, then any other field a record has, in order of appearance.
    fn all_columns(&self) -> Vec<&str> {
        let mut columns: Vec<&str> = self.columns.iter().map(String::as_str).collect();
        for row in &self.rows {
            for key in row.keys() {
                if !columns.contains(&key.as_str()) {
                    columns.push(key);
                }
            }
        }
        columns
    }

    /// A record with every column, `null` where it has none.
    fn full(row: &Map<String, Value>, columns: &[&str]) -> Map<String, Value> {
        columns
            .iter()
            .map(|c| ((*c).to_owned(), row.get(*c).cloned().unwrap_or(Value::Null)))
            .collect()
    }

    /// Writes the report in `format`, tables fitted to the terminal ([`Width::detect`]).
    pub fn render(&self, format: OutputFormat, out: &mut dyn Write) -> io::Result<()> {
        self.render_with(format, Width::detect(false), out)
    }

    /// Writes the report in `format`, tables at most `width` wide.
    pub fn render_with(
        &self,
        format: OutputFormat,
        width: Width,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        if let Some(raw) = &self.raw {
            return out.write_all(raw.as_bytes());
        }
        let columns = self.all_columns();
        match format {
            OutputFormat::Json => {
                if self.single {
                    serde_json::to_writer_pretty(&mut *out, &Self::full(&self.rows[0], &columns))?;
                } else {
                    let rows: Vec<_> = self.rows.iter().map(|r| Self::full(r, &columns)).collect();
                    serde_json::to_writer_pretty(&mut *out, &rows)?;
                }
                writeln!(out)
            }
            OutputFormat::Ndjson => {
                for row in &self.rows {
                    serde_json::to_writer(&mut *out, &Self::full(row, &columns))?;
                    writeln!(out)?;
                }
                Ok(())
            }
            OutputFormat::Csv => {
                let mut w = csv::Writer::from_writer(out);
                w.write_record(&columns)?;
                for row in &self.rows {
                    w.write_record(columns.iter().map(|c| cell(row.get(*c))))?;
                }
                w.flush()
            }
            OutputFormat::Table => {
                if self.single {
                    let mut table = new_table(width);
                    for c in &columns {
                        table.add_row(vec![(*c).to_owned(), cell(self.rows[0].get(*c))]);
                    }
                    writeln!(out, "{table}")
                } else if self.rows.is_empty() {
                    writeln!(out, "(none)")
                } else {
                    let mut table = new_table(width);
                    table.set_header(columns.iter().map(|c| (*c).to_owned()));
                    for row in &self.rows {
                        table.add_row(columns.iter().map(|c| cell(row.get(*c))));
                    }
                    keep_headers_whole(&mut table, &columns, width);
                    writeln!(out, "{table}")
                }
            }
        }
    }
}

fn new_table(width: Width) -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::UTF8_BORDERS_ONLY);
    match width {
        Width::Unlimited => {
            table.set_content_arrangement(comfy_table::ContentArrangement::Disabled);
        }
        Width::Fit(w) => {
            // Dynamic: columns shrink to their content, and the widest ones wrap to fit.
            table.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
            table.set_width(w);
        }
    }
    table
}

/// When the headers fit side by side, no column gets narrower than its header: the wide columns
/// (ids, lists) wrap instead of every column being cut into slivers.
fn keep_headers_whole(table: &mut comfy_table::Table, columns: &[&str], width: Width) {
    let Width::Fit(total) = width else {
        return;
    };
    // Each column costs its padding (2) and a border (1), plus the closing border.
    let needed: usize = columns.iter().map(|c| c.chars().count() + 3).sum::<usize>() + 1;
    if needed > usize::from(total) {
        return;
    }
    for (column, name) in table.column_iter_mut().zip(columns) {
        // The constraint counts the padding too.
        let w = u16::try_from(name.chars().count() + 2).unwrap_or(u16::MAX);
        column.set_constraint(comfy_table::ColumnConstraint::LowerBoundary(
            comfy_table::Width::Fixed(w),
        ));
    }
}

/// A cell's text: strings bare, `null`/missing empty, arrays joined with `, `, objects' values
/// joined with spaces, everything else as JSON.
fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| cell(Some(v)))
            .collect::<Vec<_>>()
            .join(", "),
        // `{"version": "1.0.0", "state": "published"}` reads `1.0.0 (published)`.
        Some(Value::Object(map)) => {
            let first = map.get("version").map(|v| cell(Some(v)));
            let rest: Vec<String> = map
                .iter()
                .filter(|(k, _)| k.as_str() != "version")
                .map(|(_, v)| cell(Some(v)))
                .filter(|s| !s.is_empty())
                .collect();
            match (first, rest.is_empty()) {
                (Some(first), true) => first,
                (Some(first), false) => format!("{first} ({})", rest.join(", ")),
                (None, _) => rest.join(" "),
            }
        }
        Some(other) => other.to_string(),
    }
}

/// Builds a record from `(column, value)` pairs.
#[macro_export]
macro_rules! record {
    ($($key:expr => $value:expr),* $(,)?) => {{
        let mut map = serde_json::Map::new();
        $(map.insert(($key).to_string(), serde_json::json!($value));)*
        map
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let mut r = Report::list(&["id", "version"]);
        r.push(crate::record! {"id" => "a,1", "version" => "1.0.0"});
        r.push(crate::record! {"id" => "b", "version" => serde_json::Value::Null});
        r
    }

    fn render(r: &Report, f: OutputFormat) -> String {
        let mut buf = Vec::new();
        r.render(f, &mut buf).unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn csv_quotes_and_blanks() {
        assert_eq!(
            render(&sample(), OutputFormat::Csv),
            "id,version\n\"a,1\",1.0.0\nb,\n"
        );
    }

    #[test]
    fn ndjson_is_one_object_per_line() {
        let text = render(&sample(), OutputFormat::Ndjson);
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(
            lines,
            [
                r#"{"id":"a,1","version":"1.0.0"}"#,
                r#"{"id":"b","version":null}"#
            ]
        );
    }

    #[test]
    fn json_is_an_array_or_an_object() {
        let v: Value = serde_json::from_str(&render(&sample(), OutputFormat::Json)).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 2);
        let one = Report::single(&["id"], crate::record! {"id" => "x"});
        let v: Value = serde_json::from_str(&render(&one, OutputFormat::Json)).unwrap();
        assert_eq!(v["id"], "x");
    }

    #[test]
    fn every_format_has_every_field_and_nulls_for_the_absent() {
        let mut r = Report::list(&["id"]);
        r.push(crate::record! {"id" => "a", "tags" => ["x", "y"]});
        r.push(crate::record! {"id" => "b"});
        assert_eq!(render(&r, OutputFormat::Csv), "id,tags\na,\"x, y\"\nb,\n");
        let v: Value = serde_json::from_str(&render(&r, OutputFormat::Json)).unwrap();
        assert_eq!(v[0]["tags"], serde_json::json!(["x", "y"]));
        assert_eq!(v[1]["tags"], Value::Null);
    }

    #[test]
    fn tables_fit_the_width_unless_wide() {
        let mut r = Report::list(&["a", "b", "c"]);
        let long = "word ".repeat(40);
        r.push(crate::record! {"a" => long, "b" => long, "c" => "short"});
        let mut buf = Vec::new();
        r.render_with(OutputFormat::Table, Width::Fit(80), &mut buf)
            .unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
        let mut buf = Vec::new();
        r.render_with(OutputFormat::Table, Width::Unlimited, &mut buf)
            .unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert!(text.lines().any(|l| l.chars().count() > 400), "{text}");
    }

    #[test]
    fn raw_text_is_printed_as_is() {
        assert_eq!(render(&Report::raw("tok\n"), OutputFormat::Table), "tok\n");
        assert_eq!(render(&Report::raw("tok\n"), OutputFormat::Json), "tok\n");
    }

    #[test]
    fn table_has_a_header_and_a_row_per_record() {
        let text = render(&sample(), OutputFormat::Table);
        assert!(text.contains("id") && text.contains("version"), "{text}");
        assert!(text.contains("a,1") && text.contains("1.0.0"), "{text}");
        assert_eq!(
            render(&Report::list(&["id"]), OutputFormat::Table),
            "(none)\n"
        );
    }
}
