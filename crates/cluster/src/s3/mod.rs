//! Attachment bytes on an S3-compatible store, shared by every node, with real SigV4
//! presigned URLs so clients upload and download straight from the store.
//!
//! Plain HTTP with our own signer ([`sigv4`]) rather than a generic object-store crate: the
//! presigned URLs must sign `content-type` and `response-content-disposition`, which those
//! signers cannot, and put/get/delete are three requests on the same signer.

mod sigv4;

use async_trait::async_trait;
use bytes::Bytes;
use confab_ports::{BlobError, Blobs, Presign, Presigned};
use reqwest::{Method, StatusCode, Url};
use sigv4::{Request, Signer, Stamp};
use std::time::Duration;

/// How to reach the store. `endpoint` None: AWS (`https://s3.<region>.amazonaws.com`).
#[derive(Clone, PartialEq, Eq)]
pub struct S3Settings {
    /// `http(s)://host[:port]` of an S3-compatible server.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// `endpoint/bucket/key` instead of `bucket.endpoint/key` (most self-hosted servers).
    pub path_style: bool,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("path_style", &self.path_style)
            .finish_non_exhaustive()
    }
}

pub struct S3Blobs {
    http: reqwest::Client,
    signer: Signer,
    /// `scheme://host[:port]`.
    origin: String,
    /// The Host header (and signed `host`).
    host: String,
    /// The path before the key: `/bucket` (path style) or empty, encoded.
    base_path: String,
    /// Prepended to every key (with a `/`), from the URL.
    key_prefix: String,
}

impl std::fmt::Debug for S3Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Blobs")
            .field("origin", &self.origin)
            .field("base_path", &self.base_path)
            .field("key_prefix", &self.key_prefix)
            .finish_non_exhaustive()
    }
}

fn backend(message: impl std::fmt::Display) -> BlobError {
    BlobError::Backend(message.to_string())
}

/// Splits `s3://bucket/prefix` into the bucket and the key prefix (without slashes at its ends).
fn parse_location(url: &str) -> Result<(String, String), BlobError> {
    let rest = url.strip_prefix("s3://").ok_or_else(|| backend(format!("blobs URL {url:?} is not s3://")))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid_bucket = (3..=63).contains(&bucket.len())
        && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if !valid_bucket {
        return Err(backend(format!("invalid bucket name {bucket:?}")));
    }
    Ok((bucket.to_owned(), prefix.trim_matches('/').to_owned()))
}

impl S3Blobs {
    /// `url` is `s3://bucket/prefix` (the prefix may be empty). Makes no request.
    pub fn new(url: &str, settings: S3Settings) -> Result<S3Blobs, BlobError> {
        let (bucket, key_prefix) = parse_location(url)?;
        let endpoint = settings
            .endpoint
            .clone()
            .unwrap_or_else(|| format!("https://s3.{}.amazonaws.com", settings.region));
        let endpoint =
            Url::parse(&endpoint).map_err(|e| backend(format!("invalid S3 endpoint {endpoint:?}: {e}")))?;
        if !matches!(endpoint.scheme(), "http" | "https") {
            return Err(backend(format!("S3 endpoint {endpoint} is not http(s)")));
        }
        let endpoint_host = endpoint.host_str().ok_or_else(|| backend("S3 endpoint has no host"))?;
        let host_name =
            if settings.path_style { endpoint_host.to_owned() } else { format!("{bucket}.{endpoint_host}") };
        let host = match endpoint.port() {
            Some(port) => format!("{host_name}:{port}"),
            None => host_name,
        };
        let mut base_path = endpoint.path().trim_end_matches('/').to_owned();
        if settings.path_style {
            base_path.push('/');
            base_path.push_str(&sigv4::encode(&bucket, true));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| backend(format!("HTTP client: {e}")))?;
        Ok(S3Blobs {
            http,
            signer: Signer {
                access_key_id: settings.access_key_id,
                secret_access_key: settings.secret_access_key,
                region: settings.region,
                service: "s3".into(),
            },
            origin: format!("{}://{host}", endpoint.scheme()),
            host,
            base_path,
            key_prefix,
        })
    }

