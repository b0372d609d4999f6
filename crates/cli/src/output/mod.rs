//! Output: `--query` (JMESPath) and the three formats of the AWS CLI v1, byte for byte.

mod east_asian_width;
pub mod py;
pub mod query;
pub mod table;
pub mod text;

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Text,
    Table,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "json" => Some(Format::Json),
            "text" => Some(Format::Text),
            "table" => Some(Format::Table),
            _ => None,
        }
    }
}

/// How to print a response.
pub struct Printer {
    pub format: Format,
    pub query: Option<query::Query>,
    pub color: bool,
    pub width: usize,
}

impl Printer {
    /// The text the CLI writes to stdout for `response` of `operation` (its model name).
    pub fn render(&self, operation: &str, response: &Value) -> String {
        let data = match &self.query {
            Some(q) => q.search(response),
            None => response.clone(),
        };
        match self.format {
            // An empty response prints nothing; other "falsey" values (null, []) print.
            Format::Json if data == Value::Object(Default::default()) => String::new(),
            Format::Json => py::json_dumps(&data, false) + "\n",
            Format::Text => {
                let mut out = String::new();
                text::format(&data, &mut out);
                out
            }
            Format::Table => table::format(operation, &data, self.width, table::Style { color: self.color }),
        }
    }
}
