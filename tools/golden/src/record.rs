//! Records on stdin: NDJSON objects, TSV with a header, or bare names, one a line.
//!
//! The kind is told from the first non-empty line: `{` starts NDJSON, a tab makes
//! a TSV header, anything else is a bare name (except a lone known column name such
//! as `instance`, which is the header of a one-column TSV). Records are read one at
//! a time, so a long input is never held whole.

use std::collections::BTreeMap;
use std::io::{BufRead, Cursor, Read};

use serde_json::Value;

use crate::error::{Error, Result};

/// Where a record came from: a command-line argument, or a line of stdin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Argument,
    Stdin(usize),
}

/// One input record: field name to text, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub origin: Origin,
    pub fields: BTreeMap<String, String>,
}

impl Record {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .get(field)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// A field the tool cannot do without.
    pub fn require(&self, field: &str) -> Result<&str> {
        self.get(field)
            .ok_or_else(|| self.at(Error::usage(format!("no {field:?} field"))))
    }

    /// A record holding only an instance name (an argument, or a bare-name line).
    pub fn named(origin: Origin, instance: &str) -> Self {
        Record {
            origin,
            fields: BTreeMap::from([("instance".to_string(), instance.to_string())]),
        }
    }

    /// Says where the record came from in an error about it (an argument
    /// needs no such word: the user just typed it).
    pub fn at(&self, e: Error) -> Error {
        match self.origin {
            Origin::Argument => e,
            Origin::Stdin(n) => e.context(format!("stdin line {n}")),
        }
    }
}

/// Column names that, alone on the first line, make it a one-column TSV header.
const LONE_HEADERS: &[&str] = &["instance", "name", "new", "template"];

#[derive(Debug)]
enum Kind {
    Json,
    /// TSV, with the column names of its header.
    Tsv(Vec<String>),
    Names,
}

/// Reads records from a buffered reader, one line at a time.
pub struct Records<R: BufRead> {
    kind: Kind,
    lines: std::io::Lines<R>,
    line: usize,
    /// The first record line, already read while telling the kind.
    pending: Option<String>,
    done: bool,
}

impl<R: BufRead> Records<R> {
    pub fn new(input: R) -> Result<Self> {
        let mut lines = input.lines();
        let mut line = 0;
        let first = loop {
            let Some(l) = lines.next() else { break None };
            line += 1;
            let l = l.map_err(|e| io_error(e, line))?;
            let l = if line == 1 {
                l.trim_start_matches('\u{feff}').to_string()
            } else {
                l
            };
            let l = l.trim_end_matches('\r');
            if !l.trim().is_empty() {
                break Some(l.to_string());
            }
        };
        let mut records = Records {
            kind: Kind::Names,
            lines,
            line,
            pending: None,
            done: first.is_none(),
        };
        let Some(first) = first else {
            return Ok(records);
        };
        // `[` too: a JSON array is a mistake to name as such, not a name.
        if first.trim_start().starts_with(['{', '[']) {
            records.kind = Kind::Json;
            records.pending = Some(first);
        } else if first.contains('\t') || LONE_HEADERS.contains(&first.trim()) {
            let header: Vec<String> = split_tsv(&first, line)?
                .into_iter()
                .map(|h| h.trim().to_string())
                .collect();
            if let Some((_, dup)) = header
                .iter()
                .enumerate()
                .find(|(i, h)| header[..*i].contains(h))
            {
                return Err(Error::usage(format!(
                    "stdin line {line}: read as a TSV header, it names column {:?} twice: \
                     records need their header line (drop -H from golden-ls)",
                    crate::name::shown(dup)
                )));
            }
            if header.iter().any(String::is_empty) {
                return Err(Error::usage(format!(
                    "stdin line {line}: read as a TSV header, it has an empty column name: \
                     records need their header line (drop -H from golden-ls)"
                )));
            }
            records.kind = Kind::Tsv(header);
        } else {
            records.pending = Some(first);
        }
        Ok(records)
    }

    /// The next non-blank line and its number.
    fn next_line(&mut self) -> Option<Result<(usize, String)>> {
        if let Some(p) = self.pending.take() {
            return Some(Ok((self.line, p)));
        }
        loop {
            let l = self.lines.next()?;
            self.line += 1;
            match l {
                Ok(text) => {
                    let text = text.trim_end_matches('\r');
                    if !text.trim().is_empty() {
                        return Some(Ok((self.line, text.to_string())));
                    }
                }
                Err(e) => return Some(Err(io_error(e, self.line))),
            }
        }
    }

