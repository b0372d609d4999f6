//! AWS Signature Version 4 for S3: the `Authorization` header of confab's own requests, and
//! query-presigned URLs that sign extra headers (`content-type`) and query parameters
//! (`response-content-disposition`), which generic signers do not offer.
//!
//! S3 flavour: the canonical URI is the path as sent (each segment encoded once, not
//! twice as other services want).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";
pub(crate) const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// The longest a presigned URL may live (7 days).
pub(crate) const MAX_EXPIRES_SECS: u64 = 604_800;

/// Who signs, and where.
#[derive(Clone)]
pub(crate) struct Signer {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: String,
    pub(crate) region: String,
    pub(crate) service: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("access_key_id", &self.access_key_id)
            .field("region", &self.region)
            .finish()
    }
}

/// A request to sign. `headers` are (lowercase name, value), `host` excluded (always
/// signed); `query` pairs are raw (not yet encoded).
pub(crate) struct Request<'a> {
    pub(crate) method: &'a str,
    pub(crate) host: &'a str,
    /// The path as sent, already encoded.
    pub(crate) path: &'a str,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) payload_hash: &'a str,
}

/// An instant as SigV4 writes it: `20130524T000000Z` and `20130524`.
pub(crate) struct Stamp {
    pub(crate) datetime: String,
    pub(crate) date: String,
}

impl Stamp {
    pub(crate) fn at(unix_secs: i64) -> Stamp {
        let t =
            time::OffsetDateTime::from_unix_timestamp(unix_secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let date = format!("{:04}{:02}{:02}", t.year(), u8::from(t.month()), t.day());
        let datetime = format!("{date}T{:02}{:02}{:02}Z", t.hour(), t.minute(), t.second());
        Stamp { datetime, date }
    }

    pub(crate) fn now() -> Stamp {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Stamp::at(secs)
    }
}

impl Signer {
    fn scope(&self, stamp: &Stamp) -> String {
        format!("{}/{}/{}/aws4_request", stamp.date, self.region, self.service)
    }

    /// The `Authorization` header for `req`, which must also carry `x-amz-date` (and, for
    /// S3, `x-amz-content-sha256`) among its headers.
    pub(crate) fn authorization(&self, req: &Request<'_>, stamp: &Stamp) -> String {
        let (canonical, signed_headers) = canonical_request(req);
        let signature = self.signature(&canonical, stamp);
        format!(
            "{ALGORITHM} Credential={}/{}, SignedHeaders={signed_headers}, Signature={signature}",
            self.access_key_id,
            self.scope(stamp)
        )
    }

    /// The query string of a presigned URL for `req` (whose `query` holds the caller's own
    /// parameters), signature last.
    pub(crate) fn presigned_query(&self, req: &Request<'_>, stamp: &Stamp, expires_secs: u64) -> String {
        let mut signed_names: Vec<String> = req.headers.iter().map(|(n, _)| n.clone()).collect();
        signed_names.push("host".into());
        signed_names.sort();
        let mut query = req.query.clone();
        query.extend([
            ("X-Amz-Algorithm".to_owned(), ALGORITHM.to_owned()),
            ("X-Amz-Credential".to_owned(), format!("{}/{}", self.access_key_id, self.scope(stamp))),
            ("X-Amz-Date".to_owned(), stamp.datetime.clone()),
            ("X-Amz-Expires".to_owned(), expires_secs.clamp(1, MAX_EXPIRES_SECS).to_string()),
            ("X-Amz-SignedHeaders".to_owned(), signed_names.join(";")),
        ]);
        let presigned = Request { query, headers: req.headers.clone(), ..*req };
        let (canonical, _) = canonical_request(&presigned);
        let signature = self.signature(&canonical, stamp);
        format!("{}&X-Amz-Signature={signature}", canonical_query(&presigned.query))
    }

