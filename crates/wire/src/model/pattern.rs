//! Smithy `pattern` traits compiled for the `regex` crate.
//!
//! Smithy patterns are ECMA-262 regular expressions matched *unanchored* (the model adds
//! `^…$` itself where it wants anchoring). The `regex` crate covers almost all of what the
//! AWS models use; two differences are bridged here:
//!
//! * `\d`, `\D`, `\w`, `\W` are ASCII-only in ECMA-262 but Unicode-aware in `regex`; they are
//!   rewritten to explicit ASCII classes (a nested class such as `[[0-9]_]` is valid in `regex`).
//! * Look-arounds right after a leading `^` (`^(?!X)(?=Y)R`), which `regex` does not support,
//!   are split into separate regexes anchored at offset 0: `^(?:R)` and `^(?:Y)` must match,
//!   `^(?:X)` must not. This is exact, since a look-ahead after `^` only ever looks at offset 0.
//!
//! A pattern that still does not compile is *skipped* (never enforced) and reported by
//! [`Pattern::is_skipped`]; a unit test asserts the vendored models have none.

use regex::{Regex, RegexBuilder};

/// A compiled model pattern.
#[derive(Debug)]
pub(crate) struct Pattern {
    /// The pattern exactly as written in the model (used in violation messages).
    pub(crate) source: String,
    matcher: Matcher,
}

#[derive(Debug)]
enum Matcher {
    Plain(Regex),
    /// `^(?!X)(?=Y)…R`: `rest` (`^(?:R)`) must match, every `required` (`^(?:Y)`) must
    /// match and no `forbidden` (`^(?:X)`) may match.
    Lookaround {
        rest: Regex,
        required: Vec<Regex>,
        forbidden: Vec<Regex>,
    },
    /// Does not compile in `regex`: not enforced.
    Skipped {
        #[cfg_attr(not(test), allow(dead_code))]
        error: String,
    },
}

/// Large Unicode classes under counted repetition (`[\P{C}]{1,250}`) exceed the `regex`
/// default of 10 MiB; the patterns are compiled once, so allow more.
const SIZE_LIMIT: usize = 64 << 20;

fn build(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern).size_limit(SIZE_LIMIT).build()
}

impl Pattern {
    pub(crate) fn compile(source: &str) -> Pattern {
        let translated = translate_classes(source);
        let matcher = match build(&translated) {
            Ok(re) => Matcher::Plain(re),
            Err(err) => match split_leading_lookarounds(&translated) {
                Some((looks, rest)) => compile_lookarounds(&looks, rest),
                None => Matcher::Skipped { error: err.to_string() },
            },
        };
        Pattern { source: source.to_owned(), matcher }
    }

    /// Whether `value` satisfies the pattern (always true for a skipped pattern).
    pub(crate) fn is_match(&self, value: &str) -> bool {
        match &self.matcher {
            Matcher::Plain(re) => re.is_match(value),
            Matcher::Lookaround { rest, required, forbidden } => {
                rest.is_match(value)
                    && required.iter().all(|re| re.is_match(value))
                    && !forbidden.iter().any(|re| re.is_match(value))
            }
            Matcher::Skipped { .. } => true,
        }
    }

    #[cfg(test)]
    /// `Some(compile error)` when the pattern could not be compiled and is not enforced.
    pub(crate) fn skipped_reason(&self) -> Option<&str> {
        match &self.matcher {
            Matcher::Skipped { error } => Some(error),
            _ => None,
        }
    }

    #[cfg(test)]
    pub(crate) fn is_skipped(&self) -> bool {
        self.skipped_reason().is_some()
    }
}

fn compile_lookarounds(looks: &[(bool, &str)], rest: &str) -> Matcher {
    let anchored = |p: &str| build(&format!("^(?:{p})"));
    let compiled = (|| -> Result<Matcher, regex::Error> {
        let mut required = Vec::new();
        let mut forbidden = Vec::new();
        for (negative, body) in looks {
            let re = anchored(body)?;
            if *negative {
                forbidden.push(re);
            } else {
                required.push(re);
            }
        }
        Ok(Matcher::Lookaround { rest: anchored(rest)?, required, forbidden })
    })();
    compiled.unwrap_or_else(|e| Matcher::Skipped { error: e.to_string() })
}

