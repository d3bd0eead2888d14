//! A minimal blocking HTTP/1.1 client over `std::net::TcpStream`.
//!
//! Why not a general HTTP crate: the driver needs three things at once that are awkward through a
//! high-level client — a hard deadline per exchange (a hung controller must surface as
//! "unavailable" within the configured timeout, not after several per-read timeouts), raw access
//! to the never-ending alert stream with short reads so a watcher can notice a stop request, and
//! full control over `WWW-Authenticate` handling. One request per connection (`Connection: close`)
//! keeps it simple and matches what controllers handle best; bodies may be delimited by
//! `Content-Length`, chunked encoding or connection close.

use std::io::{ErrorKind as IoKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Largest response head accepted; anything bigger is not a controller talking.
const MAX_HEAD: usize = 64 * 1024;
/// Largest buffered body (a page of persons or events is a few kilobytes).
pub const MAX_BODY: usize = 16 * 1024 * 1024;

#[derive(Debug)]
pub enum HttpError {
    /// Could not connect (refused, unreachable, no route).
    Connect(std::io::Error),
    /// The deadline passed.
    Timeout,
    /// The peer closed the connection before the message was complete.
    Closed,
    Io(std::io::Error),
    /// Bytes that are not HTTP.
    Malformed(String),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::Connect(e) => write!(f, "connect failed: {e}"),
            HttpError::Timeout => write!(f, "timed out"),
            HttpError::Closed => write!(f, "connection closed by the controller"),
            HttpError::Io(e) => write!(f, "I/O error: {e}"),
            HttpError::Malformed(m) => write!(f, "not HTTP: {m}"),
        }
    }
}

fn io_error(e: std::io::Error) -> HttpError {
    match e.kind() {
        IoKind::WouldBlock | IoKind::TimedOut => HttpError::Timeout,
        IoKind::UnexpectedEof | IoKind::ConnectionReset | IoKind::ConnectionAborted | IoKind::BrokenPipe => {
            HttpError::Closed
        }
        _ => HttpError::Io(e),
    }
}

/// Where the controller is: `host:port` plus an optional path prefix (for reverse proxies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub prefix: String,
}

impl Endpoint {
    /// `host:port` as shown to operators and sent in `Host`.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Accepts `http://host[:port][/prefix]`. HTTPS is refused with a reason: controllers on a
    /// venue LAN speak plain HTTP, and there is no TLS stack in this client.
    pub fn parse(base_url: &str) -> Result<Endpoint, String> {
        let url = base_url.trim();
        let rest = if let Some(r) = url.strip_prefix("http://") {
            r
        } else if url.starts_with("https://") {
            return Err("https is not supported; use http://".into());
        } else if url.contains("://") {
            return Err(format!("unsupported scheme in {url}"));
        } else {
            url
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(|| format!("bad IPv6 address in {url}"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse::<u16>().map_err(|_| format!("bad port in {url}"))?,
                None if after.is_empty() => 80,
                None => return Err(format!("bad address {url}")),
            };
            (h.to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), p.parse::<u16>().map_err(|_| format!("bad port in {url}"))?),
                None => (authority.to_string(), 80),
            }
        };
        if host.is_empty() {
            return Err(format!("no host in {url}"));
        }
        Ok(Endpoint { host, port, prefix: path.trim_end_matches('/').to_string() })
    }
}

