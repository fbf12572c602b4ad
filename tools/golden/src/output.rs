//! Output records: a table on a terminal, TSV with a header in a pipe, or NDJSON.

use std::io::{IsTerminal, Write};

use clap::{Args, ValueEnum};
use serde::Serialize;
use serde_json::{Map, Value};
use unicode_width::UnicodeWidthStr;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns, for people (default on a terminal).
    Table,
    /// Tab-separated values with a header line (default in a pipe).
    Tsv,
    /// Newline-delimited JSON, one object a line.
    Json,
}

/// The output options every tool shares.
#[derive(Debug, Clone, Default, Args)]
pub struct OutputArgs {
    /// Output format [default: table on a terminal, tsv otherwise]
    #[arg(short = 'f', long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// Print no header line (table and tsv)
    #[arg(short = 'H', long = "no-header")]
    pub no_header: bool,
    /// Comma-separated columns to print, in this order
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FIELDS",
        value_delimiter = ','
    )]
    pub output: Vec<String>,
}

/// Writes records in the chosen format.
pub struct Printer<W: Write> {
    format: Format,
    columns: Vec<String>,
    /// Restrict JSON objects to `columns` (only when the user chose them).
    select: bool,
    header: bool,
    out: W,
    /// A table needs every row before it knows its widths.
    rows: Vec<Vec<String>>,
    started: bool,
}

impl Printer<std::io::Stdout> {
    /// A printer on stdout. `columns` are all the fields a record has, in order;
    /// `-o` must name only those (checked before any work is done).
    pub fn stdout(args: &OutputArgs, columns: &[&str]) -> Result<Self> {
        let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
            Format::Table
        } else {
            Format::Tsv
        });
        Printer::new(std::io::stdout(), format, args, columns)
    }
}

