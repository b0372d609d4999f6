//! Sending a call: the request from the model (`request`), SigV4 (`sigv4`), retries as
//! botocore's legacy mode does them, and the answer parsed from the model (`response`).

pub mod request;
pub mod response;
pub mod sigv4;
pub mod tls;

use crate::config::Settings;
use crate::errors::CliError;
use crate::model::{Model, Operation};
use request::Request;
use response::Response;
use std::time::Duration;

/// Error codes botocore retries (besides 5xx answers and failed connections).
const RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

pub struct Client {
    http: reqwest::Client,
    pub settings: Settings,
    pub sign: bool,
    pub debug: bool,
    pub max_attempts: u32,
}

impl Client {
    pub fn new(settings: Settings, sign: bool, debug: bool, max_attempts: u32) -> Result<Client, CliError> {
        let mut builder =
            reqwest::Client::builder().user_agent(concat!("confab-cli/", env!("CARGO_PKG_VERSION")));
        if settings.endpoint.starts_with("https://") {
            let tls = tls::client_config(settings.ca_bundle.as_deref(), settings.verify_ssl)
                .map_err(CliError::Plain)?;
            builder = builder.use_preconfigured_tls((*tls).clone());
        }
        if let Some(t) = settings.read_timeout {
            builder = builder.read_timeout(Duration::from_secs(t));
        }
        if let Some(t) = settings.connect_timeout {
            builder = builder.connect_timeout(Duration::from_secs(t));
        }
        let http = builder.build().map_err(|e| CliError::Plain(e.to_string()))?;
        Ok(Client { http, settings, sign, debug, max_attempts: max_attempts.max(1) })
    }

    fn url(&self, req: &Request) -> String {
        let base = self.settings.endpoint.trim_end_matches('/');
        let q = if req.query.is_empty() { String::new() } else { format!("?{}", req.query) };
        format!("{base}{}{q}", req.path)
    }

    /// Sends the call, retrying throttling, 5xx and connection failures; the final answer.
    pub async fn call(&self, model: &Model, op: &Operation, req: &Request) -> Result<Response, CliError> {
        let url = self.url(req);
        let mut attempt = 1;
        loop {
            let result = self.send_once(model, req, &url).await;
            let retryable = match &result {
                Ok(resp) => {
                    resp.status >= 500
                        || RETRYABLE_CODES.contains(&response::error_of(resp).0.as_str())
                            && resp.status >= 400
                }
                Err(_) => true,
            };
            if !retryable {
                return result;
            }
            if attempt >= self.max_attempts {
                return match result {
                    Ok(resp) => Err(service_error(op, &resp, Some(attempt - 1))),
                    Err(e) => Err(e),
                };
            }
            // Legacy mode: a random fraction of 2^(attempt-1) seconds.
            let wait = rand::random::<f64>() * f64::from(1u32 << (attempt - 1));
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
            attempt += 1;
        }
    }

    async fn send_once(&self, model: &Model, req: &Request, url: &str) -> Result<Response, CliError> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| CliError::Plain(format!("Invalid endpoint: {url} ({e})")))?;
        let host = match parsed.port() {
            Some(p) => format!("{}:{p}", parsed.host_str().unwrap_or_default()),
            None => parsed.host_str().unwrap_or_default().to_owned(),
        };
        let mut headers = req.headers.clone();
        if self.sign {
            let now = time::OffsetDateTime::now_utc();
            let amz_date = format!(
                "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
                now.year(),
                u8::from(now.month()),
                now.day(),
                now.hour(),
                now.minute(),
                now.second()
            );
            let creds = sigv4::Credentials {
                access_key: &self.settings.access_key,
                secret_key: &self.settings.secret_key,
                session_token: self.settings.session_token.as_deref(),
            };
            sigv4::sign(
                &req.method,
                &host,
                parsed.path(),
                &req.query,
                &mut headers,
                &req.body,
                &creds,
                &self.settings.region,
                &model.signing_name,
                &amz_date,
            );
        }
        let method = reqwest::Method::from_bytes(req.method.as_bytes()).unwrap_or(reqwest::Method::POST);
        let mut builder = self.http.request(method, parsed);
        for (k, v) in &headers {
            builder = builder.header(k, v);
        }
        if !req.body.is_empty() {
            builder = builder.body(req.body.clone());
        }
        if self.debug {
            eprintln!("DEBUG request: {} {url} body={}", req.method, String::from_utf8_lossy(&req.body));
        }
        let resp = builder.send().await.map_err(|e| {
            if self.debug {
                eprintln!("DEBUG error: {e:?}");
            }
            connection_error(url, &e)
        })?;
        let status = resp.status().as_u16();
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let body = resp.bytes().await.map_err(|e| connection_error(url, &e))?.to_vec();
        if self.debug {
            eprintln!("DEBUG response: {status} {}", String::from_utf8_lossy(&body));
        }
        Ok(Response { status, headers, body })
    }
}

fn connection_error(url: &str, e: &reqwest::Error) -> CliError {
    if let Some(tls) = tls_failure(e) {
        return CliError::Plain(format!("SSL validation failed for {url} {tls}"));
    }
    if e.is_timeout() {
        if e.is_connect() {
            return CliError::Plain(format!("Connect timeout on endpoint URL: \"{url}\""));
        }
        return CliError::Plain(format!("Read timeout on endpoint URL: \"{url}\""));
    }
    CliError::Plain(format!("Could not connect to the endpoint URL: \"{url}\""))
}

/// The CLI's error for an error answer; `retries` is how many retries were made when the
/// retries ran out on a retryable error.
pub fn service_error(op: &Operation, resp: &Response, retries: Option<u32>) -> CliError {
    let (code, message) = response::error_of(resp);
    CliError::Service { code, message, operation: op.name.clone(), retries }
}

/// The TLS error somewhere down the causes of `e`. An io::Error hides the error it wraps
/// from `source()`, so those are opened too.
fn tls_failure(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(tls) = c.downcast_ref::<tokio_rustls::rustls::Error>() {
            return Some(tls.to_string());
        }
        cause = match c.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => c.source(),
        };
    }
    None
}