/// Status line and headers of a response.
#[derive(Debug, Clone)]
pub struct Head {
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers.iter().filter(move |(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Incremental `Transfer-Encoding: chunked` decoder; incremental so a read timeout in the middle
/// of a chunk header on the alert stream loses nothing.
#[derive(Debug, Default)]
pub struct ChunkedDecoder {
    state: ChunkState,
    line: Vec<u8>,
}

#[derive(Debug, Default, PartialEq, Eq)]
enum ChunkState {
    #[default]
    Size,
    Data(u64),
    DataEnd,
    Trailer,
    Done,
}

impl ChunkedDecoder {
    pub fn is_done(&self) -> bool {
        self.state == ChunkState::Done
    }

    /// Decodes what it can of `input` into `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), HttpError> {
        let mut i = 0;
        while i < input.len() {
            match self.state {
                ChunkState::Data(n) => {
                    let take = (input.len() - i).min(usize::try_from(n).unwrap_or(usize::MAX));
                    out.extend_from_slice(&input[i..i + take]);
                    i += take;
                    let left = n - take as u64;
                    self.state = if left == 0 { ChunkState::DataEnd } else { ChunkState::Data(left) };
                }
                ChunkState::Done => return Ok(()),
                _ => {
                    let b = input[i];
                    i += 1;
                    if b != b'\n' {
                        if self.line.len() > 4096 {
                            return Err(HttpError::Malformed("chunk header line too long".into()));
                        }
                        self.line.push(b);
                        continue;
                    }
                    let line = std::mem::take(&mut self.line);
                    let line = String::from_utf8_lossy(&line);
                    let line = line.trim_end_matches('\r');
                    self.state = match self.state {
                        ChunkState::Size => {
                            let hex = line.split(';').next().unwrap_or("").trim();
                            let n = u64::from_str_radix(hex, 16)
                                .map_err(|_| HttpError::Malformed(format!("bad chunk size {hex:?}")))?;
                            if n == 0 { ChunkState::Trailer } else { ChunkState::Data(n) }
                        }
                        ChunkState::DataEnd if line.is_empty() => ChunkState::Size,
                        ChunkState::DataEnd => {
                            return Err(HttpError::Malformed("chunk not followed by CRLF".into()));
                        }
                        ChunkState::Trailer if line.is_empty() => ChunkState::Done,
                        _ => ChunkState::Trailer,
                    };
                }
            }
        }
        Ok(())
    }
}

#[derive(Debug)]
enum Framing {
    Length(u64),
    Chunked(ChunkedDecoder),
    UntilClose,
    Empty,
}

/// What one short read of a streaming body produced.
pub enum Chunk {
    Data(Vec<u8>),
    /// Nothing arrived within the read timeout.
    Idle,
    /// The body is complete or the peer closed the connection.
    End,
}

/// The body of a response, read from the connection as needed.
pub struct Body {
    stream: TcpStream,
    pending: Vec<u8>,
    framing: Framing,
}

impl Body {
    fn decode(&mut self, raw: &[u8], out: &mut Vec<u8>) -> Result<bool, HttpError> {
        match &mut self.framing {
            Framing::Length(left) => {
                let take = raw.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                out.extend_from_slice(&raw[..take]);
                *left -= take as u64;
                Ok(*left == 0)
            }
            Framing::Chunked(d) => {
                d.feed(raw, out)?;
                Ok(d.is_done())
            }
            Framing::UntilClose => {
                out.extend_from_slice(raw);
                Ok(false)
            }
            Framing::Empty => Ok(true),
        }
    }

    fn finished(&self) -> bool {
        match &self.framing {
            Framing::Length(0) | Framing::Empty => true,
            Framing::Chunked(d) => d.is_done(),
            _ => false,
        }
    }

    /// Reads the whole body before `deadline`.
    pub fn read_all(mut self, deadline: Instant) -> Result<Vec<u8>, HttpError> {
        let mut out = Vec::new();
        let pending = std::mem::take(&mut self.pending);
        if self.decode(&pending, &mut out)? {
            return Ok(out);
        }
        let mut buf = [0u8; 16 * 1024];
        loop {
            if self.finished() {
                return Ok(out);
            }
            set_deadline(&self.stream, deadline)?;
            let n = match self.stream.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == IoKind::Interrupted => continue,
                Err(e) => return Err(io_error(e)),
            };
            if n == 0 {
                return match self.framing {
                    Framing::UntilClose => Ok(out),
                    _ => Err(HttpError::Closed),
                };
            }
            if self.decode(&buf[..n], &mut out)? {
                return Ok(out);
            }
            if out.len() > MAX_BODY {
                return Err(HttpError::Malformed("response body too large".into()));
            }
        }
    }

    /// One read of at most `wait`, for the never-ending alert stream.
    pub fn read_some(&mut self, wait: Duration) -> Result<Chunk, HttpError> {
        let mut out = Vec::new();
        if !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            let done = self.decode(&pending, &mut out)?;
            if !out.is_empty() {
                return Ok(Chunk::Data(out));
            }
            if done {
                return Ok(Chunk::End);
            }
        }
        if self.finished() {
            return Ok(Chunk::End);
        }
        self.stream.set_read_timeout(Some(wait.max(Duration::from_millis(1)))).map_err(HttpError::Io)?;
        let mut buf = [0u8; 16 * 1024];
        match self.stream.read(&mut buf) {
            Ok(0) => Ok(Chunk::End),
            Ok(n) => {
                let done = self.decode(&buf[..n], &mut out)?;
                if out.is_empty() && done { Ok(Chunk::End) } else { Ok(Chunk::Data(out)) }
            }
            Err(e) if matches!(e.kind(), IoKind::WouldBlock | IoKind::TimedOut | IoKind::Interrupted) => {
                Ok(Chunk::Idle)
            }
            Err(e) => Err(io_error(e)),
        }
    }
}

