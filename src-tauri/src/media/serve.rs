//! 媒体服务 — the loopback HTTP server the window's `<video>` elements read recordings from.
//!
//! Why HTTP on 127.0.0.1 and not a custom URI scheme: WebKitGTK's media player (GStreamer) needs
//! working range requests to seek, and range requests through custom schemes are unreliable on Linux
//! (see ../shared/design/architecture.md and docs/decisions.md "Playback over loopback HTTP").
//!
//! - bound to 127.0.0.1 on a port the OS picks at start, so it is never reachable from the network;
//! - every request must carry the per-process random token (`?t=`): another local program (or a page
//!   in a browser on the same machine) cannot read recordings without it, and the token dies with
//!   the process;
//! - `GET|HEAD /segment/{id}` serves an indexed segment file, byte ranges included; the file is found
//!   through the index only (never from the URL), and only if it resolves inside the recordings
//!   directory (a symlink leading out is refused);
//! - a segment removed by retention answers 410 Gone with the date, so the player can say why;
//! - `GET /live/{camera}?stream=sub|main[&audio=1]` streams the camera live as fragmented MP4 for MSE
//!   (`media/live.rs`), chunked and never ending while the camera delivers: the init segment first,
//!   then a fragment every ~100 ms; `Content-Type` carries the codecs (`video/mp4;
//!   codecs="avc1.42c01e,mp4a.40.2"`) for `addSourceBuffer`. The body ends when the camera drops
//!   (the page shows 信号中断 and asks again); 404 for an unknown camera, 409 beyond
//!   [`MAX_MAIN_STREAMS`](super::live::MAX_MAIN_STREAMS) main streams, 504 when the camera does not
//!   answer. The headers and chunks are written by hand on the raw connection, because tiny_http's
//!   chunked encoder holds back 8 KiB before it sends, which would delay a sub-stream's fragments.
//!
//! Routes are one enum (`Route`) and one dispatch behind the same token check.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use rand::RngCore;
use sqlx::SqlitePool;
use tiny_http::{Header, Method, Request, Response, Server, StatusCode};

use super::live::{Chunk, LiveHub, StreamKind};
use crate::error::{Error, ErrorKind, Result};
use crate::store::recordings as db;

/// The MIME type of the recorder's segments (Matroska, H.264 + AAC).
pub const SEGMENT_CONTENT_TYPE: &str = "video/x-matroska";

/// What a player needs to build URLs: the server's base and the token every request carries.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct MediaEndpoint {
    /// e.g. `http://127.0.0.1:39211`
    pub base_url: String,
    pub token: String,
    /// The listeners live streams are spread over (see [`LIVE_LISTENERS`]).
    pub live_base_urls: Vec<String>,
}

/// Extra listeners for live streams. A live stream holds its HTTP connection for as long as the
/// tile shows it, and WebKit (libsoup) opens at most six connections to one host and port: on a
/// 9-tile wall the seventh tile and after waited forever at 正在连接 (measured). Spreading cameras
/// over several ports (camera i on port i mod n) keeps a 16-tile wall and its enlarged view at no
/// more than three streams a port.
pub const LIVE_LISTENERS: usize = 6;

impl MediaEndpoint {
    /// The URL of a segment on the server.
    pub fn segment_url(&self, id: i64) -> String {
        format!("{}/segment/{id}?t={}", self.base_url, self.token)
    }

    /// The URL of a camera's live stream (video only; the page adds `&audio=1` to hear it), on the
    /// live listener of `slot` (the camera's position in the venue file).
    pub fn live_url(&self, camera_id: &str, stream: StreamKind, slot: usize) -> String {
        let s = match stream {
            StreamKind::Sub => "sub",
            StreamKind::Main => "main",
        };
        let base = self.live_base_urls.get(slot % self.live_base_urls.len().max(1)).unwrap_or(&self.base_url);
        format!("{base}/live/{camera_id}?t={}&stream={s}", self.token)
    }
}

/// The running server. Dropping it stops accepting requests.
pub struct MediaServer {
    endpoint: MediaEndpoint,
    live: Arc<LiveHub>,
    /// The main listener first, then the live listeners.
    servers: Vec<Arc<Server>>,
    accepts: Vec<JoinHandle<()>>,
}

/// What the server reads: the index and the directory the files must lie in.
struct Source {
    pool: SqlitePool,
    recordings_dir: PathBuf,
    time_zone: chrono_tz::Tz,
    rt: tokio::runtime::Handle,
    token: String,
    live: Arc<LiveHub>,
}

