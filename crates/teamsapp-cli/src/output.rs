//! Printing results: one [`Report`] rendered as a table, JSON, NDJSON or CSV. Nothing else in the
//! CLI writes results; diagnostics go to stderr through tracing.

use crate::cli::OutputFormat;
use serde_json::{Map, Value};
use std::io::{self, Write};

/// Rows of records with a column order for tables and CSV; JSON prints the records whole.
#[derive(Debug, Default)]
pub struct Report {
    columns: Vec<&'static str>,
    rows: Vec<Map<String, Value>>,
    single: bool,
}

impl Report {
    /// A list of records shown with these columns.
    pub fn list(columns: &[&'static str]) -> Self {
        Self {
            columns: columns.to_vec(),
            rows: Vec::new(),
            single: false,
        }
    }

    /// One record (JSON prints an object, not an array).
    pub fn single(columns: &[&'static str], record: Map<String, Value>) -> Self {
        Self {
            columns: columns.to_vec(),
            rows: vec![record],
            single: true,
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

    /// Writes the report in `format`.
    pub fn render(&self, format: OutputFormat, out: &mut dyn Write) -> io::Result<()> {
        match format {
            OutputFormat::Json => {
                if self.single {
                    serde_json::to_writer_pretty(&mut *out, &self.rows[0])?;
                } else {
                    serde_json::to_writer_pretty(&mut *out, &self.rows)?;
                }
                writeln!(out)
            }
            OutputFormat::Ndjson => {
                for row in &self.rows {
                    serde_json::to_writer(&mut *out, row)?;
                    writeln!(out)?;
                }
                Ok(())
            }
            OutputFormat::Csv => {
                let mut w = csv::Writer::from_writer(out);
                w.write_record(&self.columns)?;
                for row in &self.rows {
                    w.write_record(self.columns.iter().map(|c| cell(row.get(*c))))?;
                }
                w.flush()
            }
            OutputFormat::Table => {
                if self.single {
                    let mut table = new_table();
                    for c in &self.columns {
                        table.add_row(vec![(*c).to_owned(), cell(self.rows[0].get(*c))]);
                    }
                    writeln!(out, "{table}")
                } else if self.rows.is_empty() {
                    writeln!(out, "(none)")
                } else {
                    let mut table = new_table();
                    table.set_header(self.columns.iter().map(|c| (*c).to_owned()));
                    for row in &self.rows {
                        table.add_row(self.columns.iter().map(|c| cell(row.get(*c))));
                    }
                    writeln!(out, "{table}")
                }
            }
        }
    }
}

fn new_table() -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::UTF8_BORDERS_ONLY);
    table.set_content_arrangement(comfy_table::ContentArrangement::Disabled);
    table
}

/// A cell's text: strings bare, `null`/missing empty, everything else as JSON.
fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
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