fn set_deadline(stream: &TcpStream, deadline: Instant) -> Result<(), HttpError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left < Duration::from_millis(1) {
        return Err(HttpError::Timeout);
    }
    stream.set_read_timeout(Some(left)).map_err(HttpError::Io)?;
    stream.set_write_timeout(Some(left)).map_err(HttpError::Io)
}

fn connect(ep: &Endpoint, deadline: Instant) -> Result<TcpStream, HttpError> {
    let addrs: Vec<SocketAddr> =
        (ep.host.as_str(), ep.port).to_socket_addrs().map_err(HttpError::Connect)?.collect();
    let mut last = None;
    for a in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left < Duration::from_millis(1) {
            return Err(HttpError::Timeout);
        }
        match TcpStream::connect_timeout(&a, left) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) if matches!(e.kind(), IoKind::WouldBlock | IoKind::TimedOut) => {
                last = Some(HttpError::Timeout)
            }
            Err(e) => last = Some(HttpError::Connect(e)),
        }
    }
    Err(last.unwrap_or_else(|| {
        HttpError::Connect(std::io::Error::new(IoKind::NotFound, "the host name resolves to no address"))
    }))
}

fn find_head_end(buf: &[u8]) -> Option<(usize, usize)> {
    // Returns (end of head lines, start of body).
    let mut i = 0;
    while i < buf.len() {
        if buf[i] == b'\n' {
            if buf.get(i + 1) == Some(&b'\n') {
                return Some((i, i + 2));
            }
            if buf.get(i + 1) == Some(&b'\r') && buf.get(i + 2) == Some(&b'\n') {
                return Some((i, i + 3));
            }
        }
        i += 1;
    }
    None
}

fn parse_head(raw: &[u8]) -> Result<Head, HttpError> {
    let text = String::from_utf8_lossy(raw);
    let mut lines = text.split('\n').map(|l| l.trim_end_matches('\r'));
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        let shown: String = status_line.chars().take(60).collect();
        return Err(HttpError::Malformed(format!("status line {shown:?}")));
    }
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (100..600).contains(s))
        .ok_or_else(|| HttpError::Malformed("bad status code".into()))?;
    let mut headers = Vec::new();
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    Ok(Head { status, headers })
}

