//! `--output table`: the AWS CLI's `TableFormatter` and `awscli/table.py`. Sections with
//! centred titles, scalar keys as sorted columns (or as key/value rows when one row would be
//! wider than the terminal), nested values as indented sub-sections.

use super::east_asian_width::is_wide;
use super::py::str_of;
use serde_json::{Map, Value};

/// ANSI styling of `--color on` (colorama's codes).
#[derive(Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn row_element(self, text: &str) -> String {
        if self.color {
            format!("\x1b[1m\x1b[34m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn indentation(self, text: &str) -> String {
        if self.color {
            format!("\x1b[2m\x1b[33m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

#[derive(Default)]
struct Section {
    title: String,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    indent_level: usize,
    max_widths: Vec<usize>,
}

/// Display width as the CLI counts it: East Asian wide/fullwidth/ambiguous characters count 2.
fn text_len(s: &str) -> usize {
    s.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum()
}

impl Section {
    fn update_widths(&mut self, row: &[String]) {
        if self.max_widths.is_empty() {
            self.max_widths = row.iter().map(|s| text_len(s)).collect();
        } else {
            for (i, el) in row.iter().enumerate() {
                if let Some(w) = self.max_widths.get_mut(i) {
                    *w = (*w).max(text_len(el));
                }
            }
        }
    }

    fn add_header(&mut self, headers: Vec<String>) {
        self.update_widths(&headers);
        self.headers = headers;
    }

    fn add_row(&mut self, row: Vec<String>) {
        self.update_widths(&row);
        self.rows.push(row);
    }

    fn column_widths(&self, padding: usize, max_width: Option<usize>) -> Vec<usize> {
        let unscaled: Vec<usize> = self.max_widths.iter().map(|w| w + padding).collect();
        let Some(max_width) = max_width else { return unscaled };
        if unscaled.is_empty() {
            return unscaled;
        }
        let scale = max_width as f64 / unscaled.iter().sum::<usize>() as f64;
        // Python's round() rounds halves to even.
        let mut scaled: Vec<i64> =
            unscaled.iter().map(|w| (scale * *w as f64).round_ties_even() as i64).collect();
        let mut off_by: i64 = scaled.iter().sum::<i64>() - max_width as i64;
        while off_by != 0 {
            let order: Vec<usize> =
                if off_by < 0 { (0..scaled.len()).rev().collect() } else { (0..scaled.len()).collect() };
            for i in order {
                if off_by > 0 {
                    scaled[i] -= 1;
                    off_by -= 1;
                } else {
                    scaled[i] += 1;
                    off_by += 1;
                }
                if off_by == 0 {
                    break;
                }
            }
        }
        scaled.into_iter().map(|w| w.max(0) as usize).collect()
    }

    fn total_width(&self, padding: usize, outer_padding: usize) -> usize {
        let total: usize =
            self.column_widths(0, None).iter().map(|w| w + padding).sum::<usize>() + 2 + 2 * outer_padding;
        total.max(text_len(&self.title) + 2 + 2 * outer_padding)
    }
}

/// Builds the sections of a response (`TableFormatter._build_table`).
struct Builder {
    sections: Vec<Section>,
}

impl Builder {
    fn current(&mut self) -> &mut Section {
        if self.sections.is_empty() {
            self.sections.push(Section::default());
        }
        let last = self.sections.len() - 1;
        &mut self.sections[last]
    }

    fn new_section(&mut self, title: &str, indent_level: usize) {
        self.sections.push(Section { title: title.to_owned(), indent_level, ..Section::default() });
    }

    fn build(&mut self, title: Option<&str>, current: &Value, indent_level: usize) -> bool {
        if !truthy(current) {
            return false;
        }
        if let Some(title) = title {
            self.new_section(title, indent_level);
        }
        match current {
            Value::Array(items) => {
                if items.first().is_some_and(Value::is_object) {
                    self.sub_table_from_list(items, indent_level, title);
                } else {
                    for item in items {
                        match item {
                            Value::Array(inner) if inner.iter().all(is_scalar) => {
                                self.current().add_row(inner.iter().map(str_of).collect())
                            }
                            // Python iterates a dict's keys here: they become the row.
                            Value::Object(o) => self.current().add_row(o.keys().cloned().collect()),
                            Value::Array(_) => {
                                self.build(None, item, 0);
                            }
                            scalar => self.current().add_row(vec![str_of(scalar)]),
                        }
                    }
                }
            }
            Value::Object(map) => self.sub_table_from_dict(map, indent_level),
            _ => {}
        }
        true
    }

    fn sub_table_from_dict(&mut self, map: &Map<String, Value>, indent_level: usize) {
        let (headers, more) = group_scalar_keys(map);
        if headers.len() == 1 {
            let row = vec![headers[0].clone(), str_of(&map[&headers[0]])];
            self.current().add_row(row);
        } else if !headers.is_empty() {
            let row = headers.iter().map(|k| str_of(&map[k])).collect();
            self.current().add_header(headers);
            self.current().add_row(row);
        }
        for key in more {
            self.build(Some(&key), &map[&key], indent_level + 1);
        }
    }

    fn sub_table_from_list(&mut self, items: &[Value], indent_level: usize, title: Option<&str>) {
        let mut headers: Vec<String> = Vec::new();
        let mut more: Vec<String> = Vec::new();
        for item in items.iter().filter_map(Value::as_object) {
            let (h, m) = group_scalar_keys(item);
            push_unique(&mut headers, h);
            push_unique(&mut more, m);
        }
        headers.sort();
        more.sort();
        self.current().add_header(headers.clone());
        for (i, element) in items.iter().enumerate() {
            if i > 0 && !more.is_empty() {
                self.new_section(title.unwrap_or_default(), indent_level);
                self.current().add_header(headers.clone());
            }
            let obj = element.as_object();
            let row =
                headers.iter().map(|h| obj.and_then(|o| o.get(h)).map(str_of).unwrap_or_default()).collect();
            self.current().add_row(row);
            for key in &more {
                if let Some(v) = obj.and_then(|o| o.get(key)) {
                    self.build(Some(key), v, indent_level + 1);
                }
            }
        }
    }
}

fn push_unique(into: &mut Vec<String>, from: Vec<String>) {
    for k in from {
        if !into.contains(&k) {
            into.push(k);
        }
    }
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

/// Python truthiness (`if not current: return False`).
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn group_scalar_keys(map: &Map<String, Value>) -> (Vec<String>, Vec<String>) {
    let mut headers = Vec::new();
    let mut more = Vec::new();
    for (k, v) in map {
        if is_scalar(v) {
            headers.push(k.clone());
        } else {
            more.push(k.clone());
        }
    }
    headers.sort();
    more.sort();
    (headers, more)
}

/// Renders `value` under `title` (the operation name) for a terminal of `width` columns.
pub fn format(title: &str, value: &Value, width: usize, style: Style) -> String {
    let mut builder = Builder { sections: Vec::new() };
    if !builder.build(Some(title), value, 0) {
        return String::new();
    }
    render(builder.sections, width, style)
}

fn max_width(sections: &[Section]) -> usize {
    sections.iter().map(|s| s.total_width(4, s.indent_level)).max().unwrap_or(0)
}

fn render(mut sections: Vec<Section>, width: usize, style: Style) -> String {
    let mut max = max_width(&sections);
    if max > width {
        to_vertical(&mut sections);
        max = max_width(&sections);
    }
    let mut out = Sink { text: String::new(), autoreset: style.color };
    out.write(&("-".repeat(max) + "\n"));
    for section in &sections {
        render_section(section, max, style, &mut out);
    }
    out.text
}

/// The output stream. With colour the CLI's stdout is colorama's, which writes a reset code
/// after every write; those land in the output, so they are reproduced write for write.
struct Sink {
    text: String,
    autoreset: bool,
}

impl Sink {
    fn write(&mut self, s: &str) {
        self.text.push_str(s);
        if self.autoreset {
            self.text.push_str("\x1b[0m");
        }
    }
}

/// One-row sections become key/value rows (`convert_to_vertical_table`).
fn to_vertical(sections: &mut [Section]) {
    for section in sections.iter_mut() {
        if section.rows.len() == 1 && !section.headers.is_empty() {
            let mut vertical = Section {
                title: section.title.clone(),
                indent_level: section.indent_level,
                ..Section::default()
            };
            for (h, v) in section.headers.iter().zip(section.rows[0].iter()) {
                vertical.add_row(vec![h.clone(), v.clone()]);
            }
            *section = vertical;
        }
    }
}

/// Writes a line with the section's indentation bars on both sides (`IndentedStream`: four
/// writes).
fn write_line(out: &mut Sink, indent: usize, style: Style, line: &str) {
    let bars = style.indentation("|").repeat(indent);
    out.write(&bars);
    out.write(line);
    out.write(&bars);
    out.write("\n");
}

fn center(text: &str, text_len: usize, length: usize, left: &str, right: &str) -> String {
    let char_start = (length / 2) as i64 - (text_len / 2) as i64 - 1;
    let start = char_start.max(0) as usize;
    let so_far = left.len() as i64 + char_start + text_len as i64;
    let right_spaces = (length as i64 - right.len() as i64 - so_far).max(0) as usize;
    format!("{left}{}{text}{}{right}", " ".repeat(start), " ".repeat(right_spaces))
}

fn align_left(text: &str, text_len: usize, length: usize, left: &str, right: &str) -> String {
    let computed = text_len + 2 + left.len() + right.len();
    let padding = if length >= computed { 2 } else { 0 };
    let so_far = left.len() + padding + text_len;
    let fill = (length as i64 - so_far as i64 - right.len() as i64).max(0) as usize;
    format!("{left}{}{text}{}{right}", " ".repeat(padding), " ".repeat(fill))
}

fn line_break(widths: &[usize]) -> String {
    let mut parts = String::new();
    for (i, w) in widths.iter().enumerate() {
        if i == 0 {
            parts.push_str(&format!("+{}+", "-".repeat(w.saturating_sub(2))));
        } else {
            parts.push_str(&format!("{}+", "-".repeat(w.saturating_sub(1))));
        }
    }
    parts
}

fn render_section(section: &Section, max_width: usize, style: Style, out: &mut Sink) {
    let indent = section.indent_level;
    let width = max_width - indent * 2;
    if !section.title.is_empty() {
        write_line(out, indent, style, &center(&section.title, text_len(&section.title), width, "|", "|"));
        if section.headers.is_empty() && section.rows.is_empty() {
            write_line(out, indent, style, &format!("+{}+", "-".repeat(width - 2)));
        }
    }
    if !section.headers.is_empty() {
        let widths = section.column_widths(4, Some(width));
        let mut line = String::new();
        for (i, (w, h)) in widths.iter().zip(section.headers.iter()).enumerate() {
            line.push_str(&center(h, text_len(h), *w, if i == 0 { "|" } else { "" }, "|"));
        }
        write_line(out, indent, style, &line_break(&widths));
        write_line(out, indent, style, &line);
    }
    if section.rows.is_empty() {
        return;
    }
    let widths = section.column_widths(4, Some(width));
    if widths.is_empty() {
        return;
    }
    write_line(out, indent, style, &line_break(&widths));
    for row in &section.rows {
        let mut line = String::new();
        for (i, (w, el)) in widths.iter().zip(row.iter()).enumerate() {
            line.push_str(&align_left(
                &style.row_element(el),
                text_len(el),
                *w,
                if i == 0 { "|" } else { "" },
                "|",
            ));
        }
        write_line(out, indent, style, &line);
    }
    write_line(out, indent, style, &line_break(&widths));
}
