//! Why Python's `json.loads` refuses a text, in its words: the CLI shows that message for a
//! bad JSON value (`Expecting ',' delimiter: line 1 column 12 (char 11)`). Only the error is
//! computed here; values are parsed by serde_json.

/// The error message for `text`, or None when Python would accept it.
pub fn error(text: &str) -> Option<String> {
    let s: Vec<char> = text.chars().collect();
    let p = Scanner { s: &s };
    let start = p.ws(0);
    let result = p.value(start).and_then(|end| {
        let end = p.ws(end);
        if end != s.len() {
            Err(("Extra data".to_owned(), end))
        } else {
            Ok(end)
        }
    });
    let (msg, pos) = result.err()?;
    let line = s[..pos].iter().filter(|c| **c == '\n').count() + 1;
    let col = match s[..pos].iter().rposition(|c| *c == '\n') {
        Some(nl) => pos - nl,
        None => pos + 1,
    };
    Some(format!("{msg}: line {line} column {col} (char {pos})"))
}

type Scan = Result<usize, (String, usize)>;

struct Scanner<'a> {
    s: &'a [char],
}

impl Scanner<'_> {
    fn at(&self, i: usize) -> Option<char> {
        self.s.get(i).copied()
    }

    /// Past JSON whitespace (space, tab, newline, carriage return).
    fn ws(&self, mut i: usize) -> usize {
        while self.at(i).is_some_and(|c| " \t\n\r".contains(c)) {
            i += 1;
        }
        i
    }

    fn literal(&self, i: usize, word: &str) -> bool {
        word.chars().enumerate().all(|(k, c)| self.at(i + k) == Some(c))
    }

    /// `scan_once`: a value at `i`; its end, or "Expecting value" at `i`.
    fn value(&self, i: usize) -> Scan {
        let expecting = || Err(("Expecting value".to_owned(), i));
        match self.at(i) {
            Some('"') => self.string(i + 1),
            Some('{') => self.object(i + 1),
            Some('[') => self.array(i + 1),
            Some('n') if self.literal(i, "null") => Ok(i + 4),
            Some('t') if self.literal(i, "true") => Ok(i + 4),
            Some('f') if self.literal(i, "false") => Ok(i + 5),
            Some('N') if self.literal(i, "NaN") => Ok(i + 3),
            Some('I') if self.literal(i, "Infinity") => Ok(i + 8),
            Some('-') if self.literal(i, "-Infinity") => Ok(i + 9),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(i).map_or_else(expecting, Ok),
            _ => expecting(),
        }
    }

    /// `-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?`
    fn number(&self, mut i: usize) -> Option<usize> {
        let digits = |mut j: usize| {
            let start = j;
            while self.at(j).is_some_and(|c| c.is_ascii_digit()) {
                j += 1;
            }
            (j > start).then_some(j)
        };
        if self.at(i) == Some('-') {
            i += 1;
        }
        i = if self.at(i) == Some('0') { i + 1 } else { digits(i)? };
        if self.at(i) == Some('.') {
            if let Some(j) = digits(i + 1) {
                i = j;
            }
        }
        if matches!(self.at(i), Some('e' | 'E')) {
            let sign = usize::from(matches!(self.at(i + 1), Some('+' | '-')));
            if let Some(j) = digits(i + 1 + sign) {
                i = j;
            }
        }
        Some(i)
    }

    /// A string whose opening quote is at `i - 1`; the index past its closing quote.
    fn string(&self, mut i: usize) -> Scan {
        let begin = i - 1;
        let unterminated = || Err(("Unterminated string starting at".to_owned(), begin));
        loop {
            match self.at(i) {
                None => return unterminated(),
                Some('"') => return Ok(i + 1),
                Some('\\') => match self.at(i + 1) {
                    None => return unterminated(),
                    Some('u') => {
                        let hex = (i + 2..i + 6).all(|k| self.at(k).is_some_and(|c| c.is_ascii_hexdigit()));
                        if !hex {
                            return Err(("Invalid \\uXXXX escape".to_owned(), i + 1));
                        }
                        i += 6;
                    }
                    Some(c) if "\"\\/bfnrt".contains(c) => i += 2,
                    // C's scanner (the one json.loads uses) names no character, and points at the
                    // backslash.
                    Some(_) => return Err(("Invalid \\escape".to_owned(), i)),
                },
                Some(c) if (c as u32) < 0x20 => return Err(("Invalid control character at".to_owned(), i)),
                Some(_) => i += 1,
            }
        }
    }

    /// An object whose `{` is at `i - 1` (`JSONObject`).
    fn object(&self, i: usize) -> Scan {
        let mut end = self.ws(i);
        match self.at(end) {
            Some('}') => return Ok(end + 1),
            Some('"') => {}
            _ => return Err(("Expecting property name enclosed in double quotes".to_owned(), end)),
        }
        end += 1;
        loop {
            end = self.string(end)?;
            end = self.ws(end);
            if self.at(end) != Some(':') {
                return Err(("Expecting ':' delimiter".to_owned(), end));
            }
            end = self.value(self.ws(end + 1))?;
            end = self.ws(end);
            match self.at(end) {
                Some('}') => return Ok(end + 1),
                Some(',') => {}
                _ => return Err(("Expecting ',' delimiter".to_owned(), end)),
            }
            end = self.ws(end + 1);
            if self.at(end) != Some('"') {
                return Err(("Expecting property name enclosed in double quotes".to_owned(), end));
            }
            end += 1;
        }
    }

    /// An array whose `[` is at `i - 1` (`JSONArray`).
    fn array(&self, i: usize) -> Scan {
        let mut end = self.ws(i);
        if self.at(end) == Some(']') {
            return Ok(end + 1);
        }
        loop {
            end = self.value(end)?;
            end = self.ws(end);
            match self.at(end) {
                Some(']') => return Ok(end + 1),
                Some(',') => {}
                _ => return Err(("Expecting ',' delimiter".to_owned(), end)),
            }
            end = self.ws(end + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::error;

    // Each expected text is what Python 3.11's json.loads says.
    #[test]
    fn errors_in_pythons_words() {
        let cases = [
            (r#"{"Id":"#, "Expecting value: line 1 column 7 (char 6)"),
            (r#"{"Id": "a" "b"}"#, "Expecting ',' delimiter: line 1 column 12 (char 11)"),
            ("{Id: 1}", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
            (r#"{"Id" 1}"#, "Expecting ':' delimiter: line 1 column 7 (char 6)"),
            (r#"{"Id": "a}"#, "Unterminated string starting at: line 1 column 8 (char 7)"),
            ("[1, 2] x", "Extra data: line 1 column 8 (char 7)"),
            ("[1,\n 2,]", "Expecting value: line 2 column 4 (char 7)"),
            (r#"{"a": 1,}"#, "Expecting property name enclosed in double quotes: line 1 column 9 (char 8)"),
            (r#"["\q"]"#, "Invalid \\escape: line 1 column 3 (char 2)"),
            (r#"["\u12"]"#, "Invalid \\uXXXX escape: line 1 column 4 (char 3)"),
            ("[\"a\u{1}\"]", "Invalid control character at: line 1 column 4 (char 3)"),
            ("[01]", "Expecting ',' delimiter: line 1 column 3 (char 2)"),
            ("[1.]", "Expecting ',' delimiter: line 1 column 3 (char 2)"),
            ("[-]", "Expecting value: line 1 column 2 (char 1)"),
            ("", "Expecting value: line 1 column 1 (char 0)"),
        ];
        for (text, want) in cases {
            assert_eq!(error(text).as_deref(), Some(want), "{text:?}");
        }
        assert_eq!(error(r#"{"a": [1, -2.5e3, true, null, NaN], "b": {}}"#), None);
    }
}