impl MediaServer {
    /// Starts the server on 127.0.0.1 with a port chosen by the OS and a fresh random token.
    /// Must be called inside a tokio runtime (the index is read through it).
    pub fn start(recordings: &super::Recordings) -> Result<MediaServer> {
        let listen = || {
            Server::http("127.0.0.1:0").map_err(|e| {
                Error::new(
                    ErrorKind::Unavailable,
                    format!("录像回放服务无法在本机 127.0.0.1 上启动：{e}。请检查本机防火墙或安全软件后重新启动程序。"),
                    format!(
                        "The playback server could not start on 127.0.0.1: {e}. Check the local firewall or security software, then restart the app."
                    ),
                )
            })
        };
        let mut servers = vec![Arc::new(listen()?)];
        for _ in 0..LIVE_LISTENERS {
            servers.push(Arc::new(listen()?));
        }
        let url_of = |s: &Server| {
            format!("http://127.0.0.1:{}", s.server_addr().to_ip().map(|a| a.port()).unwrap_or_default())
        };
        let mut bytes = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let endpoint = MediaEndpoint {
            base_url: url_of(&servers[0]),
            token: hex::encode(bytes),
            live_base_urls: servers[1..].iter().map(|s| url_of(s)).collect(),
        };
        let live = LiveHub::new(recordings.config.clone(), recordings.vault.clone());
        let source = Arc::new(Source {
            live: live.clone(),
            pool: recordings.store.pool().clone(),
            recordings_dir: recordings.config.recordings_dir.clone(),
            time_zone: recordings.config.time_zone,
            rt: tokio::runtime::Handle::try_current().map_err(Error::internal)?,
            token: endpoint.token.clone(),
        });
        let mut accepts = Vec::new();
        for server in &servers {
            let server = server.clone();
            let source = source.clone();
            accepts.push(
                std::thread::Builder::new()
                    .name("media-serve".into())
                    .spawn(move || {
                        // One thread per request: a paused <video> keeps its connection open without
                        // reading, and must not hold up the other cameras' requests.
                        for request in server.incoming_requests() {
                            let source = source.clone();
                            let _ = std::thread::Builder::new()
                                .name("media-request".into())
                                .spawn(move || source.answer(request));
                        }
                    })
                    .map_err(Error::internal)?,
            );
        }
        tracing::info!(base = %endpoint.base_url, live = ?endpoint.live_base_urls, "media server started");
        Ok(MediaServer { endpoint, live, servers, accepts })
    }

    pub fn endpoint(&self) -> &MediaEndpoint {
        &self.endpoint
    }

    /// The live feeds behind `/live/{camera}`.
    pub fn live(&self) -> &Arc<LiveHub> {
        &self.live
    }
}

impl Drop for MediaServer {
    fn drop(&mut self) {
        for s in &self.servers {
            s.unblock();
        }
        for t in self.accepts.drain(..) {
            let _ = t.join();
        }
    }
}

/// The server's routes.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    /// An indexed segment by its id.
    Segment(i64),
    /// A camera's live stream by its device id.
    Live(String),
    /// One JPEG picture of a camera, for a tile that cannot play the live stream.
    Still(String),
}

/// The route of a path (without the query), or `None`. Ids are plain decimal: nothing from the URL
/// ever becomes part of a file path.
fn route(path: &str) -> Option<Route> {
    // Device ids of the venue file: letters, digits, `-`, `_`, `.`; anything else is no camera.
    let device = |id: &str| {
        !id.is_empty()
            && id.len() <= 64
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && id != "."
            && id != ".."
    };
    if let Some(id) = path.strip_prefix("/live/") {
        return device(id).then(|| Route::Live(id.to_string()));
    }
    if let Some(id) = path.strip_prefix("/still/") {
        return device(id).then(|| Route::Still(id.to_string()));
    }
    let rest = path.strip_prefix("/segment/")?;
    if rest.is_empty() || rest.len() > 18 || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rest.parse().ok().map(Route::Segment)
}

/// The value of `t` in a query string.
fn token_of(query: &str) -> Option<&str> {
    query.split('&').find_map(|kv| kv.strip_prefix("t="))
}

/// The answer to a `stream=` that is neither `sub` nor `main`.
fn bad_stream(request: Request) {
    let _ = request.respond(text(
        400,
        "stream 只能是 sub（子码流）或 main（主码流）。",
        "stream must be sub or main.",
    ));
}