    /// The encoded path of an object. Keys are confab's own (ids joined by '/'); empty, `.`
    /// and `..` segments are refused (URLs would not keep them as they are).
    fn object_path(&self, key: &str) -> Result<String, BlobError> {
        let safe =
            !key.is_empty() && key.split('/').all(|part| !part.is_empty() && part != "." && part != "..");
        if !safe {
            return Err(backend(format!("invalid blob key {key:?}")));
        }
        let full =
            if self.key_prefix.is_empty() { key.to_owned() } else { format!("{}/{key}", self.key_prefix) };
        Ok(format!("{}/{}", self.base_path, sigv4::encode(&full, false)))
    }

    /// Sends a request signed in its headers.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<reqwest::Response, BlobError> {
        let stamp = Stamp::now();
        let payload_hash = sigv4::sha256_hex(body.as_deref().unwrap_or_default());
        let headers = vec![
            ("x-amz-content-sha256".to_owned(), payload_hash.clone()),
            ("x-amz-date".to_owned(), stamp.datetime.clone()),
        ];
        let req = Request {
            method: method.as_str(),
            host: &self.host,
            path,
            query: vec![],
            headers: headers.clone(),
            payload_hash: &payload_hash,
        };
        let authorization = self.signer.authorization(&req, &stamp);
        let mut request = self.http.request(method.clone(), format!("{}{path}", self.origin));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request = request.header("authorization", authorization);
        if let Some(body) = body {
            request = request.body(body);
        }
        request.send().await.map_err(|e| backend(format!("S3 {method} {path}: {e}")))
    }

    fn presigned_url(
        &self,
        method: &str,
        key: &str,
        query: Vec<(String, String)>,
        headers: Vec<(String, String)>,
        expires_secs: u64,
    ) -> Result<String, BlobError> {
        let path = self.object_path(key)?;
        let req = Request {
            method,
            host: &self.host,
            path: &path,
            query,
            headers,
            payload_hash: sigv4::UNSIGNED_PAYLOAD,
        };
        let query = self.signer.presigned_query(&req, &Stamp::now(), expires_secs);
        Ok(format!("{}{path}?{query}", self.origin))
    }
}

/// An error answer, with the start of its body (S3 explains itself in XML there).
async fn refused(what: &str, response: reqwest::Response) -> BlobError {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let body: String = body.chars().take(300).collect();
    backend(format!("S3 {what}: {status}: {body}"))
}

#[async_trait]
impl Blobs for S3Blobs {
    async fn put(&self, key: &str, bytes: Bytes) -> Result<(), BlobError> {
        let path = self.object_path(key)?;
        let response = self.send(Method::PUT, &path, Some(bytes)).await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(refused("put", response).await)
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, BlobError> {
        let path = self.object_path(key)?;
        let response = self.send(Method::GET, &path, None).await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => {
                response.bytes().await.map(Some).map_err(|e| backend(format!("S3 get {path}: {e}")))
            }
            _ => Err(refused("get", response).await),
        }
    }