/// Rewrites the ECMA-262 ASCII shorthand classes to explicit classes, leaving every other
/// escape untouched.
fn translate_classes(source: &str) -> String {
    let mut out = String::with_capacity(source.len() + 8);
    let mut chars = source.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('d') => out.push_str("[0-9]"),
            Some('D') => out.push_str("[^0-9]"),
            Some('w') => out.push_str("[0-9A-Za-z_]"),
            Some('W') => out.push_str("[^0-9A-Za-z_]"),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// For a pattern of the form `^(?!X)(?=Y)…R` (look-arounds right after a leading `^`, where
/// they are exactly "at offset 0") returns `([(negative, body)…], R)`.
fn split_leading_lookarounds(pattern: &str) -> Option<(Vec<(bool, &str)>, &str)> {
    let mut rest = pattern.strip_prefix('^')?;
    let mut looks = Vec::new();
    loop {
        let negative = if rest.starts_with("(?!") {
            true
        } else if rest.starts_with("(?=") {
            false
        } else {
            break;
        };
        let (body, after) = split_group(&rest[3..])?;
        looks.push((negative, body));
        rest = after;
    }
    if looks.is_empty() {
        None
    } else {
        Some((looks, rest))
    }
}

/// Splits `X)R` at the `)` closing a group whose opening was already consumed.
fn split_group(body: &str) -> Option<(&str, &str)> {
    let mut depth = 1usize;
    let mut in_class = false;
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => {
                depth -= 1;
                if depth == 0 {
                    return Some((&body[..i], &body[i + 1..]));
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_patterns_are_unanchored() {
        let p = Pattern::compile("[0-9]{3}");
        assert!(p.is_match("ab123cd"));
        assert!(!p.is_match("ab12cd"));
        assert!(!p.is_skipped());
    }

    #[test]
    fn shorthand_classes_are_ascii() {
        let p = Pattern::compile(r"^\d+$");
        assert!(p.is_match("0123"));
        assert!(!p.is_match("٣")); // ARABIC-INDIC DIGIT THREE: Unicode \d, not ECMA \d
        let p = Pattern::compile(r"^[\w-]+$");
        assert!(p.is_match("a_b-C9"));
        assert!(!p.is_match("é"));
        let p = Pattern::compile(r"^\\d$");
        assert!(p.is_match(r"\d"));
    }

    #[test]
    fn leading_negative_lookahead() {
        let p = Pattern::compile("^(?!aws:)[a-zA-Z+-=._:/]+$");
        assert!(!p.is_skipped());
        assert!(p.is_match("department"));
        assert!(p.is_match("awsx:key"));
        assert!(p.is_match("my:aws:key"));
        assert!(!p.is_match("aws:key"));
        assert!(!p.is_match("with space"));
        let p = Pattern::compile("^(?!(a|b)c)[a-z]+$");
        assert!(p.is_match("ad"));
        assert!(!p.is_match("bc"));
        // several, positive and negative
        let p = Pattern::compile(r"^(?!\.$)(?!\.\.$)(?=.*[a-z])[a-z.]+$");
        assert!(!p.is_skipped());
        assert!(p.is_match("a.b"));
        assert!(!p.is_match("."));
        assert!(!p.is_match(".."));
        assert!(!p.is_match("..."));
        assert!(!p.is_match("A"));
    }

    #[test]
    fn large_unicode_repetitions_compile() {
        let p = Pattern::compile(r"^[\P{C}\r\n\t]{1,250}$");
        assert!(!p.is_skipped(), "{:?}", p.skipped_reason());
        assert!(p.is_match("Grüße\n"));
        assert!(!p.is_match("\u{7}"));
        assert!(!p.is_match(&"x".repeat(251)));
    }

    #[test]
    fn unsupported_pattern_is_skipped() {
        let p = Pattern::compile("a(?<=b)c");
        assert!(p.is_skipped());
        assert!(p.is_match("anything"));
    }
}
