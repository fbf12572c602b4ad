//! Output records: a table on a terminal, TSV with a header in a pipe, or NDJSON.
//!
//! A table fits its terminal, as `ls` and `ps` do: each record type declares
//! its columns with a priority ([`Column`]), and on a terminal too narrow for
//! all of them the table leaves out the least needed first, then shortens the
//! widest cells with "…". TSV and JSON, for programs, always carry every column
//! whole; so does a table of columns the user named with `-o`.

use std::io::{IsTerminal, Write};

use clap::{Args, ValueEnum};
use serde::Serialize;
use serde_json::{Map, Value};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::error::{Error, Result};

/// One column of a record: a field's name, and how much a table on a narrow
/// terminal needs it. As in Kubernetes' table columns, a lower priority number
/// means more needed: 0 is never left out (what names the record, what
/// happened to it); a table too wide for its terminal leaves out the highest
/// numbers first, the rightmost first among equals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub priority: u8,
}

/// A [`Column`], in a record type's `COLUMNS` list.
pub const fn col(name: &'static str, priority: u8) -> Column {
    Column { name, priority }
}

/// The names of `columns`, in order.
pub fn names(columns: &[Column]) -> Vec<&'static str> {
    columns.iter().map(|c| c.name).collect()
}

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
    ///
    /// A table fits the width of the terminal it is printed on (or COLUMNS
    /// when standard output is no terminal, as with ls; neither: no limit).
    /// On a narrow terminal the columns least needed are left out first (in
    /// the order RECORDS gives), and if the table is still too wide its widest
    /// cells are shortened, ending in "…". Columns named with -o are all
    /// printed, whole. TSV and JSON always carry every column, whole.
    #[arg(short = 'f', long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// Print no header line (table and tsv)
    #[arg(short = 'H', long = "no-header")]
    pub no_header: bool,
    /// Comma-separated columns to print, in this order
    ///
    /// In a table, each of them is printed whole, however narrow the
    /// terminal.
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
    /// Each column's priority (see [`Column`]), as `columns`.
    priorities: Vec<u8>,
    /// Restrict JSON objects to `columns` (only when the user chose them).
    /// Chosen columns are also never left out of a table, nor shortened.
    select: bool,
    /// The width a table must fit in (None: no limit).
    width: Option<usize>,
    header: bool,
    out: W,
    /// A table needs every row before it knows its widths.
    rows: Vec<Vec<String>>,
    started: bool,
}

impl Printer<std::io::Stdout> {
    /// A printer on stdout. `columns` are all the fields a record has, in order;
    /// `-o` must name only those (checked before any work is done). A table
    /// fits [`terminal_width`].
    pub fn stdout(args: &OutputArgs, columns: &[Column]) -> Result<Self> {
        let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
            Format::Table
        } else {
            Format::Tsv
        });
        let width = if format == Format::Table {
            terminal_width()
        } else {
            None
        };
        Ok(Printer::new(std::io::stdout(), format, args, columns)?.fit(width))
    }
}

/// The width a table on stdout must fit in, found as `ls` finds it: the
/// terminal's own width when stdout is one, else `COLUMNS` if it holds a
/// number (0: no limit), else no limit (a table piped to a file or `less -S`
/// keeps every column).
pub fn terminal_width() -> Option<usize> {
    if std::io::stdout().is_terminal() {
        // SAFETY: TIOCGWINSZ only writes a `winsize` into the one we lend it.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
        if ok && ws.ws_col > 0 {
            return Some(usize::from(ws.ws_col));
        }
    }
    width_from_env(std::env::var("COLUMNS").ok().as_deref())
}

/// `COLUMNS` as `ls` reads it: a positive number is a width; 0, nothing, or
/// anything else, no limit.
fn width_from_env(columns: Option<&str>) -> Option<usize> {
    columns
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&w| w > 0)
}