    fn parse(&self, n: usize, text: &str) -> Result<Record> {
        match &self.kind {
            Kind::Json => json_record(n, text),
            Kind::Names => {
                if text.contains('\t') {
                    return Err(Error::usage(format!(
                        "stdin line {n}: a tab in a bare name (a TSV needs a header line)"
                    )));
                }
                Ok(Record::named(Origin::Stdin(n), text.trim()))
            }
            Kind::Tsv(header) => {
                let row = split_tsv(text, n)?;
                if row.len() != header.len() {
                    return Err(Error::usage(format!(
                        "stdin line {n}: {} fields where the header has {}",
                        row.len(),
                        header.len()
                    )));
                }
                Ok(Record {
                    origin: Origin::Stdin(n),
                    fields: header.iter().cloned().zip(row).collect(),
                })
            }
        }
    }
}

fn io_error(e: std::io::Error, line: usize) -> Error {
    match e.kind() {
        std::io::ErrorKind::InvalidData => {
            Error::usage(format!("stdin line {line}: not UTF-8 text"))
        }
        _ => Error::Io(e),
    }
}

/// Splits one TSV line; a field holding a tab or a quote is quoted, as the csv
/// crate writes it on output.
fn split_tsv(line: &str, n: usize) -> Result<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b'\t')
        .has_headers(false)
        .flexible(true)
        .from_reader(line.as_bytes());
    match reader.records().next() {
        Some(Ok(r)) => Ok(r.iter().map(str::to_string).collect()),
        Some(Err(e)) => Err(Error::usage(format!("stdin line {n}: unreadable TSV: {e}"))),
        None => Ok(Vec::new()),
    }
}

impl<R: BufRead> Iterator for Records<R> {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.next_line()?.and_then(|(n, text)| self.parse(n, &text));
        // Reading stops at the first bad line: nothing after it is trusted.
        self.done = item.is_err();
        Some(item)
    }
}

fn json_record(line: usize, text: &str) -> Result<Record> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Error::usage(format!("stdin line {line}: broken JSON: {e}")))?;
    let Value::Object(obj) = value else {
        return Err(Error::usage(format!(
            "stdin line {line}: a JSON object was expected"
        )));
    };
    let fields = obj
        .into_iter()
        .filter_map(|(k, v)| {
            let text = match v {
                Value::Null => return None,
                Value::String(s) => s,
                other => other.to_string(),
            };
            Some((k, text))
        })
        .collect();
    Ok(Record {
        origin: Origin::Stdin(line),
        fields,
    })
}

/// Reads records from any byte reader (stdin in the tools, a slice in tests).
pub fn read_records<R: Read>(input: R) -> Result<Records<std::io::BufReader<R>>> {
    Records::new(std::io::BufReader::new(input))
}

/// Reads records from a string (tests and fuzzing).
pub fn parse_all(text: &str) -> Result<Vec<Record>> {
    Records::new(Cursor::new(text.as_bytes().to_vec()))?.collect()
}