/// Sends one request and reads the response head before `deadline`; the body is left on the
/// connection for the caller.
pub fn send(
    ep: &Endpoint,
    method: &str,
    target: &str,
    headers: &[(&str, String)],
    body: &[u8],
    deadline: Instant,
) -> Result<(Head, Body), HttpError> {
    let mut stream = connect(ep, deadline)?;
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: {}\r\n", ep.authority());
    req.push_str("User-Agent: venue-desk\r\nAccept: */*\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT") {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    set_deadline(&stream, deadline)?;
    stream.write_all(&bytes).map_err(io_error)?;
    stream.flush().map_err(io_error)?;

    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    loop {
        if let Some((head_end, body_start)) = find_head_end(&buf) {
            let head = parse_head(&buf[..head_end])?;
            let rest = buf[body_start..].to_vec();
            if (100..200).contains(&head.status) && head.status != 101 {
                // Interim response (100 Continue): the real one follows.
                buf = rest;
                continue;
            }
            let chunked =
                head.header("transfer-encoding").is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
            let framing = if method == "HEAD" || head.status == 204 || head.status == 304 {
                Framing::Empty
            } else if chunked {
                Framing::Chunked(ChunkedDecoder::default())
            } else if let Some(len) = head.header("content-length") {
                Framing::Length(
                    len.trim()
                        .parse::<u64>()
                        .map_err(|_| HttpError::Malformed("bad Content-Length".into()))?,
                )
            } else {
                Framing::UntilClose
            };
            return Ok((head, Body { stream, pending: rest, framing }));
        }
        if buf.len() > MAX_HEAD {
            return Err(HttpError::Malformed("response head too large".into()));
        }
        set_deadline(&stream, deadline)?;
        let n = match stream.read(&mut tmp) {
            Ok(n) => n,
            Err(e) if e.kind() == IoKind::Interrupted => continue,
            Err(e) => return Err(io_error(e)),
        };
        if n == 0 {
            return Err(if buf.is_empty() {
                HttpError::Closed
            } else {
                HttpError::Malformed("the response ends inside its head".into())
            });
        }
        buf.extend_from_slice(&tmp[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_base_urls() {
        let e = Endpoint::parse("http://127.0.0.1:18081").unwrap();
        assert_eq!((e.host.as_str(), e.port, e.prefix.as_str()), ("127.0.0.1", 18081, ""));
        assert_eq!(e.authority(), "127.0.0.1:18081");
        let e = Endpoint::parse("10.0.0.5/").unwrap();
        assert_eq!((e.port, e.prefix.as_str()), (80, ""));
        let e = Endpoint::parse("http://[::1]:81/proxy/").unwrap();
        assert_eq!((e.host.as_str(), e.port, e.prefix.as_str()), ("::1", 81, "/proxy"));
        assert_eq!(e.authority(), "[::1]:81");
        assert!(Endpoint::parse("https://x").is_err());
        assert!(Endpoint::parse("http://x:port").is_err());
        assert!(Endpoint::parse("http://").is_err());
    }

    #[test]
    fn chunked_decoding_is_incremental() {
        let wire = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n";
        for split in 0..wire.len() {
            let mut d = ChunkedDecoder::default();
            let mut out = Vec::new();
            d.feed(&wire[..split], &mut out).unwrap();
            d.feed(&wire[split..], &mut out).unwrap();
            assert_eq!(out, b"hello world");
            assert!(d.is_done());
        }
        let mut d = ChunkedDecoder::default();
        assert!(d.feed(b"zz\r\n", &mut Vec::new()).is_err());
        let mut d2 = ChunkedDecoder::default();
        assert!(d2.feed(b"1\r\nab\r\n", &mut Vec::new()).is_err());
    }

    #[test]
    fn heads() {
        let h = parse_head(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest a=1\r\nX: y").unwrap();
        assert_eq!(h.status, 401);
        assert_eq!(h.header("www-authenticate"), Some("Digest a=1"));
        assert!(parse_head(b"SSH-2.0-OpenSSH").is_err());
        assert!(parse_head(b"HTTP/1.1 abc").is_err());
        assert_eq!(find_head_end(b"HTTP/1.1 200 OK\n\nbody"), Some((15, 17)));
    }
}
