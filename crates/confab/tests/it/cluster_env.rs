//! Cluster mode of the integration suite: every node runs on the real PostgreSQL and NATS of
//! the machine and an S3-compatible server that checks signatures (`s3s-fs`, started here on
//! 127.0.0.1). Each test gets its own schema, subject prefix and bucket prefix. Without the
//! services the cluster suite says so and runs on the embedded backends instead — except
//! under CI=true, where a missing service fails the run.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const BUCKET: &str = "confab-it";
const ACCESS_KEY: &str = "confab-it-key";
const SECRET_KEY: &str = "confab-it-secret";
/// The token key every node of a cluster shares (32 bytes, base64).
const SECRET: &str = "Y29uZmFiLWl0LXNoYXJlZC1rZXktMzItYnl0ZXMhISE=";

struct Services {
    s3_port: u16,
    s3_root: PathBuf,
    /// The watchdog shell around s3s-fs; it ends when this process does.
    _s3: std::process::Child,
}

static SERVICES: OnceLock<Option<Services>> = OnceLock::new();

/// Whether nodes run on the cluster backends.
pub fn active() -> bool {
    crate::backend::CLUSTER && services().is_some()
}

/// The cluster name of a single server: its data folder's name (restarts reuse it).
pub fn name_for(data_dir: &Path) -> Option<String> {
    active().then(|| {
        data_dir.file_name().map(|n| n.to_string_lossy().replace(['-', '.'], "_")).unwrap_or_default()
    })
}

/// The settings (as CONFAB_* variables) of a node of cluster `name`.
pub fn settings(name: &str) -> Vec<(String, String)> {
    let Some(s) = services() else { return Vec::new() };
    let schema = schema_of(name);
    [
        ("CONFAB_STORE", format!("postgres://postgres@127.0.0.1:5432/postgres?schema={schema}")),
        ("CONFAB_BUS", format!("nats://127.0.0.1:4222?prefix={schema}")),
        ("CONFAB_BLOBS", format!("s3://{BUCKET}/{schema}")),
        ("CONFAB_S3__ENDPOINT", format!("http://127.0.0.1:{}", s.s3_port)),
        ("CONFAB_S3__REGION", "us-east-1".to_owned()),
        ("CONFAB_S3__ACCESS_KEY_ID", ACCESS_KEY.to_owned()),
        ("CONFAB_S3__SECRET_ACCESS_KEY", SECRET_KEY.to_owned()),
        ("CONFAB_S3__PATH_STYLE", "true".to_owned()),
        ("CONFAB_SECRET", SECRET.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Where s3s-fs keeps the bytes of a blob key of cluster `name`.
pub fn blob_file(name: &str, key: &str) -> PathBuf {
    let root = services().map(|s| s.s3_root.clone()).unwrap_or_default();
    root.join(BUCKET).join(schema_of(name)).join(key)
}

/// Schemas are named `it_<pid>_…` so that later runs can drop those of dead processes.
fn schema_of(name: &str) -> String {
    let name: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    let prefix = format!("it_{}_", std::process::id());
    if name.starts_with(&prefix) {
        name
    } else {
        format!("{prefix}{name}")
    }
}

fn services() -> Option<&'static Services> {
    SERVICES.get_or_init(start_services).as_ref()
}

fn start_services() -> Option<Services> {
    if !crate::backend::CLUSTER {
        return None;
    }
    let missing: Vec<&str> =
        [("PostgreSQL on 127.0.0.1:5432", "127.0.0.1:5432"), ("NATS on 127.0.0.1:4222", "127.0.0.1:4222")]
            .into_iter()
            .filter(|(_, addr)| {
                TcpStream::connect_timeout(&addr.parse().expect("addr"), Duration::from_secs(2)).is_err()
            })
            .map(|(what, _)| what)
            .collect();
    let s3s = find_binary("s3s-fs");
    let mut why: Vec<String> = missing.iter().map(|m| format!("{m} is not reachable")).collect();
    if s3s.is_none() {
        why.push("s3s-fs is not installed (cargo install s3s-fs --locked)".into());
    }
    if !why.is_empty() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but the cluster services are missing: {why:?}"
        );
        eprintln!(
            "SKIPPED cluster backends ({}): the cluster suite runs on the embedded backends",
            why.join("; ")
        );
        return None;
    }
    drop_dead_schemas();
    Some(start_s3(&s3s?))
}

/// s3s-fs on a free port with a fresh root, watched by a shell loop that stops it when this
/// test process is gone (tests have no hook at exit).
fn start_s3(binary: &Path) -> Services {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let root = std::env::temp_dir().join(format!("confab-it-s3-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join(BUCKET)).expect("s3 root");
    let script = format!(
        "{} --host 127.0.0.1 --port {port} --access-key {ACCESS_KEY} --secret-key {SECRET_KEY} {} & c=$!; \
         while kill -0 {} 2>/dev/null; do sleep 1; done; kill $c",
        binary.display(),
        root.display(),
        std::process::id()
    );
    let watchdog = Command::new("sh")
        .args(["-c", &script])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start s3s-fs");
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "s3s-fs did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Services { s3_port: port, s3_root: root, _s3: watchdog }
}

/// Drops the schemas of earlier test processes that are gone (psql, when installed).
fn drop_dead_schemas() {
    let listed = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-At", "-c"])
        .arg("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'it\\_%'")
        .output();
    let Ok(listed) = listed else { return };
    for schema in String::from_utf8_lossy(&listed.stdout).lines() {
        let pid = schema.split('_').nth(1).unwrap_or("");
        if !pid.is_empty() && !Path::new("/proc").join(pid).exists() {
            let _ = Command::new("psql")
                .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-q", "-c"])
                .arg(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                .output();
        }
    }
}

fn find_binary(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}
