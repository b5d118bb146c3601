//! A scripted HTTP/1.1 feed server on 127.0.0.1 for tests and benchmarks, and an OCDS feed
//! replayer (Find a Tender and Contracts Finder flavours) on top of it.
//!
//! The server is written by hand on `std::net` with a thread per connection, rather than on an
//! HTTP framework, so that tests control the bytes on the wire: a body cut short of its
//! `Content-Length`, a connection that never answers, a status with any headers.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Value, json};

use crate::london;

/// Requests whose header block is larger than this are dropped (no test needs more).
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    /// The request-target up to `?`, as sent.
    pub path: String,
    /// Query parameters in order, percent-decoded (`+` decodes to a space, as in HTML forms).
    pub query: Vec<(String, String)>,
    /// Header names as sent (any case).
    pub headers: Vec<(String, String)>,
    /// When the first byte of this request arrived.
    pub received: Instant,
}

impl Request {
    /// The first value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of header `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn accepts_gzip(&self) -> bool {
        self.header("accept-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("gzip"))
    }
}

/// What the server sends back for one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 `application/json`, gzip-compressed when the request accepts gzip.
    Json(Vec<u8>),
    /// Exactly this status, these headers and this body; `Content-Length` is added unless given
    /// (so a test can also send a wrong one), and nothing else is.
    Status {
        code: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// A 200 whose `Content-Length` is `body.len()` but of which only `keep` bytes are sent before
    /// the connection is closed.
    Truncated { body: Vec<u8>, keep: usize },
    /// Reads the request, sends nothing for this long, then closes the connection.
    Stall(Duration),
}

impl Reply {
    /// A plain-text error, the way the feeds answer bad parameters.
    pub fn text(code: u16, body: impl Into<String>) -> Self {
        Self::Status {
            code,
            headers: vec![(
                "Content-Type".to_string(),
                "text/plain; charset=utf-8".to_string(),
            )],
            body: body.into().into_bytes(),
        }
    }
}

/// Files served by path, as a council's or a funder's website serves them: 200 with the
/// bytes as stored (no compression) or 404. Clones share the files, so a test can change or
/// remove one while it is served.
#[derive(Debug, Clone, Default)]
pub struct Files {
    by_path: Arc<Mutex<HashMap<String, ServedFile>>>,
}

/// A served file's content type and bytes.
type ServedFile = (String, Vec<u8>);

impl Files {
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves `body` at `path` (`/spend/2026-03.csv`) with `content_type`, replacing any file
    /// there.
    pub fn put(&self, path: &str, content_type: &str, body: impl Into<Vec<u8>>) {
        lock(&self.by_path).insert(path.to_owned(), (content_type.to_owned(), body.into()));
    }

    pub fn remove(&self, path: &str) {
        lock(&self.by_path).remove(path);
    }

    /// The handler for [`FeedServer::start`].
    pub fn reply(&self, request: &Request) -> Reply {
        match lock(&self.by_path).get(&request.path) {
            Some((content_type, body)) => Reply::Status {
                code: 200,
                headers: vec![("Content-Type".to_string(), content_type.clone())],
                body: body.clone(),
            },
            None => Reply::text(404, "Not Found"),
        }
    }

    /// Starts a server for these files (faults go in with [`FeedServer::inject`]).
    pub fn serve(&self) -> FeedServer {
        let files = self.clone();
        FeedServer::start(move |request| files.reply(request))
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

struct Shared {
    handler: Box<Handler>,
    requests: Mutex<Vec<Request>>,
    faults: Mutex<HashMap<usize, Reply>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    stop: AtomicBool,
    /// Clones of the open connections, so that dropping the server can close them.
    connections: Mutex<HashMap<u64, TcpStream>>,
    next_connection: AtomicU64,
}

/// Poisoning only means another connection thread panicked (in a test's handler); the data is
/// still consistent because every critical section is a single push/insert/remove.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// A scripted HTTP/1.1 server on 127.0.0.1. Stops on drop: the accept thread is joined and open
/// connections are shut down.
pub struct FeedServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl FeedServer {
    /// Starts a server on a free port of 127.0.0.1 that answers every request with `handler`.
    ///
    /// # Panics
    /// When no local port can be bound.
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> FeedServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            handler: Box::new(handler),
            requests: Mutex::new(Vec::new()),
            faults: Mutex::new(HashMap::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            connections: Mutex::new(HashMap::new()),
            next_connection: AtomicU64::new(0),
        });
        let accept_shared = Arc::clone(&shared);
        let accept = std::thread::Builder::new()
            .name(format!("feed-server-{}", addr.port()))
            .spawn(move || accept_loop(listener, accept_shared))
            .expect("spawn the accept thread");
        FeedServer {
            addr,
            shared,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far, in order of arrival.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.shared.requests).clone()
    }

