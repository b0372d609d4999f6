//! Settings from three places, later ones winning: the TOML file, `CONFAB_*` variables, and
//! flags. A variable names a setting by its path, sections joined with `__`:
//! `CONFAB_SERVICE__MAX_MESSAGE_BYTES=4096` sets `[service] max_message_bytes = 4096`. At the
//! top level only `CONFAB_SECRET`, `CONFAB_STORE`, `CONFAB_BUS`, `CONFAB_BLOBS` and
//! `CONFAB_NODE_ID` are settings (the others are flags); other `CONFAB_*`
//! names without a section are left alone, since tools around confab use that prefix too.

use anyhow::Context;
use std::path::Path;
use toml::Value;

/// Variables that are flags of `confab serve` (read by clap), not settings paths.
const FLAG_VARIABLES: [&str; 8] =
    ["LISTEN", "DATA_DIR", "CONFIG", "LOG_FORMAT", "TEST_CLOCK", "BASE_PATH", "PUBLIC_URL", "LOG"];

/// Top-level settings that only a file or a variable can set.
const TOP_LEVEL: [&str; 5] = ["SECRET", "STORE", "BUS", "BLOBS", "NODE_ID"];

/// The settings table: the file (if any) with the environment laid over it.
pub fn load(file: Option<&Path>, env: impl Iterator<Item = (String, String)>) -> anyhow::Result<Value> {
    let mut table = match file {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            text.parse::<toml::Table>()
                .map(Value::Table)
                .with_context(|| format!("parsing {}", path.display()))?
        }
        None => Value::Table(toml::Table::new()),
    };
    for (name, value) in env {
        let Some(path) = name.strip_prefix("CONFAB_") else {
            continue;
        };
        if FLAG_VARIABLES.contains(&path) || !(path.contains("__") || TOP_LEVEL.contains(&path)) {
            continue;
        }
        let keys: Vec<String> = path.split("__").map(str::to_ascii_lowercase).collect();
        set(&mut table, &keys, scalar(&value)).with_context(|| format!("applying {name}"))?;
    }
    Ok(table)
}

/// A variable's value read as a TOML value when it is one (`42`, `true`, `["a"]`), else as a string.
fn scalar(text: &str) -> Value {
    format!("v = {text}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(text.to_owned()))
}

fn set(table: &mut Value, keys: &[String], value: Value) -> anyhow::Result<()> {
    let Some((last, sections)) = keys.split_last() else {
        return Ok(());
    };
    let mut node = table;
    for key in sections {
        let Value::Table(t) = node else { anyhow::bail!("{key} is not a section") };
        node = t.entry(key.clone()).or_insert_with(|| Value::Table(toml::Table::new()));
    }
    let Value::Table(t) = node else { anyhow::bail!("{last} is not in a section") };
    t.insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_override_the_file_by_path() {
        let env = [
            ("CONFAB_SERVICE__MAX_MESSAGE_BYTES".to_owned(), "4096".to_owned()),
            ("CONFAB_SERVER__CORS_ORIGIN".to_owned(), "https://x.example".to_owned()),
            ("CONFAB_LISTEN".to_owned(), "ignored: a flag".to_owned()),
            ("OTHER".to_owned(), "1".to_owned()),
            ("CONFAB_BIN".to_owned(), "not a setting".to_owned()),
            ("CONFAB_SECRET".to_owned(), "c2VjcmV0".to_owned()),
        ];
        let t = load(None, env.into_iter()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t["service"]["max_message_bytes"].as_integer(), Some(4096));
        assert_eq!(t["server"]["cors_origin"].as_str(), Some("https://x.example"));
        assert!(t.get("listen").is_none() && t.get("bin").is_none());
        assert_eq!(t["secret"].as_str(), Some("c2VjcmV0"));
    }
}
