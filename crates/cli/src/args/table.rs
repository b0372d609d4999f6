//! The options of an operation, one per input member, named as the CLI names them
//! (`--participant-token`; booleans as `--x` and `--no-x`).

use crate::model::{xform_name, Kind, Model};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nargs {
    /// One value (scalars, structures, maps).
    One,
    /// Any number of values (lists).
    Many,
    /// `--x` / `--no-x` (booleans).
    Flag,
}

#[derive(Debug, Clone)]
pub struct OpArg {
    pub cli_name: String,
    pub member: String,
    pub shape: String,
    pub required: bool,
    pub nargs: Nargs,
}

/// The operation's options, in model order.
pub fn arguments(model: &Model, input_shape: &str) -> Vec<OpArg> {
    let shape = model.shape(input_shape);
    shape
        .members
        .iter()
        .map(|m| {
            let nargs = match model.shape(&m.shape).kind {
                Kind::Boolean => Nargs::Flag,
                Kind::List => Nargs::Many,
                _ => Nargs::One,
            };
            OpArg {
                cli_name: format!("--{}", xform_name(&m.name)),
                member: m.name.clone(),
                shape: m.shape.clone(),
                // The CLI fills idempotency tokens itself, so never requires them.
                required: shape.required.contains(&m.name) && !m.idempotency_token,
                nargs,
            }
        })
        .collect()
}

/// The option called `name`: its index, and whether it is the positive form of a flag.
pub fn find<'a>(table: &'a [OpArg], name: &str) -> Option<(usize, &'a OpArg, bool)> {
    table.iter().enumerate().find_map(|(i, a)| {
        if a.cli_name == name {
            Some((i, a, true))
        } else if a.nargs == Nargs::Flag && name == format!("--no-{}", &a.cli_name[2..]) {
            Some((i, a, false))
        } else {
            None
        }
    })
}

/// `difflib.get_close_matches(word, possibilities, cutoff=0.8)`: best first, at most 3.
pub fn close_matches(word: &str, possibilities: &[String]) -> Vec<String> {
    let mut scored: Vec<(f64, &String)> = possibilities
        .iter()
        .map(|p| (ratio(&word.chars().collect::<Vec<_>>(), &p.chars().collect::<Vec<_>>()), p))
        .filter(|(r, _)| *r >= 0.8)
        .collect();
    scored.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal).then(b.1.cmp(a.1)));
    scored.into_iter().take(3).map(|(_, p)| p.clone()).collect()
}

/// `SequenceMatcher(None, a, b).ratio()`: 2·M / (len a + len b), M from longest matching blocks.
fn ratio(a: &[char], b: &[char]) -> f64 {
    let total = a.len() + b.len();
    if total == 0 {
        return 1.0;
    }
    2.0 * matches(a, b) as f64 / total as f64
}

fn matches(a: &[char], b: &[char]) -> usize {
    let (mut best_i, mut best_j, mut best) = (0, 0, 0);
    for i in 0..a.len() {
        for j in 0..b.len() {
            let mut k = 0;
            while i + k < a.len() && j + k < b.len() && a[i + k] == b[j + k] {
                k += 1;
            }
            if k > best {
                (best_i, best_j, best) = (i, j, k);
            }
        }
    }
    if best == 0 {
        return 0;
    }
    best + matches(&a[..best_i], &b[..best_j]) + matches(&a[best_i + best..], &b[best_j + best..])
}