impl<W: Write> Printer<W> {
    /// A printer whose table has no width limit (see [`Printer::fit`]).
    pub fn new(out: W, format: Format, args: &OutputArgs, columns: &[Column]) -> Result<Self> {
        let chosen: Vec<String> = args
            .output
            .iter()
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect();
        for c in &chosen {
            if !columns.iter().any(|k| k.name == c) {
                return Err(Error::usage(format!(
                    "unknown column {c:?} for -o (columns: {})",
                    names(columns).join(",")
                )));
            }
        }
        let select = !chosen.is_empty();
        let (columns, priorities) = if select {
            let n = chosen.len();
            (chosen, vec![0; n])
        } else {
            columns
                .iter()
                .map(|c| (c.name.to_string(), c.priority))
                .unzip()
        };
        Ok(Printer {
            format,
            columns,
            priorities,
            select,
            width: None,
            header: !args.no_header,
            out,
            rows: Vec::new(),
            started: false,
        })
    }

    /// Makes a table fit in `width` display columns (None: no limit).
    pub fn fit(mut self, width: Option<usize>) -> Self {
        self.width = width;
        self
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
            let heads: Vec<String> = self.columns.iter().map(|c| c.to_uppercase()).collect();
            let natural: Vec<usize> = (0..heads.len())
                .map(|i| {
                    self.rows
                        .iter()
                        .map(|r| r[i].width())
                        .chain([heads[i].width()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let floors: Vec<usize> = heads.iter().map(|h| h.width()).collect();
            let (kept, widths) = match self.width {
                Some(w) if !self.select => layout(&natural, &floors, &self.priorities, w),
                _ => ((0..heads.len()).collect(), natural),
            };
            let mut all = Vec::with_capacity(self.rows.len() + 1);
            if self.header {
                all.push(heads);
            }
            all.append(&mut self.rows);
            for row in &all {
                let mut line = String::new();
                for (j, (&i, &w)) in kept.iter().zip(&widths).enumerate() {
                    let cell = shorten(&row[i], w);
                    line.push_str(&cell);
                    if j + 1 < kept.len() {
                        line.extend(std::iter::repeat_n(' ', w - cell.width() + GAP));
                    }
                }
                writeln!(self.out, "{line}")?;
            }
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

/// The spaces between two columns of a table.
const GAP: usize = 2;

/// Which columns a table keeps (indices, in order) and each one's width, for
/// it to fit in `width`: the columns with the highest priority numbers are
/// left out first (the rightmost first among equals), never one of priority
/// 0; if those left are still too wide, the widest are narrowed, one display
/// column at a time, down to their floor at most (the header's width). A
/// table that cannot fit even so is as narrow as it can be.
fn layout(
    natural: &[usize],
    floors: &[usize],
    priorities: &[u8],
    width: usize,
) -> (Vec<usize>, Vec<usize>) {
    let total = |ws: &[usize]| ws.iter().sum::<usize>() + GAP * ws.len().saturating_sub(1);
    let widths_of = |kept: &[usize]| kept.iter().map(|&i| natural[i]).collect::<Vec<_>>();
    let mut kept: Vec<usize> = (0..natural.len()).collect();
    let mut order = drop_order(priorities).into_iter();
    while total(&widths_of(&kept)) > width {
        let Some(drop) = order.next() else { break };
        kept.retain(|&i| i != drop);
    }
    let mut widths = widths_of(&kept);
    let mut over = total(&widths).saturating_sub(width);
    while over > 0 {
        // The widest that may narrow still (the rightmost among equals).
        let Some(at) = (0..widths.len())
            .filter(|&j| widths[j] > floors[kept[j]].max(1))
            .max_by_key(|&j| (widths[j], j))
        else {
            break;
        };
        widths[at] -= 1;
        over -= 1;
    }
    (kept, widths)
}

/// The order in which a table too wide leaves columns out (their indices):
/// the highest priority numbers first, the rightmost first among equals;
/// never those of priority 0.
fn drop_order(priorities: &[u8]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..priorities.len())
        .filter(|&i| priorities[i] > 0)
        .collect();
    order.sort_by_key(|&i| std::cmp::Reverse((priorities[i], i)));
    order
}

/// For the man pages: the columns a table on a narrow terminal leaves out,
/// first to last, and those it always keeps.
pub fn narrow(columns: &[Column]) -> (Vec<&'static str>, Vec<&'static str>) {
    let priorities: Vec<u8> = columns.iter().map(|c| c.priority).collect();
    let out = drop_order(&priorities)
        .into_iter()
        .map(|i| columns[i].name)
        .collect();
    let kept = columns
        .iter()
        .filter(|c| c.priority == 0)
        .map(|c| c.name)
        .collect();
    (out, kept)
}

/// `cell` in at most `width` display columns: whole if it fits, else cut and
/// ended with "…".
fn shorten(cell: &str, width: usize) -> std::borrow::Cow<'_, str> {
    if cell.width() <= width {
        return cell.into();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in cell.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out.into()
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

    const COLS: &[Column] = &[
        col("project", 1),
        col("instance", 0),
        col("cow", 2),
        col("derived", 1),
        col("location", 3),
    ];

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
            &[col("project", 0)],
        )
        .unwrap();
        p.print(&R { project: "a\tb" }).unwrap();
        assert_eq!(
            String::from_utf8(p.finish().unwrap()).unwrap(),
            "project\n\"a\tb\"\n"
        );
    }

    /// golden-refresh's record, as the README's demo printed it: 151 columns wide.
    #[derive(Serialize)]
    struct Refreshed {
        project: &'static str,
        instance: &'static str,
        template: &'static str,
        from: &'static str,
        to: &'static str,
        status: &'static str,
        identity: &'static str,
        kept: &'static str,
        snapshots: usize,
        restarted: bool,
    }

    /// As golden-refresh declares them (golden::model's REFRESH_COLUMNS; a
    /// copy, since model imports this module: no cycle).
    const REFRESHED: &[Column] = &[
        col("project", 1),
        col("instance", 0),
        col("template", 2),
        col("from", 3),
        col("to", 2),
        col("status", 0),
        col("identity", 3),
        col("kept", 3),
        col("snapshots", 4),
        col("restarted", 4),
    ];

    fn refreshed(instance: &'static str, kept: &'static str) -> Refreshed {
        Refreshed {
            project: "golden-demo",
            instance,
            template: "golden-demo/pro-dev",
            from: "2026-12-02T23:47:58.1Z",
            to: "2026-12-02T23:48:23.7Z",
            status: "refreshed",
            identity: "carried",
            kept,
            snapshots: 0,
            restarted: false,
        }
    }

    fn table(args: &OutputArgs, width: Option<usize>, rows: &[Refreshed]) -> String {
        let mut p = Printer::new(Vec::new(), Format::Table, args, REFRESHED)
            .unwrap()
            .fit(width);
        for r in rows {
            p.print(r).unwrap();
        }
        String::from_utf8(p.finish().unwrap()).unwrap()
    }

    fn demo() -> Vec<Refreshed> {
        vec![
            refreshed("pro-alice", "pro-alice-pre-refresh"),
            refreshed("pro-bob", "pro-bob-pre-refresh"),
        ]
    }

    fn widest(out: &str) -> usize {
        out.lines().map(|l| l.width()).max().unwrap_or(0)
    }

    #[test]
    fn a_table_without_a_width_keeps_every_column() {
        let out = table(&OutputArgs::default(), None, &demo());
        assert_eq!(widest(&out), 151, "{out}");
        assert!(out.starts_with("PROJECT "), "{out}");
        assert!(out.lines().next().unwrap().ends_with("RESTARTED"), "{out}");
    }

    #[test]
    fn at_120_columns_the_least_needed_columns_are_left_out() {
        let out = table(&OutputArgs::default(), Some(120), &demo());
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines,
            [
                "PROJECT      INSTANCE   TEMPLATE             FROM                 TO                   STATUS     IDENTITY",
                "golden-demo  pro-alice  golden-demo/pro-dev  2026-12-02 23:47:58  2026-12-02 23:48:23  refreshed  carried",
                "golden-demo  pro-bob    golden-demo/pro-dev  2026-12-02 23:47:58  2026-12-02 23:48:23  refreshed  carried",
            ],
            "{out}"
        );
        assert!(widest(&out) <= 120);
    }

    #[test]
    fn at_80_columns_fewer_columns_still() {
        let out = table(&OutputArgs::default(), Some(80), &demo());
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines,
            [
                "PROJECT      INSTANCE   TEMPLATE             TO                   STATUS",
                "golden-demo  pro-alice  golden-demo/pro-dev  2026-12-02 23:48:23  refreshed",
                "golden-demo  pro-bob    golden-demo/pro-dev  2026-12-02 23:48:23  refreshed",
            ],
            "{out}"
        );
        assert!(widest(&out) <= 80);
    }

    #[test]
    fn columns_of_priority_0_stay_and_their_widest_cells_are_shortened() {
        let long = "a-clone-whose-name-is-far-too-long-for-any-terminal-of-eighty-columns-wide";
        let rows = [refreshed(long, "k"), refreshed("pro-bob", "k")];
        let out = table(&OutputArgs::default(), Some(80), &rows);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            ["INSTANCE", "STATUS"]
        );
        // The rows fill the width exactly; the header's last cell is shorter.
        assert_eq!(lines[1].width(), 80, "{out}");
        assert_eq!(lines[2].width(), 80, "{out}");
        assert_eq!(widest(&out), 80, "{out}");
        let cut = lines[1].split_whitespace().next().unwrap();
        assert!(cut.ends_with('…'), "{out}");
        assert!(long.starts_with(cut.trim_end_matches('…')), "{out}");
        assert!(lines[2].starts_with("pro-bob "), "{out}");
        assert!(lines[2].ends_with("refreshed"), "{out}");
    }