/// Fills a name template such as `golden-{instance}` from a record.
/// `{{` and `}}` stand for literal braces.
pub fn expand_template(template: &str, record: &Record) -> Result<String> {
    let mut out = String::with_capacity(template.len());
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut field = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => field.push(c),
                        None => {
                            return Err(Error::usage(format!(
                                "unclosed '{{' in template {template:?}"
                            )))
                        }
                    }
                }
                let value = record.get(&field).ok_or_else(|| {
                    record.at(Error::usage(format!(
                        "template {template:?} needs field {field:?}, which the record lacks"
                    )))
                })?;
                out.push_str(value);
            }
            '}' => return Err(Error::usage(format!("lone '}}' in template {template:?}"))),
            c => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instances(text: &str) -> Vec<String> {
        parse_all(text)
            .unwrap()
            .iter()
            .map(|r| r.get("instance").unwrap_or("").to_string())
            .collect()
    }

    #[test]
    fn bare_names_one_a_line() {
        assert_eq!(instances("a\n\nb\r\n  c  \n"), ["a", "b", "c"]);
        let r = parse_all("\n\nx\n").unwrap();
        assert_eq!(r[0].origin, Origin::Stdin(3));
    }

    #[test]
    fn tsv_with_header_as_golden_ls_prints_it() {
        let recs =
            parse_all("project\tinstance\tcow\r\nlab\tlab-ref\ttrue\r\npro\tpro-dev\tfalse\r\n")
                .unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].get("project"), Some("lab"));
        assert_eq!(recs[1].get("instance"), Some("pro-dev"));
        assert_eq!(recs[1].get("cow"), Some("false"));
        assert_eq!(recs[1].origin, Origin::Stdin(3));
    }

    #[test]
    fn one_column_tsv_header_is_not_a_name() {
        assert_eq!(instances("instance\nlab-1\nlab-2\n"), ["lab-1", "lab-2"]);
    }

    #[test]
    fn ndjson_values_become_text() {
        let recs = parse_all(
            "{\"project\":\"lab\",\"instance\":\"x\",\"stale\":2,\"cow\":true,\"location\":null}\n",
        )
        .unwrap();
        assert_eq!(recs[0].get("stale"), Some("2"));
        assert_eq!(recs[0].get("cow"), Some("true"));
        assert_eq!(recs[0].get("location"), None);
    }

    #[test]
    fn utf8_bom_is_dropped() {
        assert_eq!(instances("\u{feff}lab-1\n"), ["lab-1"]);
        assert_eq!(
            parse_all("\u{feff}{\"instance\":\"a\"}\n").unwrap()[0].get("instance"),
            Some("a")
        );
        assert_eq!(
            parse_all("\u{feff}project\tinstance\np\ta\n").unwrap()[0].get("project"),
            Some("p")
        );
    }

    #[test]
    fn empty_input_has_no_records() {
        assert!(parse_all("").unwrap().is_empty());
        assert!(parse_all("\n \n").unwrap().is_empty());
    }

    #[test]
    fn each_malformed_input_is_a_usage_error_naming_its_line() {
        let cases = [
            (
                "{\"instance\":\"a\"}\n{broken\n",
                "stdin line 2: broken JSON",
            ),
            (
                "{\"instance\":\"a\"}\n[1,2]\n",
                "stdin line 2: a JSON object was expected",
            ),
            (
                "project\tinstance\nlab\tx\nlab\n",
                "stdin line 3: 1 fields where the header has 2",
            ),
            (
                "project\tinstance\nlab\tx\ty\n",
                "stdin line 2: 3 fields where the header has 2",
            ),
            (
                "project\tproject\n",
                "stdin line 1: read as a TSV header, it names column \"project\" twice",
            ),
            ("a\nb\tc\n", "stdin line 2: a tab in a bare name"),
        ];
        for (input, want) in cases {
            let err = parse_all(input).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{input:?}");
            assert!(err.to_string().starts_with(want), "{input:?}: {err}");
        }
    }

    #[test]
    fn reading_stops_at_the_first_bad_line() {
        let mut it = Records::new(Cursor::new(
            b"{\"instance\":\"a\"}\nnope\n{\"instance\":\"b\"}\n".to_vec(),
        ))
        .unwrap();
        assert!(it.next().unwrap().is_ok());
        assert!(it.next().unwrap().is_err());
        assert!(it.next().is_none());
    }

    #[test]
    fn missing_required_field_names_line_and_field() {
        let r = &parse_all("project\tcow\nlab\ttrue\n").unwrap()[0];
        assert_eq!(
            r.require("instance").unwrap_err().to_string(),
            "stdin line 2: no \"instance\" field"
        );
    }

    #[test]
    fn templates_fill_fields_and_keep_escaped_braces() {
        let r = &parse_all("{\"instance\":\"pro-dev\",\"project\":\"pro\"}").unwrap()[0];
        assert_eq!(
            expand_template("golden-{instance}", r).unwrap(),
            "golden-pro-dev"
        );
        assert_eq!(
            expand_template("{project}-{instance}", r).unwrap(),
            "pro-pro-dev"
        );
        assert_eq!(expand_template("a{{b}}", r).unwrap(), "a{b}");
        for bad in ["golden-{colour}", "x{instance", "x}"] {
            let e = expand_template(bad, r).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
        }
        assert!(expand_template("golden-{colour}", r)
            .unwrap_err()
            .to_string()
            .contains("\"colour\""));
    }
}
