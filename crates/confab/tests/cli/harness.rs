//! Running `confab` as a CLI, and a stub HTTP server that answers with a recorded response.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub const CONFAB: &str = env!("CARGO_BIN_EXE_confab");

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A fresh, empty folder under the system temp folder (removed on drop).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("confab-cli-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

/// Runs `confab ARGS` with the environment the goldens were captured in: dummy credentials,
/// us-east-1, one attempt per call, no config files, `cwd` as HOME and working folder.
pub fn confab(args: &[String], cwd: &std::path::Path) -> Output {
    let config = cwd.join("nonexistent-config");
    let credentials = cwd.join("nonexistent-credentials");
    let env = [
        ("AWS_ACCESS_KEY_ID", "x"),
        ("AWS_SECRET_ACCESS_KEY", "x"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_MAX_ATTEMPTS", "1"),
        ("AWS_CONFIG_FILE", config.to_str().unwrap_or_default()),
        ("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().unwrap_or_default()),
    ];
    confab_env(args, cwd, &env)
}

/// Runs `confab ARGS` with only PATH, HOME (= `cwd`) and `env` set.
pub fn confab_env(args: &[String], cwd: &std::path::Path, env: &[(&str, &str)]) -> Output {
    let out = Command::new(CONFAB)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", cwd)
        .envs(env.iter().copied())
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("run confab");
    Output {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

/// One request as the stub saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub bearer: Option<String>,
    pub body: String,
}

/// An HTTP server on 127.0.0.1 that answers every request with one recorded response.
pub struct Stub {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Stub {
    pub fn start(status: u16, headers: Vec<(String, String)>, body: String) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind stub");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                serve(stream, status, &headers, &body, &log);
            }
        });
        Stub { url, seen }
    }
}

fn serve(stream: TcpStream, status: u16, headers: &[(String, String)], body: &str, log: &Mutex<Vec<Seen>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let (mut length, mut bearer) = (0usize, None);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            match k.trim().to_lowercase().as_str() {
                "content-length" => length = v.trim().parse().unwrap_or(0),
                "x-amz-bearer" => bearer = Some(v.trim().to_owned()),
                _ => {}
            }
        }
    }
    let mut buf = vec![0; length];
    let _ = reader.read_exact(&mut buf);
    log.lock().expect("log").push(Seen {
        method,
        path,
        bearer,
        body: String::from_utf8_lossy(&buf).into_owned(),
    });
    let mut out = format!("HTTP/1.1 {status} Stub\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!("content-length: {}\r\nconnection: close\r\n\r\n{body}", body.len()));
    let mut stream = stream;
    let _ = stream.write_all(out.as_bytes());
}

/// `confab serve` on 127.0.0.1.
pub struct Server {
    child: Child,
    pub url: String,
    pub addr: String,
}

impl Server {
    pub fn start(dir: &std::path::Path, listen: &str) -> Server {
        Server::start_with(dir, listen, &[])
    }

    /// With extra `confab serve` flags (`--tls-cert`, …); `url` is then `https://…`.
    pub fn start_with(dir: &std::path::Path, listen: &str, extra: &[&str]) -> Server {
        let mut child = Command::new(CONFAB)
            .args(["serve", "--listen", listen, "--data-dir"])
            .arg(dir)
            .args(extra)
            .env("CONFAB_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn confab serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("listening line");
        let url = line.trim().rsplit(' ').next().unwrap_or_default().to_owned();
        let addr = url.split("://").nth(1).unwrap_or_default().to_owned();
        assert!(addr.starts_with("127.0.0.1:"), "unexpected first line {line:?}");
        Server { child, url, addr }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
