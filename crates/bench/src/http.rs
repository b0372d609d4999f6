//! A small HTTP/1.1 keep-alive client: one request at a time per connection, buffers reused
//! from call to call. On this box the load generator shares two cores with the server, so it
//! must cost as little per request as it can: a general client (pool, tower stack) would
//! take CPU the server then lacks.

use anyhow::{anyhow, bail, Context};
use serde_json::Value;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// No call may take longer than this; a server that stops answering ends the run.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_HEADERS: usize = 32;

pub struct Conn {
    stream: TcpStream,
    host: String,
    out: Vec<u8>,
    /// Bytes read and not yet consumed (a response may arrive in several reads).
    inbuf: Vec<u8>,
    filled: usize,
}

pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> anyhow::Result<Value> {
        serde_json::from_slice(&self.body).context("response body is not JSON")
    }

    /// The JSON body of a 2xx answer; an error naming the status otherwise.
    pub fn ok_json(&self) -> anyhow::Result<Value> {
        if !(200..300).contains(&self.status) {
            bail!("HTTP {}: {}", self.status, String::from_utf8_lossy(&self.body));
        }
        self.json()
    }
}

/// A TCP connection to `addr` from `source` (a loopback address other than 127.0.0.1 gives
/// another 28,000 source ports), with Nagle off as every latency-minded client has it.
pub async fn tcp(addr: SocketAddr, source: Option<IpAddr>) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    if let Some(ip) = source {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

impl Conn {
    pub async fn connect(addr: SocketAddr, source: Option<IpAddr>) -> anyhow::Result<Conn> {
        let stream = tcp(addr, source).await.with_context(|| format!("connecting to {addr}"))?;
        Ok(Conn {
            stream,
            host: addr.to_string(),
            out: Vec::with_capacity(1024),
            inbuf: vec![0; 16 * 1024],
            filled: 0,
        })
    }

    /// One request; `headers` are extra headers. Bounded by `CALL_TIMEOUT`.
    pub async fn call(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> anyhow::Result<Response> {
        tokio::time::timeout(CALL_TIMEOUT, self.exchange(method, path, headers, body))
            .await
            .map_err(|_| anyhow!("timeout: no answer to {method} {path} within {CALL_TIMEOUT:?}"))?
    }

    /// A JSON POST/PUT that must succeed; its JSON answer.
    pub async fn json(
        &mut self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: &Value,
    ) -> anyhow::Result<Value> {
        let body = serde_json::to_vec(body)?;
        let headers: Vec<(&str, &str)> = bearer.map(|b| ("X-Amz-Bearer", b)).into_iter().collect();
        self.call(method, path, &headers, &body).await?.ok_json().with_context(|| format!("{method} {path}"))
    }

    async fn exchange(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> anyhow::Result<Response> {
        self.out.clear();
        write!(self.out, "{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.host)?;
        if !body.is_empty() || method != "GET" {
            write!(self.out, "Content-Type: application/json\r\nContent-Length: {}\r\n", body.len())?;
        }
        for (name, value) in headers {
            write!(self.out, "{name}: {value}\r\n")?;
        }
        self.out.extend_from_slice(b"\r\n");
        self.out.extend_from_slice(body);
        self.stream.write_all(&self.out).await?;
        self.read_response().await
    }

    async fn read_response(&mut self) -> anyhow::Result<Response> {
        let (head_len, status, body_len) = loop {
            if let Some(head) = parse_head(&self.inbuf[..self.filled])? {
                break head;
            }
            self.fill().await?;
        };
        let total = head_len + body_len;
        if self.inbuf.len() < total {
            self.inbuf.resize(total, 0);
        }
        while self.filled < total {
            self.fill().await?;
        }
        let body = self.inbuf[head_len..total].to_vec();
        self.inbuf.copy_within(total..self.filled, 0);
        self.filled -= total;
        Ok(Response { status, body })
    }

    async fn fill(&mut self) -> anyhow::Result<()> {
        if self.filled == self.inbuf.len() {
            self.inbuf.resize(self.inbuf.len() * 2, 0);
        }
        let n = self.stream.read(&mut self.inbuf[self.filled..]).await?;
        if n == 0 {
            bail!("connection closed by the server");
        }
        self.filled += n;
        Ok(())
    }
}

/// (head length, status, body length) once the whole head is in `buf`.
fn parse_head(buf: &[u8]) -> anyhow::Result<Option<(usize, u16, usize)>> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(buf)? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return Ok(None),
    };
    let status = response.code.unwrap_or(0);
    let mut body_len = 0;
    for h in response.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            body_len = std::str::from_utf8(h.value)?.trim().parse()?;
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            bail!("chunked answers are not expected from confab");
        }
    }
    Ok(Some((head_len, status, body_len)))
}

#[cfg(test)]
mod tests {
    use super::parse_head;

    #[test]
    fn heads() {
        let full = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(parse_head(full).ok().flatten(), Some((38, 200, 2)));
        assert_eq!(parse_head(b"HTTP/1.1 200 OK\r\ncontent-le").ok().flatten(), None);
    }
}