    /// The highest number of requests being answered at the same moment.
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// Faults served instead of the handler's reply: the n-th request (0-based, counting all
    /// requests) gets the fault. Injecting for a request already received has no effect.
    pub fn inject(&self, nth_request: usize, fault: Reply) {
        lock(&self.shared.faults).insert(nth_request, fault);
    }
}

impl Drop for FeedServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // accept() blocks; a connection of our own wakes it up to see the stop flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        for (_, stream) in lock(&self.shared.connections).drain() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let id = shared.next_connection.fetch_add(1, Ordering::SeqCst);
        if let Ok(clone) = stream.try_clone() {
            lock(&shared.connections).insert(id, clone);
        }
        let shared = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name(format!("feed-conn-{id}"))
            .spawn(move || {
                serve_connection(stream, &shared);
                lock(&shared.connections).remove(&id);
            });
        if spawned.is_err() {
            continue;
        }
    }
}

/// A parsed request head plus what the connection needs to know about it.
struct Head {
    request: Request,
    close: bool,
    content_length: usize,
}

fn serve_connection(mut stream: TcpStream, shared: &Shared) {
    let _ = stream.set_nodelay(true);
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let Some(head) = read_head(&mut stream, &mut buf) else {
            return;
        };
        // GET needs no body, but a Content-Length body must not be read as the next request.
        if !skip_bytes(&mut stream, &mut buf, head.content_length) {
            return;
        }
        let index = {
            let mut requests = lock(&shared.requests);
            requests.push(head.request.clone());
            requests.len() - 1
        };
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let fault = lock(&shared.faults).remove(&index);
        let reply = fault.unwrap_or_else(|| (shared.handler)(&head.request));
        let keep_open = send(&mut stream, &head.request, reply, &shared.stop);
        shared.in_flight.fetch_sub(1, Ordering::SeqCst);
        if !keep_open || head.close {
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
    }
}

