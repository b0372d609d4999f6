//! S3 blobs against a real S3-compatible server that checks signatures: `s3s-fs`, started
//! here on 127.0.0.1 with a temporary root (`cargo install s3s-fs --version 0.14.1 --locked
//! --features binary`; `.ci/run` installs it when missing).

mod common;

use bytes::Bytes;
use confab_cluster::{S3Blobs, S3Settings};
use confab_ports::{Blobs, Presign, Presigned};
use std::path::PathBuf;
use std::time::Duration;

const ACCESS_KEY: &str = "confabtestaccess";
const SECRET_KEY: &str = "confab/test+secret";
const BUCKET: &str = "confab-test";

/// s3s-fs on a free port, its root and bucket in a temporary folder; stopped and removed
/// when dropped.
struct S3Server {
    port: u16,
    root: PathBuf,
    _child: common::Child,
}

impl S3Server {
    fn start() -> Option<S3Server> {
        let Some(binary) = common::find_binary("s3s-fs") else {
            common::skip(
                "no s3s-fs binary (cargo install s3s-fs --version 0.14.1 --locked --features binary)",
            );
            return None;
        };
        let root = std::env::temp_dir().join(common::unique("confab_s3"));
        std::fs::create_dir_all(root.join(BUCKET)).expect("bucket folder");
        let port = common::free_port();
        let child = std::process::Command::new(binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(&root)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start s3s-fs");
        let server = S3Server { port, root, _child: common::Child(child) };
        assert!(common::wait_for_port(port, 20), "s3s-fs did not start");
        Some(server)
    }

    fn settings(&self, secret: &str) -> S3Settings {
        S3Settings {
            endpoint: Some(format!("http://127.0.0.1:{}", self.port)),
            region: "us-east-1".into(),
            access_key_id: ACCESS_KEY.into(),
            secret_access_key: secret.into(),
            path_style: true,
        }
    }

    fn blobs(&self) -> S3Blobs {
        S3Blobs::new(&format!("s3://{BUCKET}/attachments"), self.settings(SECRET_KEY)).expect("blobs")
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn put(key: &str, content_type: &str, expires_secs: u64) -> Presign {
    Presign::Put { key: key.into(), content_type: content_type.into(), content_length: 11, expires_secs }
}

fn get(key: &str, expires_secs: u64) -> Presign {
    Presign::Get {
        key: key.into(),
        content_disposition: "attachment; filename=\"hello world.txt\"".into(),
        expires_secs,
    }
}

async fn upload(http: &reqwest::Client, presigned: &Presigned, body: &'static [u8]) -> reqwest::StatusCode {
    let mut request = http.put(&presigned.url).body(body);
    for (name, value) in &presigned.headers {
        request = request.header(name, value);
    }
    request.send().await.expect("upload").status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_get_delete_through_signed_requests() {
    let Some(server) = S3Server::start() else { return };
    let blobs = server.blobs();
    blobs.health().await.expect("bucket answers");
    assert_eq!(blobs.get("c1/a1").await.expect("get missing"), None);
    blobs.put("c1/a1", Bytes::from_static(b"hello")).await.expect("put");
    assert_eq!(blobs.get("c1/a1").await.expect("get"), Some(Bytes::from_static(b"hello")));
    // Under the URL's prefix, in the bucket's folder.
    let stored = server.root.join(BUCKET).join("attachments").join("c1").join("a1");
    assert_eq!(std::fs::read(stored).expect("on disk"), b"hello");
    blobs.put("c1/a1", Bytes::from_static(b"replaced")).await.expect("put again");
    assert_eq!(blobs.get("c1/a1").await.expect("get"), Some(Bytes::from_static(b"replaced")));
    // Keys with characters that need encoding.
    blobs.put("c1/a b+c=é", Bytes::from(vec![0u8, 1, 2, 255])).await.expect("put odd key");
    assert_eq!(blobs.get("c1/a b+c=é").await.expect("get"), Some(Bytes::from(vec![0u8, 1, 2, 255])));
    let big = Bytes::from(vec![7u8; 3 * 1024 * 1024]);
    blobs.put("c1/big", big.clone()).await.expect("put 3 MiB");
    assert_eq!(blobs.get("c1/big").await.expect("get"), Some(big));
    blobs.delete("c1/a1").await.expect("delete");
    assert_eq!(blobs.get("c1/a1").await.expect("get"), None);
    blobs.delete("c1/a1").await.expect("deleting twice is fine");

    // A wrong secret is refused.
    let wrong = S3Blobs::new(&format!("s3://{BUCKET}/attachments"), server.settings("not the secret"))
        .expect("blobs");
    assert!(wrong.put("c1/x", Bytes::from_static(b"x")).await.is_err());
    assert!(wrong.get("c1/a b+c=é").await.is_err());
    assert!(wrong.health().await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presigned_put_and_get_work_and_tampering_is_refused() {
    let Some(server) = S3Server::start() else { return };
    let blobs = server.blobs();
    let http = reqwest::Client::new();

    // Upload with the signed Content-Type (HeadersToInclude), as a client would.
    let presigned = blobs.presign(&put("c2/doc", "text/plain", 300)).expect("presign put");
    assert_eq!(presigned.headers, vec![("Content-Type".to_owned(), "text/plain".to_owned())]);
    assert_eq!(upload(&http, &presigned, b"hello world").await, reqwest::StatusCode::OK);
    assert_eq!(blobs.get("c2/doc").await.expect("get"), Some(Bytes::from_static(b"hello world")));

    // Another Content-Type than the signed one is refused, and so is none.
    let other =
        Presigned { url: presigned.url.clone(), headers: vec![("Content-Type".into(), "text/html".into())] };
    assert_eq!(upload(&http, &other, b"evil").await, reqwest::StatusCode::FORBIDDEN);
    let bare = Presigned { url: presigned.url.clone(), headers: vec![] };
    assert_eq!(upload(&http, &bare, b"evil").await, reqwest::StatusCode::FORBIDDEN);
    // A tampered signature, key or expiry is refused.
    let tampered = |url: &str| {
        let last = url.chars().last().expect("url");
        let flipped = if last == '0' { '1' } else { '0' };
        format!("{}{flipped}", &url[..url.len() - 1])
    };
    for url in [
        tampered(&presigned.url),
        presigned.url.replace("/c2/doc?", "/c2/other?"),
        presigned.url.replace("X-Amz-Expires=300", "X-Amz-Expires=3000"),
    ] {
        let forged = Presigned { url, headers: presigned.headers.clone() };
        assert_eq!(upload(&http, &forged, b"evil").await, reqwest::StatusCode::FORBIDDEN);
    }
    assert_eq!(blobs.get("c2/doc").await.expect("get"), Some(Bytes::from_static(b"hello world")));

    // Download: the bytes, named as signed.
    let download = blobs.presign(&get("c2/doc", 300)).expect("presign get");
    assert!(download.headers.is_empty());
    let response = http.get(&download.url).send().await.expect("download");
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let disposition =
        response.headers().get("content-disposition").and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert_eq!(disposition.as_deref(), Some("attachment; filename=\"hello world.txt\""));
    assert_eq!(response.bytes().await.expect("body"), Bytes::from_static(b"hello world"));
    // Another disposition than the signed one, or a tampered signature: refused.
    let renamed = download.url.replace("hello%20world.txt", "evil.exe");
    assert_ne!(renamed, download.url);
    for url in [renamed, tampered(&download.url)] {
        assert_eq!(http.get(&url).send().await.expect("download").status(), reqwest::StatusCode::FORBIDDEN);
    }

    // Expired URLs are refused.
    let short_put = blobs.presign(&put("c2/late", "text/plain", 1)).expect("presign");
    let short_get = blobs.presign(&get("c2/doc", 1)).expect("presign");
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(upload(&http, &short_put, b"late").await, reqwest::StatusCode::FORBIDDEN);
    assert_eq!(http.get(&short_get.url).send().await.expect("get").status(), reqwest::StatusCode::FORBIDDEN);
    assert_eq!(blobs.get("c2/late").await.expect("get"), None);
}