    fn signature(&self, canonical_request: &str, stamp: &Stamp) -> String {
        let string_to_sign = format!(
            "{ALGORITHM}\n{}\n{}\n{}",
            stamp.datetime,
            self.scope(stamp),
            hex(&Sha256::digest(canonical_request.as_bytes()))
        );
        let key = signing_key(&self.secret_access_key, &stamp.date, &self.region, &self.service);
        hex(&hmac(&key, string_to_sign.as_bytes()))
    }
}

/// The canonical request and the signed header names.
fn canonical_request(req: &Request<'_>) -> (String, String) {
    let mut headers: Vec<(String, String)> =
        req.headers.iter().map(|(n, v)| (n.to_ascii_lowercase(), collapse(v))).collect();
    headers.push(("host".into(), req.host.to_owned()));
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let signed: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
    let signed = signed.join(";");
    let canonical = format!(
        "{}\n{}\n{}\n{canonical_headers}\n{signed}\n{}",
        req.method,
        req.path,
        canonical_query(&req.query),
        req.payload_hash
    );
    (canonical, signed)
}

/// Pairs encoded, sorted by name then value, joined.
pub(crate) fn canonical_query(query: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> =
        query.iter().map(|(k, v)| (encode(k, true), encode(v, true))).collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// Trimmed, with runs of spaces made one.
fn collapse(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// URI-encodes all but the unreserved characters (and `/` unless `slash`).
pub(crate) fn encode(s: &str, slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for byte in s.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(char::from(byte)),
            b'/' if !slash => out.push('/'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length: new_from_slice cannot fail for it.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    //! The examples of the Amazon S3 SigV4 documentation ("Signature Calculations for the
    //! Authorization Header" and "Query Parameters"): same credentials, same instant.

    use super::*;

    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn signer() -> Signer {
        Signer {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            region: "us-east-1".into(),
            service: "s3".into(),
        }
    }

    fn stamp() -> Stamp {
        // Fri, 24 May 2013 00:00:00 GMT
        Stamp::at(1_369_353_600)
    }

    fn signature_of(authorization: &str) -> &str {
        authorization.rsplit("Signature=").next().unwrap_or_default()
    }

    #[test]
    fn stamps() {
        let s = stamp();
        assert_eq!((s.datetime.as_str(), s.date.as_str()), ("20130524T000000Z", "20130524"));
        assert_eq!(Stamp::at(1_700_000_000).datetime, "20231114T221320Z");
    }

    #[test]
    fn get_object_with_range() {
        let req = Request {
            method: "GET",
            host: "examplebucket.s3.amazonaws.com",
            path: "/test.txt",
            query: vec![],
            headers: vec![
                ("range".into(), "bytes=0-9".into()),
                ("x-amz-content-sha256".into(), EMPTY_SHA256.into()),
                ("x-amz-date".into(), "20130524T000000Z".into()),
            ],
            payload_hash: EMPTY_SHA256,
        };
        let auth = signer().authorization(&req, &stamp());
        assert!(auth.starts_with(
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature="
        ));
        assert_eq!(signature_of(&auth), "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    }

    #[test]
    fn put_object() {
        let body = b"Welcome to Amazon S3.";
        let hash = sha256_hex(body);
        assert_eq!(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
        let req = Request {
            method: "PUT",
            host: "examplebucket.s3.amazonaws.com",
            path: &format!("/{}", encode("test$file.text", false)),
            query: vec![],
            headers: vec![
                ("date".into(), "Fri, 24 May 2013 00:00:00 GMT".into()),
                ("x-amz-content-sha256".into(), hash.clone()),
                ("x-amz-date".into(), "20130524T000000Z".into()),
                ("x-amz-storage-class".into(), "REDUCED_REDUNDANCY".into()),
            ],
            payload_hash: &hash,
        };
        let auth = signer().authorization(&req, &stamp());
        assert_eq!(signature_of(&auth), "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
    }

    #[test]
    fn get_bucket_lifecycle_and_list_objects() {
        let get = |query: Vec<(String, String)>| Request {
            method: "GET",
            host: "examplebucket.s3.amazonaws.com",
            path: "/",
            query,
            headers: vec![
                ("x-amz-content-sha256".into(), EMPTY_SHA256.into()),
                ("x-amz-date".into(), "20130524T000000Z".into()),
            ],
            payload_hash: EMPTY_SHA256,
        };
        let auth = signer().authorization(&get(vec![("lifecycle".into(), String::new())]), &stamp());
        assert_eq!(signature_of(&auth), "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
        let list = get(vec![("max-keys".into(), "2".into()), ("prefix".into(), "J".into())]);
        let auth = signer().authorization(&list, &stamp());
        assert_eq!(signature_of(&auth), "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
    }

    #[test]
    fn presigned_get() {
        let req = Request {
            method: "GET",
            host: "examplebucket.s3.amazonaws.com",
            path: "/test.txt",
            query: vec![],
            headers: vec![],
            payload_hash: UNSIGNED_PAYLOAD,
        };
        let query = signer().presigned_query(&req, &stamp(), 86_400);
        assert_eq!(
            query,
            "X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
             &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        );
    }

    #[test]
    fn presigned_with_extra_header_and_parameter() {
        let req = Request {
            method: "PUT",
            host: "h",
            path: "/b/k",
            query: vec![("response-content-disposition".into(), "attachment; filename=\"a b.txt\"".into())],
            headers: vec![("content-type".into(), "text/plain".into())],
            payload_hash: UNSIGNED_PAYLOAD,
        };
        let query = signer().presigned_query(&req, &stamp(), 0);
        assert!(query.contains("X-Amz-SignedHeaders=content-type%3Bhost"), "{query}");
        assert!(query.contains("X-Amz-Expires=1&"), "clamped: {query}");
        assert!(query.contains("response-content-disposition=attachment%3B%20filename%3D%22a%20b.txt%22"));
        assert!(query.starts_with("X-Amz-Algorithm="), "sorted: {query}");
        let too_long = signer().presigned_query(&req, &stamp(), 10_000_000);
        assert!(too_long.contains("X-Amz-Expires=604800&"));
    }

    #[test]
    fn encoding() {
        assert_eq!(encode("a b/c~d_e-f.g*h", false), "a%20b/c~d_e-f.g%2Ah");
        assert_eq!(encode("a/b", true), "a%2Fb");
        assert_eq!(encode("é", true), "%C3%A9");
        assert_eq!(collapse("  a   b  "), "a b");
    }
}