impl<W: Write> Printer<W> {
    pub fn new(out: W, format: Format, args: &OutputArgs, columns: &[&str]) -> Result<Self> {
        let chosen: Vec<String> = args
            .output
            .iter()
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect();
        for c in &chosen {
            if !columns.contains(&c.as_str()) {
                return Err(Error::usage(format!(
                    "unknown column {c:?} for -o (columns: {})",
                    columns.join(",")
                )));
            }
        }
        let select = !chosen.is_empty();
        let columns = if select {
            chosen
        } else {
            columns.iter().map(|c| c.to_string()).collect()
        };
        Ok(Printer {
            format,
            columns,
            select,
            header: !args.no_header,
            out,
            rows: Vec::new(),
            started: false,
        })
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// Prints one record (a struct whose fields are the columns). TSV and JSON go
    /// out at once, so a pipe sees each record as soon as it is done.
    pub fn print<T: Serialize>(&mut self, record: &T) -> Result<()> {
        let map = match serde_json::to_value(record).map_err(|e| Error::failed(e.to_string()))? {
            Value::Object(m) => m,
            other => return Err(Error::failed(format!("not a record: {other}"))),
        };
        self.start()?;
        match self.format {
            Format::Json => {
                let obj: Map<String, Value> = if self.select {
                    self.columns
                        .iter()
                        .map(|c| (c.clone(), map.get(c).cloned().unwrap_or(Value::Null)))
                        .collect()
                } else {
                    map
                };
                serde_json::to_writer(&mut self.out, &obj).map_err(std::io::Error::from)?;
                self.out.write_all(b"\n")?;
                self.out.flush()?;
            }
            Format::Tsv => {
                let row: Vec<String> = self.columns.iter().map(|c| text(map.get(c))).collect();
                self.write_tsv(&row)?;
                self.out.flush()?;
            }
            Format::Table => {
                let row = self
                    .columns
                    .iter()
                    .map(|c| for_people(text(map.get(c))))
                    .collect();
                self.rows.push(row);
            }
        }
        Ok(())
    }

    /// The TSV header goes out even when no record follows, so a pipe always
    /// learns the columns.
    fn start(&mut self) -> Result<()> {
        if self.started {
            return Ok(());
        }
        self.started = true;
        if self.header && self.format == Format::Tsv {
            let head = self.columns.clone();
            self.write_tsv(&head)?;
        }
        Ok(())
    }

    fn write_tsv(&mut self, fields: &[String]) -> Result<()> {
        let mut w = csv::WriterBuilder::new()
            .delimiter(b'\t')
            .quote_style(csv::QuoteStyle::Necessary)
            .from_writer(&mut self.out);
        w.write_record(fields).map_err(csv_io)?;
        w.flush()?;
        Ok(())
    }

    /// Ends the output: a table is written here, with its widths.
    pub fn finish(mut self) -> Result<W> {
        self.start()?;
        if self.format == Format::Table && !self.rows.is_empty() {
            let mut all = Vec::with_capacity(self.rows.len() + 1);
            if self.header {
                all.push(
                    self.columns
                        .iter()
                        .map(|c| c.to_uppercase())
                        .collect::<Vec<_>>(),
                );
            }
            all.append(&mut self.rows);
            let n = self.columns.len();
            let widths: Vec<usize> = (0..n)
                .map(|i| all.iter().map(|r| r[i].width()).max().unwrap_or(0))
                .collect();
            for row in &all {
                let mut line = String::new();
                for (i, cell) in row.iter().enumerate() {
                    if i + 1 == n {
                        line.push_str(cell);
                    } else {
                        line.push_str(cell);
                        line.extend(std::iter::repeat_n(' ', widths[i] - cell.width() + 2));
                    }
                }
                writeln!(self.out, "{line}")?;
            }
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

/// The field names of a record, in order: what a tool's `COLUMNS` must be
/// (each tool's tests tie the two together).
pub fn fields_of<T: Serialize>(record: &T) -> Vec<String> {
    match serde_json::to_value(record) {
        Ok(Value::Object(m)) => m.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// A table cell as `incus list` would show it: empty as `-`, times to the
/// second, image fingerprints to 12 characters. TSV and JSON keep them whole.
fn for_people(s: String) -> String {
    let b = s.as_bytes();
    let is_time = b.len() >= 20
        && s.ends_with('Z')
        && b[4] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[..4].iter().all(u8::is_ascii_digit);
    let is_fingerprint = b.len() == 64 && b.iter().all(|c| c.is_ascii_hexdigit());
    if s.is_empty() {
        "-".to_string()
    } else if is_time {
        format!("{} {}", &s[..10], &s[11..19])
    } else if is_fingerprint {
        s[..12].to_string()
    } else {
        s
    }
}

fn csv_io(e: csv::Error) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::Io(io),
        other => Error::failed(format!("{other:?}")),
    }
}

/// A field as text: strings as they are, null as empty.
fn text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| text(Some(x)))
            .collect::<Vec<_>>()
            .join(","),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Row {
        project: &'static str,
        instance: &'static str,
        cow: bool,
        derived: u32,
        location: Option<&'static str>,
    }

    const COLS: &[&str] = &["project", "instance", "cow", "derived", "location"];

    fn rows() -> Vec<Row> {
        vec![
            Row {
                project: "pro",
                instance: "pro-dev",
                cow: true,
                derived: 2,
                location: None,
            },
            Row {
                project: "lab",
                instance: "lab-reference",
                cow: false,
                derived: 20,
                location: Some("m1"),
            },
        ]
    }

    fn render(format: Format, args: OutputArgs) -> String {
        let mut p = Printer::new(Vec::new(), format, &args, COLS).unwrap();
        for r in rows() {
            p.print(&r).unwrap();
        }
        String::from_utf8(p.finish().unwrap()).unwrap()
    }

    #[test]
    fn tsv_has_a_header_and_one_line_per_record() {
        let out = render(Format::Tsv, OutputArgs::default());
        assert_eq!(
            out,
            "project\tinstance\tcow\tderived\tlocation\npro\tpro-dev\ttrue\t2\t\nlab\tlab-reference\tfalse\t20\tm1\n"
        );
    }

    #[test]
    fn no_header_and_chosen_columns_give_bare_names() {
        let args = OutputArgs {
            no_header: true,
            output: vec!["instance".into()],
            ..Default::default()
        };
        assert_eq!(render(Format::Tsv, args), "pro-dev\nlab-reference\n");
    }

    #[test]
    fn table_aligns_columns_and_shows_empty_as_dash() {
        let out = render(Format::Table, OutputArgs::default());
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "PROJECT  INSTANCE       COW    DERIVED  LOCATION");
        assert_eq!(lines[1], "pro      pro-dev        true   2        -");
        assert_eq!(lines[2], "lab      lab-reference  false  20       m1");
    }

    #[test]
    fn table_columns_align_by_display_width() {
        let mut p = Printer::new(Vec::new(), Format::Table, &OutputArgs::default(), COLS).unwrap();
        for (project, instance) in [("日本", "a"), ("ab", "b")] {
            p.print(&Row {
                project,
                instance,
                cow: true,
                derived: 1,
                location: None,
            })
            .unwrap();
        }
        let out = String::from_utf8(p.finish().unwrap()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        // "日本" is four columns wide on a terminal, as wide as "PROJECT" less three.
        assert_eq!(lines[1], "日本     a         true  1        -");
        assert_eq!(lines[2], "ab       b         true  1        -");
    }

    #[test]
    fn table_cells_shorten_times_and_fingerprints_only() {
        assert_eq!(
            for_people("2026-11-25T22:52:48.484073746Z".into()),
            "2026-11-25 22:52:48"
        );
        assert_eq!(
            for_people("2026-11-25T22:52:48Z".into()),
            "2026-11-25 22:52:48"
        );
        assert_eq!(for_people("a".repeat(64)), "a".repeat(12));
        assert_eq!(for_people("pro-dev".into()), "pro-dev");
        assert_eq!(for_people(String::new()), "-");
        assert_eq!(for_people("2026-11-25".into()), "2026-11-25");
    }

    #[test]
    fn json_is_one_typed_object_per_line() {
        let out = render(Format::Json, OutputArgs::default());
        let first: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
        assert_eq!(first["cow"], Value::Bool(true));
        assert_eq!(first["derived"], Value::from(2));
        assert_eq!(first["location"], Value::Null);
        let args = OutputArgs {
            output: vec!["instance".into(), "cow".into()],
            ..Default::default()
        };
        let out = render(Format::Json, args);
        assert_eq!(
            out.lines().next().unwrap(),
            r#"{"instance":"pro-dev","cow":true}"#
        );
    }

    #[test]
    fn unknown_column_is_a_usage_error_naming_it() {
        let args = OutputArgs {
            output: vec!["instance".into(), "colour".into()],
            ..Default::default()
        };
        let err = Printer::new(Vec::new(), Format::Tsv, &args, COLS)
            .err()
            .unwrap();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("\"colour\""), "{err}");
    }

    #[test]
    fn empty_output_still_has_a_tsv_header_but_no_table() {
        let p = Printer::new(Vec::new(), Format::Tsv, &OutputArgs::default(), COLS).unwrap();
        assert_eq!(
            String::from_utf8(p.finish().unwrap())
                .unwrap()
                .lines()
                .count(),
            1
        );
        let p = Printer::new(Vec::new(), Format::Table, &OutputArgs::default(), COLS).unwrap();
        assert_eq!(p.finish().unwrap(), b"");
    }

    #[test]
    fn tsv_quotes_a_field_holding_a_tab() {
        #[derive(Serialize)]
        struct R {
            project: &'static str,
        }
        let mut p = Printer::new(
            Vec::new(),
            Format::Tsv,
            &OutputArgs::default(),
            &["project"],
        )
        .unwrap();
        p.print(&R { project: "a\tb" }).unwrap();
        assert_eq!(
            String::from_utf8(p.finish().unwrap()).unwrap(),
            "project\n\"a\tb\"\n"
        );
    }
}
