//! The store URL: a normal PostgreSQL URL plus confab's own `schema=<name>` query parameter,
//! which is taken out (libpq and tokio-postgres do not know it) and becomes the search_path.

use std::str::FromStr;
use std::time::Duration;
use tokio_postgres::Config;

const IDLE_IN_TRANSACTION_MS: u32 = 60_000;

/// What a store URL says.
#[derive(Debug)]
pub(crate) struct StoreUrl {
    pub(crate) config: Config,
    /// The schema confab's tables live in (created if missing); None: the server's default
    /// search_path.
    pub(crate) schema: Option<String>,
}

pub(crate) fn parse(url: &str) -> Result<StoreUrl, String> {
    let (rest, schema) = take_schema(url)?;
    let mut config = Config::from_str(&rest).map_err(|e| format!("invalid postgres URL: {e}"))?;
    // Sent in the startup packet, so every pooled connection has them from the start. A node
    // that hangs inside a transaction would hold its contacts' locks: the server ends such a
    // session after a minute (the URL's own options come after, and may say otherwise).
    let mut options = vec![format!("-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_MS}")];
    options.extend(config.get_options().map(str::to_owned));
    if let Some(schema) = &schema {
        options.push(format!("-c search_path={schema}"));
    }
    config.options(options.join(" "));
    if config.get_application_name().is_none() {
        config.application_name("confab");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(5));
    }
    Ok(StoreUrl { config, schema })
}

/// Splits `schema=` off the query string.
fn take_schema(url: &str) -> Result<(String, Option<String>), String> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), None));
    };
    let mut schema = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("schema", value)) => schema = Some(valid_schema(value)?),
            _ => kept.push(pair),
        }
    }
    let rest = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
    Ok((rest, schema))
}

/// A plain identifier, so it needs no quoting in `search_path` nor in `CREATE SCHEMA`.
fn valid_schema(name: &str) -> Result<String, String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(name.to_owned())
    } else {
        Err(format!("invalid schema {name:?}: use lowercase letters, digits and '_' (at most 63)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_taken_out_of_the_query() {
        let (rest, schema) =
            take_schema("postgres://postgres@127.0.0.1:5432/postgres?schema=t1&sslmode=disable")
                .expect("parse");
        assert_eq!(rest, "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable");
        assert_eq!(schema.as_deref(), Some("t1"));
        let (rest, schema) = take_schema("postgres://h/db?schema=abc").expect("parse");
        assert_eq!((rest.as_str(), schema.as_deref()), ("postgres://h/db", Some("abc")));
        let (rest, schema) = take_schema("postgres://h/db").expect("parse");
        assert_eq!((rest.as_str(), schema), ("postgres://h/db", None));
        assert!(take_schema("postgres://h/db?schema=Robert';drop").is_err());
        assert!(take_schema("postgres://h/db?schema=").is_err());
        assert!(take_schema("postgres://h/db?schema=1abc").is_err());
    }

    #[test]
    fn schema_becomes_the_search_path() {
        let url = parse("postgres://postgres@127.0.0.1:5432/postgres?schema=s_1").expect("parse");
        assert_eq!(
            url.config.get_options(),
            Some("-c idle_in_transaction_session_timeout=60000 -c search_path=s_1")
        );
        assert_eq!(url.config.get_dbname(), Some("postgres"));
        assert_eq!(url.config.get_application_name(), Some("confab"));
        let url = parse("postgres://postgres@127.0.0.1/postgres?options=-c%20x%3Dy&schema=s").expect("parse");
        assert_eq!(
            url.config.get_options(),
            Some("-c idle_in_transaction_session_timeout=60000 -c x=y -c search_path=s")
        );
        assert!(parse("mysql://nope").is_err());
    }
}