/// The `stream` of a live request (`sub` when absent), or `None` when it names no stream.
fn stream_of(query: &str) -> Option<StreamKind> {
    match query.split('&').find_map(|kv| kv.strip_prefix("stream=")) {
        None => Some(StreamKind::Sub),
        Some(s) => StreamKind::parse(s),
    }
}

/// Compares without stopping at the first difference, so timing tells nothing about the token.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A requested byte range, resolved against the file's length.
#[derive(Debug, PartialEq, Eq)]
enum Range {
    /// No (usable) Range header: the whole file.
    Whole,
    /// Bytes `start..=end`.
    Part { start: u64, end: u64 },
    /// Malformed or outside the file: 416.
    Unsatisfiable,
}

/// Parses a `Range` header (RFC 9110 §14): `bytes=a-b`, `bytes=a-`, `bytes=-n`. A list of several
/// ranges is answered with the whole file, which the RFC allows and players never ask for.
fn parse_range(header: Option<&str>, len: u64) -> Range {
    let Some(h) = header else { return Range::Whole };
    let Some(spec) = h.trim().strip_prefix("bytes=") else { return Range::Unsatisfiable };
    if spec.contains(',') {
        return Range::Whole;
    }
    let Some((a, b)) = spec.trim().split_once('-') else { return Range::Unsatisfiable };
    let (a, b) = (a.trim(), b.trim());
    let num = |s: &str| if s.bytes().all(|c| c.is_ascii_digit()) { s.parse::<u64>().ok() } else { None };
    match (a.is_empty(), b.is_empty()) {
        // bytes=-n: the last n bytes
        (true, false) => match num(b) {
            Some(n) if n > 0 && len > 0 => Range::Part { start: len.saturating_sub(n), end: len - 1 },
            _ => Range::Unsatisfiable,
        },
        (false, _) => match (num(a), if b.is_empty() { Some(u64::MAX) } else { num(b) }) {
            (Some(start), Some(end)) if start < len && start <= end => {
                Range::Part { start, end: end.min(len - 1) }
            }
            _ => Range::Unsatisfiable,
        },
        (true, true) => Range::Unsatisfiable,
    }
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("ASCII header")
}

/// A short plain-text answer (UTF-8), Chinese first then English, for a person reading a log or
/// the player's error.
fn text(status: u16, zh: &str, en: &str) -> Response<std::io::Cursor<Vec<u8>>> {
    Response::from_string(format!("{zh}\n{en}\n"))
        .with_status_code(StatusCode(status))
        .with_header(header("Content-Type", "text/plain; charset=utf-8"))
        .with_header(header("Cache-Control", "no-store"))
}

impl Source {
    fn answer(&self, request: Request) {
        let url = request.url().to_string();
        let (path, query) = url.split_once('?').unwrap_or((&url, ""));
        // The token first: without it nothing, not even whether a segment exists, is told.
        if !token_of(query).is_some_and(|t| same_token(t, &self.token)) {
            let _ = request.respond(text(
                403,
                "拒绝访问：缺少或错误的访问令牌。录像只能在 Venue Desk 的回放界面中观看。",
                "Forbidden: missing or wrong access token. Recordings can be watched only in Venue Desk's playback screen.",
            ));
            return;
        }
        if !matches!(request.method(), Method::Get | Method::Head) {
            let _ = request.respond(text(405, "只支持 GET 和 HEAD。", "Only GET and HEAD are supported."));
            return;
        }
        match route(path) {
            Some(Route::Segment(id)) => self.segment(request, id),
            Some(Route::Live(camera)) => self.live(request, &camera, query),
            Some(Route::Still(camera)) => self.still(request, &camera, query),
            None => {
                let _ = request.respond(text(404, "没有这个地址。", "No such address."));
            }
        }
    }

