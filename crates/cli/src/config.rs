//! Where the settings come from, in the AWS CLI's order: options, `AWS_*` variables, the
//! profile in `~/.aws/config` (and `~/.aws/credentials`), then defaults. The default endpoint
//! is the local confab.

use crate::args::Globals;
use crate::errors::CliError;
use std::collections::HashMap;

pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:8380";
/// Used when no region is configured anywhere (the AWS CLI would refuse; confab's server
/// does not care, and a region is needed only to sign).
pub const DEFAULT_REGION: &str = "us-east-1";

/// An INI file as botocore reads it: sections of keys, with indented sub-keys
/// (`s3 =\n  key = value`) kept as `parent.key`.
pub type Ini = HashMap<String, HashMap<String, String>>;

pub fn parse_ini(text: &str) -> Ini {
    let mut ini: Ini = HashMap::new();
    let mut section: Option<String> = None;
    let mut parent: Option<String> = None;
    for raw in text.lines() {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if trimmed.starts_with('[') && trimmed.ends_with(']') {
            let name = trimmed[1..trimmed.len() - 1].trim().to_owned();
            ini.entry(name.clone()).or_default();
            section = Some(name);
            parent = None;
            continue;
        }
        let Some(sec) = &section else { continue };
        let Some((k, v)) = trimmed.split_once('=').or_else(|| trimmed.split_once(':')) else { continue };
        let (k, v) = (k.trim().to_owned(), v.trim().to_owned());
        let indented = raw.starts_with(' ') || raw.starts_with('\t');
        let entries = ini.entry(sec.clone()).or_default();
        match (&parent, indented) {
            (Some(p), true) => {
                entries.insert(format!("{p}.{k}"), v);
            }
            _ => {
                parent = if v.is_empty() { Some(k.clone()) } else { None };
                entries.insert(k, v);
            }
        }
    }
    ini
}

/// The settings a command runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub endpoint: String,
    pub region: String,
    pub output: String,
    pub access_key: String,
    pub secret_key: String,
    pub session_token: Option<String>,
    pub read_timeout: Option<u64>,
    pub connect_timeout: Option<u64>,
    pub ca_bundle: Option<String>,
    pub verify_ssl: bool,
    pub iso_timestamps: bool,
}

/// What the environment gives: variables and file contents (so tests can pass their own).
pub struct Env {
    pub vars: HashMap<String, String>,
    pub config: Ini,
    pub credentials: Ini,
}

impl Env {
    /// The process environment and the files it points at.
    pub fn load() -> Env {
        let vars: HashMap<String, String> = std::env::vars().collect();
        let home = vars.get("HOME").cloned().unwrap_or_default();
        let read = |var: &str, default: &str| {
            let path = vars.get(var).cloned().unwrap_or_else(|| format!("{home}/.aws/{default}"));
            let path = match path.strip_prefix("~/") {
                Some(rest) => format!("{home}/{rest}"),
                None => path,
            };
            std::fs::read_to_string(path).map(|t| parse_ini(&t)).unwrap_or_default()
        };
        let config = read("AWS_CONFIG_FILE", "config");
        let credentials = read("AWS_SHARED_CREDENTIALS_FILE", "credentials");
        Env { vars, config, credentials }
    }

    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).filter(|v| !v.is_empty()).cloned()
    }
}

fn int_setting(value: Option<String>) -> Result<Option<u64>, CliError> {
    match value {
        None => Ok(None),
        Some(v) => {
            let n = crate::args::unpack::py_int(&v).map_err(CliError::Plain)?;
            Ok(if n <= 0 { None } else { Some(n as u64) })
        }
    }
}