    #[test]
    fn the_same_at_80_and_120_without_a_header() {
        let args = OutputArgs {
            no_header: true,
            ..Default::default()
        };
        for width in [80, 120] {
            let with = table(&OutputArgs::default(), Some(width), &demo());
            let without = table(&args, Some(width), &demo());
            assert_eq!(
                with.lines().skip(1).collect::<Vec<_>>(),
                without.lines().collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn chosen_columns_are_never_left_out_nor_shortened() {
        let args = OutputArgs {
            output: vec![
                "kept".into(),
                "restarted".into(),
                "from".into(),
                "template".into(),
            ],
            ..Default::default()
        };
        let out = table(&args, Some(20), &demo());
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "KEPT                   RESTARTED  FROM                 TEMPLATE"
        );
        assert_eq!(
            lines[1],
            "pro-alice-pre-refresh  false      2026-12-02 23:47:58  golden-demo/pro-dev"
        );
    }

    #[test]
    fn tsv_and_json_keep_every_column_whatever_the_width() {
        for format in [Format::Tsv, Format::Json] {
            let mut p = Printer::new(Vec::new(), format, &OutputArgs::default(), REFRESHED)
                .unwrap()
                .fit(Some(20));
            p.print(&demo()[0]).unwrap();
            let out = String::from_utf8(p.finish().unwrap()).unwrap();
            assert!(out.contains("pro-alice-pre-refresh"), "{out}");
            assert!(out.contains("2026-12-02T23:47:58.1Z"), "{out}");
            assert!(out.contains("restarted"), "{out}");
        }
    }

    #[test]
    fn shortening_counts_display_columns() {
        assert_eq!(shorten("pro-alice", 9), "pro-alice");
        assert_eq!(shorten("pro-alice", 5), "pro-…");
        // Two columns each: two of them and the ellipsis in five.
        assert_eq!(shorten("日本語です", 5), "日本…");
        assert_eq!(shorten("日本語です", 4), "日…");
        assert_eq!(shorten("abc", 1), "…");
    }

    #[test]
    fn columns_equal_in_priority_go_from_the_right() {
        // 3 + 2 + 3 + 2 + 3 = 13: one of the two of priority 1 must go.
        let (kept, widths) = layout(&[3, 3, 3], &[1, 1, 1], &[0, 1, 1], 8);
        assert_eq!(kept, [0, 1]);
        assert_eq!(widths, [3, 3]);
    }

    #[test]
    fn the_man_pages_order_is_the_tables() {
        let (out, kept) = narrow(REFRESHED);
        assert_eq!(
            out,
            [
                "restarted",
                "snapshots",
                "kept",
                "identity",
                "from",
                "to",
                "template",
                "project"
            ]
        );
        assert_eq!(kept, ["instance", "status"]);
    }

    #[test]
    fn columns_width_comes_from_env_as_ls_reads_it() {
        assert_eq!(width_from_env(Some("80")), Some(80));
        assert_eq!(width_from_env(Some(" 120 ")), Some(120));
        assert_eq!(width_from_env(Some("0")), None);
        assert_eq!(width_from_env(Some("wide")), None);
        assert_eq!(width_from_env(None), None);
    }
}