/// Reads up to the end of the next request's header block; `None` when the connection ends.
fn read_head(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Head> {
    let mut received = (!buf.is_empty()).then(Instant::now);
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(pos) = find(buf, b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > MAX_HEADER_BYTES {
            return None;
        }
        match stream.read(&mut chunk) {
            Ok(0) => return None,
            Ok(n) => {
                received.get_or_insert_with(Instant::now);
                buf.extend_from_slice(&chunk[..n]);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return None,
        }
    };
    let head: Vec<u8> = buf.drain(..end + 4).collect();
    let text = String::from_utf8_lossy(&head[..end]);
    let mut lines = text.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let _method = request_line.next()?;
    let target = request_line.next()?;
    let version = request_line.next().unwrap_or("HTTP/1.1");
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let request = Request {
        path: path.to_string(),
        query: parse_query(query),
        headers,
        received: received.unwrap_or_else(Instant::now),
    };
    let connection = request
        .header("connection")
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let close = connection.contains("close")
        || (version == "HTTP/1.0" && !connection.contains("keep-alive"));
    let content_length = request
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Some(Head {
        request,
        close,
        content_length,
    })
}

fn skip_bytes(stream: &mut TcpStream, buf: &mut Vec<u8>, mut count: usize) -> bool {
    let from_buf = count.min(buf.len());
    buf.drain(..from_buf);
    count -= from_buf;
    let mut chunk = [0u8; 8192];
    while count > 0 {
        match stream.read(&mut chunk[..count.min(8192)]) {
            Ok(0) => return false,
            Ok(n) => count -= n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    true
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Writes `reply`; returns whether the connection may serve another request.
fn send(stream: &mut TcpStream, request: &Request, reply: Reply, stop: &AtomicBool) -> bool {
    match reply {
        Reply::Json(body) => {
            let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
            let body = if request.accepts_gzip() {
                headers.push(("Content-Encoding".to_string(), "gzip".to_string()));
                gzip(&body)
            } else {
                body
            };
            write_response(stream, 200, &headers, &body).is_ok()
        }
        Reply::Status {
            code,
            headers,
            body,
        } => {
            let closes = headers.iter().any(|(k, v)| {
                k.eq_ignore_ascii_case("connection") && v.eq_ignore_ascii_case("close")
            });
            write_response(stream, code, &headers, &body).is_ok() && !closes
        }
        Reply::Truncated { body, keep } => {
            let headers = [
                ("Content-Type".to_string(), "application/json".to_string()),
                ("Content-Length".to_string(), body.len().to_string()),
            ];
            let _ = write_response(stream, 200, &headers, &body[..keep.min(body.len())]);
            false
        }
        Reply::Stall(duration) => {
            // Sleep in slices so that dropping the server does not wait for a long stall.
            let until = Instant::now() + duration;
            while !stop.load(Ordering::SeqCst) {
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                std::thread::sleep(left.min(Duration::from_millis(20)));
            }
            false
        }
    }
}

fn write_response(
    stream: &mut TcpStream,
    code: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut out = format!("HTTP/1.1 {code} {}\r\n", reason(code)).into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    stream.write_all(&out)?;
    stream.flush()
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use flate2::Compression;
    use flate2::write::GzEncoder;
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder
        .write_all(data)
        .and_then(|()| encoder.finish())
        .expect("gzip into memory")
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Encodes a query value the way a browser would, except that `:` and `=` stay literal as they do
/// in the feeds' own `links.next` URLs.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:=".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn encode_query(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32: like the real cursors it is opaque and stays within `[A-Za-z0-9=]`, which
/// base64 (with `+` and `/`) would not.
fn base32_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(5) {
        let mut block = [0u8; 5];
        block[..chunk.len()].copy_from_slice(chunk);
        let bits = block.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let symbols = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < symbols {
                let index = (bits >> (35 - 5 * i)) & 31;
                out.push(char::from(BASE32[index as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base32_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(8) {
        return None;
    }
    let mut out = Vec::new();
    for chunk in text.as_bytes().chunks(8) {
        let symbols = chunk.iter().take_while(|b| **b != b'=').count();
        if chunk[symbols..].iter().any(|b| *b != b'=') {
            return None;
        }
        let mut bits = 0u64;
        for (i, b) in chunk.iter().enumerate() {
            let value = if i < symbols {
                BASE32.iter().position(|s| s == b)? as u64
            } else {
                0
            };
            bits = (bits << 5) | value;
        }
        let bytes = symbols * 5 / 8;
        out.extend_from_slice(&bits.to_be_bytes()[3..3 + bytes]);
    }
    Some(out)
}

/// Which service an [`OcdsFeed`] imitates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedStyle {
    /// `GET /api/1.0/ocdsReleasePackages?updatedFrom=&updatedTo=&limit=&cursor=`, window in
    /// Europe/London local time.
    FindATender,
    /// `GET /Published/Notices/OCDS/Search?publishedFrom=&publishedTo=&limit=&cursor=&stages=`,
    /// ISO 8601 bounds (no offset means UTC).
    ContractsFinder,
}

impl FeedStyle {
    fn path(self) -> &'static str {
        match self {
            Self::FindATender => "/api/1.0/ocdsReleasePackages",
            Self::ContractsFinder => "/Published/Notices/OCDS/Search",
        }
    }

    fn window_params(self) -> (&'static str, &'static str) {
        match self {
            Self::FindATender => ("updatedFrom", "updatedTo"),
            Self::ContractsFinder => ("publishedFrom", "publishedTo"),
        }
    }

    fn accepted_params(self) -> &'static [&'static str] {
        match self {
            Self::FindATender => &["updatedFrom", "updatedTo", "limit", "cursor", "stages"],
            Self::ContractsFinder => &["publishedFrom", "publishedTo", "stages", "limit", "cursor"],
        }
    }

    fn extensions(self) -> Value {
        match self {
            Self::FindATender => json!([
                "https://standard.open-contracting.org/profiles/eu/latest/en/extension.json",
                "https://raw.githubusercontent.com/open-contracting-extensions/ocds_pagination_extension/master/extension.json",
                "https://raw.githubusercontent.com/cabinetoffice/ocds_uk_extension/main/extension.json"
            ]),
            Self::ContractsFinder => json!([
                "https://standard.open-contracting.org/profiles/eu/master/en/extension.json",
                "https://raw.githubusercontent.com/Crown-Commercial-Service/ocds_awards_datePublished_extension/main/extension.json",
                "https://raw.githubusercontent.com/open-contracting-extensions/ocds_pagination_extension/master/extension.json"
            ]),
        }
    }
}

#[derive(Debug, Clone)]
struct StoredRelease {
    at: DateTime<Utc>,
    json: String,
}

/// Replays a fixed set of releases as a paginated OCDS release-package feed, with the parameter
/// checking, newest-first order and `links.next` behaviour of the real services.
#[derive(Debug, Clone)]
pub struct OcdsFeed {
    style: FeedStyle,
    /// Newest first.
    releases: Vec<StoredRelease>,
    page_size: usize,
    /// The package fields between `uri` and `releases`, serialised, without braces.
    envelope: String,
}

impl OcdsFeed {
    /// `releases` are served newest first by the instant of their `date`; ties keep their order.
    /// The text of each release is its compact serialisation, key order and number text kept.
    ///
    /// # Panics
    /// When a release has no `date` in RFC 3339 form.
    pub fn new(style: FeedStyle, releases: Vec<Value>) -> Self {
        let mut stored: Vec<StoredRelease> = releases
            .iter()
            .map(|release| {
                let date = release
                    .get("date")
                    .and_then(Value::as_str)
                    .unwrap_or_else(|| panic!("release without a date: {release}"));
                let at = DateTime::parse_from_rfc3339(date)
                    .unwrap_or_else(|e| panic!("release date {date:?} is not RFC 3339: {e}"))
                    .with_timezone(&Utc);
                StoredRelease {
                    at,
                    json: release.to_string(),
                }
            })
            .collect();
        stored.sort_by_key(|r| std::cmp::Reverse(r.at));
        // The real services stamp the generation time; the newest release keeps replies
        // byte-identical between runs.
        let published = releases
            .iter()
            .filter_map(|r| r.get("date").and_then(Value::as_str))
            .max_by_key(|d| DateTime::parse_from_rfc3339(d).ok())
            .unwrap_or("2026-01-01T00:00:00Z");
        let envelope = json!({
            "version": "1.1",
            "extensions": style.extensions(),
            "publishedDate": published,
            "publisher": {
                "name": "Cabinet Office",
                "scheme": "GB-GOR",
                "uid": "D2",
                "uri": "https://www.gov.uk/government/organisations/cabinet-office"
            },
            "license": "http://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
            "publicationPolicy": "https://www.gov.uk/government/publications/open-contracting"
        })
        .to_string();
        let envelope = envelope[1..envelope.len() - 1].to_string();
        Self {
            style,
            releases: stored,
            page_size: 100,
            envelope,
        }
    }

    /// Releases per page when the request has no `limit` (clamped to 1..=100, like the services).
    pub fn with_page_size(mut self, n: usize) -> Self {
        self.page_size = n.clamp(1, 100);
        self
    }

    pub fn style(&self) -> FeedStyle {
        self.style
    }

    /// The handler for [`FeedServer::start`].
    pub fn reply(&self, request: &Request) -> Reply {
        match self.page(request) {
            Ok(body) => Reply::Json(body.into_bytes()),
            Err(reply) => reply,
        }
    }

    /// Starts a server that replays this feed.
    pub fn serve(self) -> FeedServer {
        FeedServer::start(move |request| self.reply(request))
    }

    fn page(&self, request: &Request) -> Result<String, Reply> {
        if request.path != self.style.path() {
            return Err(Reply::text(404, "Not Found"));
        }
        let accepted = self.style.accepted_params();
        if let Some((name, _)) = request
            .query
            .iter()
            .find(|(k, _)| !accepted.contains(&k.as_str()))
        {
            return Err(Reply::text(
                400,
                format!(
                    "Query parameter '{name}' is not supported. Supported parameters: {}",
                    accepted.join(", ")
                ),
            ));
        }
        let limit = match request.param("limit") {
            None => self.page_size,
            Some(text) => match text.parse::<i64>() {
                Ok(n) if n > 100 => {
                    return Err(Reply::text(
                        400,
                        "'limit' must not exceed the maximum value",
                    ));
                }
                Ok(n) if n < 1 => {
                    return Err(Reply::text(400, "'limit' must be at least 1"));
                }
                Ok(n) => n as usize,
                Err(_) => return Err(Reply::text(400, "'limit' must be an integer")),
            },
        };
        let (from_name, to_name) = self.style.window_params();
        let from = self.bound(request, from_name)?;
        let to = self.bound(request, to_name)?;
        let window_key = format!(
            "{from_name}={}|{to_name}={}",
            request.param(from_name).unwrap_or(""),
            request.param(to_name).unwrap_or("")
        );
        let offset = match request.param("cursor") {
            None => 0,
            Some(cursor) => decode_cursor(cursor, &window_key)
                .ok_or_else(|| Reply::text(400, "'cursor' is not valid for this request"))?,
        };

        // Newest first: the window is one contiguous run of the sorted list.
        let start = to.map_or(0, |to| self.releases.partition_point(|r| r.at > to));
        let end = from.map_or(self.releases.len(), |from| {
            self.releases.partition_point(|r| r.at >= from)
        });
        let window = &self.releases[start..end.max(start)];
        let page = window.get(offset..).unwrap_or_default();
        let page = &page[..limit.min(page.len())];
        let next_offset = offset + page.len();

        let host = request.header("host").unwrap_or("127.0.0.1");
        let base = format!("http://{host}{}", request.path);
        let uri = if request.query.is_empty() {
            base.clone()
        } else {
            format!("{base}?{}", encode_query(&request.query))
        };
        let mut out = String::with_capacity(
            256 + self.envelope.len() + page.iter().map(|r| r.json.len() + 1).sum::<usize>(),
        );
        out.push_str("{\"uri\":");
        out.push_str(&Value::from(uri).to_string());
        out.push(',');
        out.push_str(&self.envelope);
        out.push_str(",\"releases\":[");
        for (i, release) in page.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&release.json);
        }
        out.push(']');
        // The real last page has no `links` at all, not an empty one.
        if next_offset < window.len() {
            let mut query: Vec<(String, String)> = request
                .query
                .iter()
                .filter(|(k, _)| k != "cursor")
                .cloned()
                .collect();
            query.push((
                "cursor".to_string(),
                encode_cursor(&window_key, next_offset),
            ));
            let next = format!("{base}?{}", encode_query(&query));
            out.push_str(",\"links\":{\"next\":");
            out.push_str(&Value::from(next).to_string());
            out.push('}');
        }
        out.push('}');
        Ok(out)
    }

    /// One window bound; `Ok(None)` when Contracts Finder's optional bound is absent.
    fn bound(&self, request: &Request, name: &str) -> Result<Option<DateTime<Utc>>, Reply> {
        let Some(text) = request.param(name) else {
            return match self.style {
                FeedStyle::FindATender => Err(Reply::text(400, format!("'{name}' is required"))),
                FeedStyle::ContractsFinder => Ok(None),
            };
        };
        let parsed = match self.style {
            FeedStyle::FindATender => london::parse_local(text),
            FeedStyle::ContractsFinder => parse_iso_bound(text),
        };
        match (parsed, self.style) {
            (Some(at), _) => Ok(Some(at)),
            (None, FeedStyle::FindATender) => Err(Reply::text(
                400,
                format!("'{name}' must be a date and time in the format YYYY-MM-DDTHH:MM:SS"),
            )),
            (None, FeedStyle::ContractsFinder) => Err(Reply::text(
                400,
                format!("'{name}' must be an ISO 8601 date or date and time"),
            )),
        }
    }
}

/// The cursor carries the window it was issued for, like the real ones, so that a client that
/// changes the window mid-walk gets a 400 rather than a silently wrong page.
fn encode_cursor(window_key: &str, offset: usize) -> String {
    base32_encode(format!("{window_key}|nextCursor={offset}").as_bytes())
}

fn decode_cursor(cursor: &str, window_key: &str) -> Option<usize> {
    let text = String::from_utf8(base32_decode(cursor)?).ok()?;
    let (key, offset) = text.rsplit_once("|nextCursor=")?;
    (key == window_key).then_some(())?;
    offset.parse().ok()
}

/// Contracts Finder bounds: a date, or a date and time with optional fraction and offset; no
/// offset means UTC.
fn parse_iso_bound(text: &str) -> Option<DateTime<Utc>> {
    // An offset written with an unencoded `+` arrives as a space after form decoding.
    let text = match text.trim().split_once(' ') {
        Some((left, right)) if left.len() > 10 => format!("{left}+{right}"),
        _ => text.trim().to_string(),
    };
    if let Ok(at) = DateTime::parse_from_rfc3339(&text) {
        return Some(at.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(&text, format) {
            return Some(at.and_utc());
        }
    }
    NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_round_trips_and_stays_in_the_cursor_alphabet() {
        for text in [
            "",
            "a",
            "ab",
            "abc",
            "abcd",
            "abcde",
            "updatedFrom=2026|nextCursor=300",
        ] {
            let encoded = base32_encode(text.as_bytes());
            assert!(
                encoded
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'=')
            );
            assert_eq!(encoded.len() % 8, 0);
            assert_eq!(base32_decode(&encoded).as_deref(), Some(text.as_bytes()));
        }
        // RFC 4648 test vector.
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI======");
        assert_eq!(base32_decode("MZXW6YT!"), None);
        assert_eq!(base32_decode("MZXW6"), None);
    }

    #[test]
    fn query_decoding() {
        assert_eq!(
            parse_query("a=1&b=x%2B01%3A00&c=two+words&d&e=%zz"),
            [
                ("a".to_string(), "1".to_string()),
                ("b".to_string(), "x+01:00".to_string()),
                ("c".to_string(), "two words".to_string()),
                ("d".to_string(), String::new()),
                ("e".to_string(), "%zz".to_string()),
            ]
        );
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(
            percent_encode("2026-07-01T11:00:00+01:00 x"),
            "2026-07-01T11:00:00%2B01:00%20x"
        );
    }

    #[test]
    fn contracts_finder_bounds() {
        let utc = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc);
        assert_eq!(
            parse_iso_bound("2021-10-28"),
            Some(utc("2021-10-28T00:00:00Z"))
        );
        assert_eq!(
            parse_iso_bound("2021-10-28T09:43:52"),
            Some(utc("2021-10-28T09:43:52Z"))
        );
        assert_eq!(
            parse_iso_bound("2022-10-20T09:43:52+01:00"),
            Some(utc("2022-10-20T08:43:52Z"))
        );
        assert_eq!(
            parse_iso_bound("2022-10-20T09:43:52 01:00"),
            Some(utc("2022-10-20T08:43:52Z"))
        );
        assert_eq!(parse_iso_bound("20 Oct 2022"), None);
    }

    fn raw_exchange(server: &FeedServer, request: &[u8]) -> Vec<u8> {
        let mut stream = TcpStream::connect(server.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.write_all(request).unwrap();
        let mut out = Vec::new();
        // Reads until the server closes, which the last request of each test asks for.
        stream.read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn keep_alive_serves_several_requests_on_one_connection_until_close() {
        let server = FeedServer::start(|r| Reply::text(200, r.path.clone()));
        let out = raw_exchange(
            &server,
            b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n\
              GET /two HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello\
              GET /three HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n\
              GET /never HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 3, "{text}");
        assert!(text.ends_with("/three"), "{text}");
        let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
        assert_eq!(paths, ["/one", "/two", "/three"]);
    }

    #[test]
    fn injected_fault_replaces_the_nth_reply_only() {
        let server = FeedServer::start(|_| Reply::Json(b"{}".to_vec()));
        server.inject(1, Reply::text(503, "busy"));
        let request = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        let first = raw_exchange(&server, request);
        let second = raw_exchange(&server, request);
        let third = raw_exchange(&server, request);
        assert!(first.starts_with(b"HTTP/1.1 200 OK\r\n"));
        assert!(second.starts_with(b"HTTP/1.1 503 Service Unavailable\r\n"));
        assert!(second.ends_with(b"\r\n\r\nbusy"));
        assert!(third.starts_with(b"HTTP/1.1 200 OK\r\n"));
    }

    #[test]
    fn files_are_served_by_path_and_can_change() {
        let files = Files::new();
        files.put("/a.csv", "text/csv", "x,y\n1,2\n");
        let server = files.serve();
        let get = |path: &str| {
            raw_exchange(
                &server,
                format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
            )
        };
        let found = String::from_utf8(get("/a.csv")).unwrap();
        assert!(found.starts_with("HTTP/1.1 200 OK\r\n"), "{found}");
        assert!(
            found.contains("Content-Type: text/csv\r\n") && found.ends_with("\r\n\r\nx,y\n1,2\n")
        );
        assert!(get("/b.csv").starts_with(b"HTTP/1.1 404 Not Found\r\n"));
        files.put("/a.csv", "text/csv", "changed");
        assert!(get("/a.csv").ends_with(b"\r\n\r\nchanged"));
        files.remove("/a.csv");
        assert!(get("/a.csv").starts_with(b"HTTP/1.1 404 Not Found\r\n"));
    }

    #[test]
    fn truncated_reply_announces_more_than_it_sends() {
        let server = FeedServer::start(|_| Reply::Truncated {
            body: b"0123456789".to_vec(),
            keep: 4,
        });
        let out = raw_exchange(&server, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("Content-Length: 10\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\n0123"), "{text}");
    }
}
