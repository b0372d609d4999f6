//! AWS Signature Version 4, as botocore signs a request (the control plane accepts any
//! signature unless keys are configured; with keys it verifies this one).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

pub struct Credentials<'a> {
    pub access_key: &'a str,
    pub secret_key: &'a str,
    pub session_token: Option<&'a str>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// `quote(path, safe='/~')` of the already-encoded path (botocore encodes it twice).
fn canonical_path(path: &str) -> String {
    const SET: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'/').remove(b'~').remove(b'-').remove(b'.').remove(b'_');
    percent_encoding::utf8_percent_encode(path, SET).to_string()
}

/// Adds `X-Amz-Date`, `X-Amz-Security-Token` and `Authorization` to `headers`.
/// `headers` are (lower-case name, value); `amz_date` is `YYYYMMDDTHHMMSSZ`.
#[allow(clippy::too_many_arguments)]
pub fn sign(
    method: &str,
    host: &str,
    path: &str,
    query: &str,
    headers: &mut Vec<(String, String)>,
    body: &[u8],
    creds: &Credentials<'_>,
    region: &str,
    service: &str,
    amz_date: &str,
) {
    headers.push(("x-amz-date".into(), amz_date.into()));
    if let Some(token) = creds.session_token {
        headers.push(("x-amz-security-token".into(), token.into()));
    }
    let mut signed: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| k != "user-agent" && k != "authorization")
        .map(|(k, v)| (k.to_lowercase(), v.trim().to_owned()))
        .collect();
    signed.push(("host".into(), host.into()));
    signed.sort();
    let canonical_headers: String = signed.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_names = signed.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(";");
    let payload_hash = hex(&Sha256::digest(body));
    let canonical = format!(
        "{method}\n{}\n{query}\n{canonical_headers}\n{signed_names}\n{payload_hash}",
        canonical_path(path)
    );
    let date = &amz_date[..8];
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let to_sign =
        format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", hex(&Sha256::digest(canonical.as_bytes())));
    let k_date = hmac(format!("AWS4{}", creds.secret_key).as_bytes(), date);
    let k_region = hmac(&k_date, region);
    let k_service = hmac(&k_region, service);
    let k_signing = hmac(&k_service, "aws4_request");
    let signature = hex(&hmac(&k_signing, &to_sign));
    headers.push((
        "authorization".into(),
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_names}, Signature={signature}",
            creds.access_key
        ),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    // The AWS SigV4 test suite's "get-vanilla" case.
    #[test]
    fn signs_the_reference_request() {
        let mut headers = Vec::new();
        let creds = Credentials {
            access_key: "AKIDEXAMPLE",
            secret_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            session_token: None,
        };
        sign(
            "GET",
            "example.amazonaws.com",
            "/",
            "",
            &mut headers,
            b"",
            &creds,
            "us-east-1",
            "service",
            "20150830T123600Z",
        );
        let auth = &headers.last().expect("authorization").1;
        assert!(
            auth.ends_with("Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
            "{auth}"
        );
    }
}