    /// A HEAD request: completion checks an upload's size without downloading it.
    async fn size(&self, key: &str) -> Result<Option<u64>, BlobError> {
        let path = self.object_path(key)?;
        let response = self.send(Method::HEAD, &path, None).await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(None),
            // The header itself: reqwest reports a HEAD response's (empty) body length.
            s if s.is_success() => Ok(response
                .headers()
                .get(reqwest::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())),
            _ => Err(refused("head", response).await),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let path = self.object_path(key)?;
        let response = self.send(Method::DELETE, &path, None).await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(()),
            s if s.is_success() => Ok(()),
            _ => Err(refused("delete", response).await),
        }
    }

    /// PUT signs `content-type` (the client must send it as given: `HeadersToInclude`); GET
    /// signs `response-content-disposition`, so the download is named as confab says.
    fn presign(&self, what: &Presign) -> Option<Presigned> {
        let signed = match what {
            Presign::Put { key, content_type, expires_secs, .. } => self
                .presigned_url(
                    "PUT",
                    key,
                    vec![],
                    vec![("content-type".into(), content_type.clone())],
                    *expires_secs,
                )
                .map(|url| Presigned { url, headers: vec![("Content-Type".into(), content_type.clone())] }),
            Presign::Get { key, content_disposition, expires_secs } => self
                .presigned_url(
                    "GET",
                    key,
                    vec![("response-content-disposition".into(), content_disposition.clone())],
                    vec![],
                    *expires_secs,
                )
                .map(|url| Presigned { url, headers: vec![] }),
        };
        match signed {
            Ok(presigned) => Some(presigned),
            Err(e) => {
                tracing::warn!(error = %e, "cannot presign");
                None
            }
        }
    }

    /// The bucket answers (HEAD bucket).
    async fn health(&self) -> Result<(), BlobError> {
        let path = if self.base_path.is_empty() { "/".to_owned() } else { self.base_path.clone() };
        let response = self.send(Method::HEAD, &path, None).await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(backend(format!("S3 bucket: {}", response.status())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(endpoint: Option<&str>, path_style: bool) -> S3Settings {
        S3Settings {
            endpoint: endpoint.map(str::to_owned),
            region: "eu-west-1".into(),
            access_key_id: "AK".into(),
            secret_access_key: "SK".into(),
            path_style,
        }
    }

    #[test]
    fn locations_and_paths() {
        let blobs =
            S3Blobs::new("s3://my-bucket/att/", settings(Some("http://127.0.0.1:9000"), true)).expect("new");
        assert_eq!((blobs.origin.as_str(), blobs.host.as_str()), ("http://127.0.0.1:9000", "127.0.0.1:9000"));
        assert_eq!(blobs.object_path("c1/a b").expect("path"), "/my-bucket/att/c1/a%20b");
        let aws = S3Blobs::new("s3://my-bucket", settings(None, false)).expect("new");
        assert_eq!(aws.origin, "https://my-bucket.s3.eu-west-1.amazonaws.com");
        assert_eq!(aws.object_path("k").expect("path"), "/k");
        for bad in ["", "a//b", "../x", "a/./b", "/abs"] {
            assert!(blobs.object_path(bad).is_err(), "{bad}");
        }
        assert!(S3Blobs::new("file:///x", settings(None, false)).is_err());
        assert!(S3Blobs::new("s3://UPPER/x", settings(None, false)).is_err());
        assert!(S3Blobs::new("s3://b-1", settings(Some("ftp://h"), true)).is_err());
    }

    #[test]
    fn presigned_put_and_get_carry_what_they_sign() {
        let blobs = S3Blobs::new("s3://bkt/p", settings(Some("http://127.0.0.1:9000"), true)).expect("new");
        let put = blobs
            .presign(&Presign::Put {
                key: "c/a".into(),
                content_type: "image/png".into(),
                content_length: 10,
                expires_secs: 300,
            })
            .expect("put");
        assert!(
            put.url.starts_with("http://127.0.0.1:9000/bkt/p/c/a?X-Amz-Algorithm=AWS4-HMAC-SHA256&"),
            "{}",
            put.url
        );
        assert!(put.url.contains("X-Amz-SignedHeaders=content-type%3Bhost"));
        assert!(put.url.contains("X-Amz-Credential=AK%2F"));
        assert_eq!(put.headers, vec![("Content-Type".to_owned(), "image/png".to_owned())]);
        let get = blobs
            .presign(&Presign::Get {
                key: "c/a".into(),
                content_disposition: "attachment; filename=\"x.png\"".into(),
                expires_secs: 300,
            })
            .expect("get");
        assert!(get.url.contains("response-content-disposition=attachment%3B%20filename%3D%22x.png%22"));
        assert!(get.url.contains("X-Amz-SignedHeaders=host&"));
        assert!(get.headers.is_empty());
    }
}