/// Resolves the settings for a call to `service_id` (`ConnectParticipant`, `Connect`).
pub fn resolve(globals: &Globals, env: &Env, service_id: &str) -> Result<Settings, CliError> {
    let explicit =
        globals.profile.clone().or_else(|| env.var("AWS_DEFAULT_PROFILE")).or_else(|| env.var("AWS_PROFILE"));
    let name = explicit.clone().unwrap_or_else(|| "default".into());
    let section = if name == "default" { name.clone() } else { format!("profile {name}") };
    let profile = env.config.get(&section).or_else(|| env.config.get(&name).filter(|_| name == "default"));
    let creds = env.credentials.get(&name);
    if explicit.is_some() && profile.is_none() && creds.is_none() {
        return Err(CliError::Plain(format!("The config profile ({name}) could not be found")));
    }
    let empty = HashMap::new();
    let profile = profile.unwrap_or(&empty);
    let creds = creds.unwrap_or(&empty);
    let get = |key: &str| profile.get(key).filter(|v| !v.is_empty()).cloned();
    let secret = |key: &str| creds.get(key).cloned().or_else(|| get(key));
    let (access_key, secret_key, session_token) =
        match (env.var("AWS_ACCESS_KEY_ID"), env.var("AWS_SECRET_ACCESS_KEY")) {
            (Some(a), Some(s)) => (a, s, env.var("AWS_SESSION_TOKEN")),
            _ => (
                secret("aws_access_key_id").unwrap_or_else(|| "confab".into()),
                secret("aws_secret_access_key").unwrap_or_else(|| "confab".into()),
                secret("aws_session_token"),
            ),
        };
    Ok(Settings {
        endpoint: endpoint(globals, env, profile, service_id),
        region: globals
            .region
            .clone()
            .or_else(|| env.var("AWS_DEFAULT_REGION"))
            .or_else(|| get("region"))
            .unwrap_or_else(|| DEFAULT_REGION.into()),
        output: globals
            .output
            .clone()
            .or_else(|| env.var("AWS_DEFAULT_OUTPUT"))
            .or_else(|| get("output"))
            .unwrap_or_else(|| "json".into()),
        access_key,
        secret_key,
        session_token,
        read_timeout: int_setting(
            globals.read_timeout.clone().or_else(|| get("cli_read_timeout")).or(Some("60".into())),
        )?,
        connect_timeout: int_setting(
            globals.connect_timeout.clone().or_else(|| get("cli_connect_timeout")).or(Some("60".into())),
        )?,
        ca_bundle: globals
            .ca_bundle
            .clone()
            .or_else(|| env.var("AWS_CA_BUNDLE"))
            .or_else(|| get("ca_bundle")),
        verify_ssl: !globals.no_verify_ssl,
        iso_timestamps: get("cli_timestamp_format").as_deref() == Some("iso8601"),
    })
}

/// `--endpoint-url`, then the service's and the global `AWS_ENDPOINT_URL*` variables and
/// profile settings (unless configured endpoints are ignored), then the local confab.
fn endpoint(globals: &Globals, env: &Env, profile: &HashMap<String, String>, service_id: &str) -> String {
    if let Some(url) = &globals.endpoint_url {
        return url.clone();
    }
    let ignore = env
        .var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .or_else(|| profile.get("ignore_configured_endpoint_urls").cloned());
    if ignore.is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return DEFAULT_ENDPOINT.into();
    }
    let env_name = service_id.to_uppercase().replace(' ', "_");
    let config_key = service_id.to_lowercase().replace(' ', "_");
    let from_services = profile
        .get("services")
        .and_then(|s| env.config.get(&format!("services {s}")))
        .and_then(|s| s.get(&format!("{config_key}.endpoint_url")).cloned());
    env.var(&format!("AWS_ENDPOINT_URL_{env_name}"))
        .or(from_services)
        .or_else(|| env.var("AWS_ENDPOINT_URL"))
        .or_else(|| profile.get("endpoint_url").cloned())
        .unwrap_or_else(|| DEFAULT_ENDPOINT.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)], config: &str) -> Env {
        Env {
            vars: vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            config: parse_ini(config),
            credentials: Ini::new(),
        }
    }

    #[test]
    fn options_then_variables_then_profile() {
        let config = "[default]\nregion = eu-west-2\n[profile local]\nregion = ap-south-1\noutput = table\nservices = dev\n\
                      [services dev]\nconnectparticipant =\n  endpoint_url = http://127.0.0.1:9000\n";
        let g = Globals::default();
        let s = resolve(&g, &env(&[], config), "ConnectParticipant").expect("settings");
        assert_eq!(
            (s.region.as_str(), s.endpoint.as_str(), s.output.as_str()),
            ("eu-west-2", DEFAULT_ENDPOINT, "json")
        );
        let s =
            resolve(&g, &env(&[("AWS_PROFILE", "local")], config), "ConnectParticipant").expect("settings");
        assert_eq!(
            (s.region.as_str(), s.endpoint.as_str(), s.output.as_str()),
            ("ap-south-1", "http://127.0.0.1:9000", "table")
        );
        let s = resolve(&g, &env(&[("AWS_PROFILE", "local")], config), "Connect").expect("settings");
        assert_eq!(s.endpoint, DEFAULT_ENDPOINT);
        let vars = [
            ("AWS_PROFILE", "local"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
            ("AWS_DEFAULT_REGION", "us-west-1"),
        ];
        let s = resolve(&g, &env(&vars, config), "Connect").expect("settings");
        assert_eq!((s.region.as_str(), s.endpoint.as_str()), ("us-west-1", "http://127.0.0.1:1"));
        let g = Globals {
            region: Some("sa-east-1".into()),
            endpoint_url: Some("http://127.0.0.1:2".into()),
            ..Globals::default()
        };
        let s = resolve(&g, &env(&vars, config), "Connect").expect("settings");
        assert_eq!((s.region.as_str(), s.endpoint.as_str()), ("sa-east-1", "http://127.0.0.1:2"));
    }

    #[test]
    fn a_missing_named_profile_is_an_error() {
        let g = Globals { profile: Some("nope".into()), ..Globals::default() };
        let e = resolve(&g, &env(&[], ""), "Connect").expect_err("missing profile");
        assert_eq!(e.stderr(), "\nThe config profile (nope) could not be found\n");
    }
}
