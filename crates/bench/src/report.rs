//! One JSON report per scenario on stdout, a human summary on stderr.

use crate::procfs::round;
use serde_json::{json, Map, Value};

pub struct Report {
    scenario: &'static str,
    small: bool,
    config: Value,
    machine: Value,
    runs: Map<String, Value>,
    ratios: Map<String, Value>,
    targets: Vec<Value>,
}

impl Report {
    pub fn new(scenario: &'static str, small: bool, config: Value) -> Report {
        Report {
            scenario,
            small,
            config,
            machine: crate::procfs::machine(),
            runs: Map::new(),
            ratios: Map::new(),
            targets: Vec::new(),
        }
    }

    pub fn run(&mut self, name: &str, figures: Value) {
        eprintln!("  {name}: {}", brief(&figures));
        self.runs.insert(name.to_owned(), figures);
    }

    pub fn get(&self, run: &str, path: &[&str]) -> Option<f64> {
        let mut at = self.runs.get(run)?;
        for key in path {
            at = at.get(*key)?;
        }
        at.as_f64()
    }

    /// confab's figure over the baseline's, when both were measured.
    pub fn ratio(&mut self, name: &str, path: &[&str]) -> Option<f64> {
        self.ratio_of(name, path, path)
    }

    /// confab's figure at `confab` over the baseline's at `baseline`.
    pub fn ratio_of(&mut self, name: &str, confab: &[&str], baseline: &[&str]) -> Option<f64> {
        self.ratio_runs(name, ("confab", confab), ("baseline", baseline))
    }

    /// Run `over`'s figure at its path over run `under`'s at its path, when both were measured.
    pub fn ratio_runs(&mut self, name: &str, over: (&str, &[&str]), under: (&str, &[&str])) -> Option<f64> {
        let (c, b) = (self.get(over.0, over.1)?, self.get(under.0, under.1)?);
        let r = (b != 0.0).then(|| round(c / b, 3))?;
        self.ratios.insert(name.to_owned(), json!(r));
        Some(r)
    }

    /// A target of the issue: `value` is the figure, `met` whether it meets `want`. Small
    /// runs do not judge targets.
    pub fn target(&mut self, name: &str, want: &str, value: Option<f64>, met: impl FnOnce(f64) -> bool) {
        if self.small {
            return;
        }
        let entry = match value {
            Some(v) => json!({"target": name, "want": want, "value": round(v, 3), "met": met(v)}),
            None => {
                json!({"target": name, "want": want, "value": null, "met": false, "note": "not measured"})
            }
        };
        self.targets.push(entry);
    }

    /// Prints the report (stdout) and its summary (stderr).
    pub fn print(self) {
        for (name, r) in &self.ratios {
            eprintln!("  ratio {name}: {r}");
        }
        for t in &self.targets {
            let met = if t["met"].as_bool() == Some(true) { "MET" } else { "NOT MET" };
            eprintln!(
                "  target {}: {} (want {}) {met}",
                t["target"],
                t["value"],
                t["want"].as_str().unwrap_or("")
            );
        }
        let mut out = json!({
            "scenario": self.scenario,
            "size": if self.small { "small" } else { "full" },
            "config": self.config,
            "machine": self.machine,
            "runs": self.runs,
            "ratios": self.ratios,
        });
        if self.small {
            out["targets_note"] = json!("small run: targets are judged on full-size runs only");
        } else {
            out["targets"] = json!(self.targets);
        }
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    }
}

/// The top-level numbers of a run, for the human summary.
fn brief(v: &Value) -> String {
    let Some(map) = v.as_object() else { return v.to_string() };
    map.iter()
        .filter(|(_, v)| v.is_number() || v.is_object())
        .map(|(k, v)| match v {
            Value::Object(o) => {
                let inner: Vec<String> = o
                    .iter()
                    .filter(|(_, x)| x.is_number())
                    .take(6)
                    .map(|(ik, x)| format!("{ik}={x}"))
                    .collect();
                format!("{k}{{{}}}", inner.join(" "))
            }
            _ => format!("{k}={v}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}