    fn segment(&self, request: Request, id: i64) {
        let row = match self.rt.block_on(db::segment(&self.pool, id)) {
            Ok(Some(row)) => row,
            Ok(None) => {
                let _ = request.respond(text(
                    404,
                    &format!("没有编号为 {id} 的录像段。请刷新回放时间轴。"),
                    &format!("There is no segment {id}. Refresh the playback timeline."),
                ));
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, id, "media server cannot read the index");
                let _ = request.respond(text(
                    503,
                    "暂时无法读取录像索引，请稍后重试。",
                    "The recordings index cannot be read just now; try again shortly.",
                ));
                return;
            }
        };
        if let Some(at) = row.purged_at_ms {
            let when = chrono::DateTime::from_timestamp_millis(at)
                .map(|t| t.with_timezone(&self.time_zone).format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default();
            let _ = request.respond(text(
                410,
                &format!("该录像段已于 {when} 按保留期限删除，无法播放；索引中仍保留其哈希和记录。"),
                &format!(
                    "This segment was removed by retention on {when} and cannot be played; its hash and record remain in the index."
                ),
            ));
            return;
        }
        let Some(file) = self.resolve(&row.path) else {
            tracing::warn!(id, path = %row.path, "segment file missing or outside the recordings directory");
            let _ = request.respond(text(
                404,
                "录像文件不在录像目录中（被移动或删除）。请通知管理员检查录像目录，并用 verify-export 核验。",
                "The segment's file is not in the recordings directory (moved or removed). Tell an administrator to check the recordings directory and run verify-export.",
            ));
            return;
        };
        let mut f = match File::open(&file) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(error = %e, file = %file.display(), "cannot open segment");
                let _ = request.respond(text(
                    404,
                    "无法打开录像文件，请通知管理员检查录像目录的权限。",
                    "The segment's file cannot be opened; tell an administrator to check the recordings directory's permissions.",
                ));
                return;
            }
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let range_header =
            request.headers().iter().find(|h| h.field.equiv("Range")).map(|h| h.value.as_str().to_string());
        let common = |r: Response<_>| {
            r.with_header(header("Content-Type", SEGMENT_CONTENT_TYPE))
                .with_header(header("Accept-Ranges", "bytes"))
                // Closed segments never change; the token changes with each start anyway.
                .with_header(header("Cache-Control", "private, max-age=3600"))
                // A length, never chunked: the player needs the file's size to seek in it.
                .with_chunked_threshold(usize::MAX)
        };
        let answer = match parse_range(range_header.as_deref(), len) {
            Range::Whole => common(Response::new(
                StatusCode(200),
                vec![],
                Box::new(f) as Box<dyn Read + Send>,
                Some(len as usize),
                None,
            )),
            Range::Part { start, end } => {
                if f.seek(SeekFrom::Start(start)).is_err() {
                    let _ = request.respond(text(
                        500,
                        "读取录像文件失败。",
                        "Reading the segment's file failed.",
                    ));
                    return;
                }
                let n = end - start + 1;
                common(Response::new(
                    StatusCode(206),
                    vec![header("Content-Range", &format!("bytes {start}-{end}/{len}"))],
                    Box::new(f.take(n)) as Box<dyn Read + Send>,
                    Some(n as usize),
                    None,
                ))
            }
            Range::Unsatisfiable => {
                let _ = request.respond(
                    text(
                        416,
                        &format!("请求的字节范围不在文件内（文件共 {len} 字节）。"),
                        &format!("The requested byte range is not within the file ({len} bytes)."),
                    )
                    .with_header(header("Content-Range", &format!("bytes */{len}"))),
                );
                return;
            }
        };
        // A player that closes the connection mid-file is normal (seek, pause, switch): not an error.
        let _ = request.respond(answer);
    }

    fn still(&self, request: Request, camera: &str, query: &str) {
        let Some(stream) = stream_of(query) else {
            return bad_stream(request);
        };
        match self.live.still(camera, stream) {
            Ok(jpeg) => {
                let response = Response::from_data(jpeg.as_slice().to_vec())
                    .with_header(Header::from_bytes(&b"Content-Type"[..], &b"image/jpeg"[..]).unwrap())
                    .with_header(Header::from_bytes(&b"Cache-Control"[..], &b"no-store"[..]).unwrap());
                let _ = request.respond(response);
            }
            Err(e) => {
                let status = if e.kind == ErrorKind::NotFound { 404 } else { 504 };
                let _ = request.respond(text(
                    status,
                    e.message_in(crate::error::Locale::ZhCn),
                    e.message_in(crate::error::Locale::En),
                ));
            }
        }
    }

    fn live(&self, request: Request, camera: &str, query: &str) {
        let Some(stream) = stream_of(query) else {
            return bad_stream(request);
        };
        let audio = query.split('&').any(|kv| kv == "audio=1");
        let mut viewer = match self.live.watch(camera, stream, audio) {
            Ok(v) => v,
            Err(e) => {
                let status = match e.kind {
                    ErrorKind::NotFound => 404,
                    _ => 409,
                };
                let _ = request.respond(text(
                    status,
                    e.message_in(crate::error::Locale::ZhCn),
                    e.message_in(crate::error::Locale::En),
                ));
                return;
            }
        };
        let (init, codecs) = match viewer.init(super::live::FIRST_DATA_TIMEOUT) {
            Ok(x) => x,
            Err(reason) => {
                let _ = request.respond(text(
                    504,
                    &format!("信号中断：无法取得摄像机 {camera} 的实时视频（{reason}）。画面会自动重连。"),
                    &format!("Signal lost: no live video from camera {camera} ({reason}). The tile reconnects by itself."),
                ));
                return;
            }
        };
        if request.method() == &Method::Head {
            let _ = request.respond(
                Response::empty(200)
                    .with_header(header("Content-Type", &format!("video/mp4; codecs=\"{codecs}\""))),
            );
            return;
        }
        let mut out = request.into_writer();
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: video/mp4; codecs=\"{codecs}\"\r\nCache-Control: no-store\r\n\
             Access-Control-Allow-Origin: *\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        );
        let chunk = |out: &mut Box<dyn Write + Send>, data: &[u8]| -> std::io::Result<()> {
            write!(out, "{:x}\r\n", data.len())?;
            out.write_all(data)?;
            out.write_all(b"\r\n")?;
            out.flush()
        };
        if out.write_all(head.as_bytes()).is_err() || chunk(&mut out, &init).is_err() {
            return;
        }
        loop {
            match viewer.next(std::time::Duration::from_secs(1)) {
                Chunk::Data(f) => {
                    // The page closed the stream (tile removed, enlarged view closed): leave the feed.
                    if chunk(&mut out, &f).is_err() {
                        return;
                    }
                }
                Chunk::Idle => {}
                Chunk::Ended(reason) => {
                    tracing::info!(%camera, %reason, "live stream to the page ends");
                    let _ = out.write_all(b"0\r\n\r\n").and_then(|_| out.flush());
                    return;
                }
            }
        }
    }

    /// The file of an index path, only if it lies inside the recordings directory once every
    /// symlink is followed.
    fn resolve(&self, relative: &str) -> Option<PathBuf> {
        let rel = Path::new(relative);
        if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            return None;
        }
        let root = self.recordings_dir.canonicalize().ok()?;
        let file = root.join(rel).canonicalize().ok()?;
        (file.starts_with(&root) && file.is_file()).then_some(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_parsed_as_the_rfc_says() {
        assert_eq!(parse_range(None, 100), Range::Whole);
        assert_eq!(parse_range(Some("bytes=0-9"), 100), Range::Part { start: 0, end: 9 });
        assert_eq!(parse_range(Some("bytes=90-"), 100), Range::Part { start: 90, end: 99 });
        assert_eq!(parse_range(Some("bytes=90-1000"), 100), Range::Part { start: 90, end: 99 });
        assert_eq!(parse_range(Some("bytes=-10"), 100), Range::Part { start: 90, end: 99 });
        assert_eq!(parse_range(Some("bytes=-1000"), 100), Range::Part { start: 0, end: 99 });
        assert_eq!(parse_range(Some("bytes=100-"), 100), Range::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=9-2"), 100), Range::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 100), Range::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=a-b"), 100), Range::Unsatisfiable);
        assert_eq!(parse_range(Some("items=0-9"), 100), Range::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-1,5-6"), 100), Range::Whole);
        assert_eq!(parse_range(Some("bytes=0-"), 0), Range::Unsatisfiable);
    }

    #[test]
    fn only_plain_segment_ids_route() {
        assert_eq!(route("/segment/12"), Some(Route::Segment(12)));
        assert_eq!(route("/segment/"), None);
        assert_eq!(route("/segment/-1"), None);
        assert_eq!(route("/segment/1/../../etc/passwd"), None);
        assert_eq!(route("/segment/%2e%2e"), None);
        assert_eq!(route("/segment/99999999999999999999"), None);
        assert_eq!(route("/other/1"), None);
        assert_eq!(route("/live/cam-pb1-a"), Some(Route::Live("cam-pb1-a".into())));
        assert_eq!(route("/live/"), None);
        assert_eq!(route("/live/.."), None);
        assert_eq!(route("/live/a/b"), None);
        assert_eq!(route("/live/%2e"), None);
    }

    #[test]
    fn the_token_is_read_from_the_query() {
        assert_eq!(token_of("t=abc"), Some("abc"));
        assert_eq!(token_of("x=1&t=abc"), Some("abc"));
        assert_eq!(token_of("x=1"), None);
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "ab"));
        assert_eq!(stream_of("t=x"), Some(StreamKind::Sub));
        assert_eq!(stream_of("t=x&stream=main"), Some(StreamKind::Main));
        assert_eq!(stream_of("stream=hd&t=x"), None);
    }
}
