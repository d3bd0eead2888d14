//! 实时视频: the media server's `/live/{camera}` route over real sockets, fed by the simulated RTSP
//! cameras: fragmented MP4 (ftyp, moov, then moof + mdat), the codecs in the Content-Type, the token,
//! unknown cameras and streams, one pipeline shared by its viewers and stopped when nobody watches,
//! a dropped camera ending the stream and a new request playing again once it is back, and the cap
//! on main streams.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use venue_desk::media::Recordings;
use venue_desk::media::live::{MAX_MAIN_STREAMS, StreamKind};
use venue_desk::media::serve::MediaServer;
use venue_desk::sim::rtsp::{CameraConfig, DropMode, RtspSim, RtspSimHandle, VideoFormat};
use venue_desk_tests::e2e::free_port;
use venue_desk_tests::fixture::Venue;

const SMALL: VideoFormat = VideoFormat { width: 320, height: 180, fps: 15 };
/// The demo venue's cameras the tests use, with their paths on the simulator.
const CAMERAS: &[(&str, &str)] = &[
    ("cam-pb1-a", "/pb-1/a"),
    ("cam-pb1-b", "/pb-1/b"),
    ("cam-kb1-front", "/kb-1/front"),
    ("cam-kb1-rear", "/kb-1/rear"),
    ("cam-kb2-front", "/kb-2/front"),
];

fn sim() -> RtspSimHandle {
    let sim = RtspSim::start(format!("127.0.0.1:{}", free_port()).parse().unwrap()).unwrap();
    for (id, path) in CAMERAS {
        sim.add_camera(CameraConfig::camera(
            id,
            "测试室",
            id,
            &format!("{path}/main"),
            SMALL,
            Some((&format!("{path}/sub"), SMALL)),
        ))
        .unwrap();
    }
    sim
}

async fn venue(sim: &RtspSimHandle) -> Venue {
    let addr = sim.addr().to_string();
    Venue::open_with(
        move |c| {
            for d in &mut c.devices {
                d.address = d.address.replace("127.0.0.1:18554", &addr);
                d.sub_stream = d.sub_stream.as_ref().map(|s| s.replace("127.0.0.1:18554", &addr));
            }
        },
        "2026-11-23T01:00:00Z",
    )
    .await
}

/// A streaming response read as it comes: the head, then the chunked body de-chunked.
struct Stream {
    status: u16,
    content_type: String,
    body: String,
    reader: BufReader<TcpStream>,
}

fn open(base: &str, target: &str) -> Stream {
    let addr = base.strip_prefix("http://").unwrap();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s.write_all(format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes()).unwrap();
    let mut reader = BufReader::new(s);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status = line.split(' ').nth(1).unwrap().parse().unwrap();
    let (mut content_type, mut length, mut chunked) = (String::new(), None, false);
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').unwrap();
        match k.to_ascii_lowercase().as_str() {
            "content-type" => content_type = v.trim().to_string(),
            "content-length" => length = v.trim().parse::<usize>().ok(),
            "transfer-encoding" => chunked = v.trim().eq_ignore_ascii_case("chunked"),
            _ => {}
        }
    }
    let mut body = String::new();
    if !chunked {
        let mut b = vec![0; length.unwrap_or(0)];
        reader.read_exact(&mut b).unwrap();
        body = String::from_utf8_lossy(&b).into_owned();
    }
    Stream { status, content_type, body, reader }
}

impl Stream {
    /// The next chunk's bytes; `None` at the body's end (the zero chunk or a closed connection).
    fn chunk(&mut self) -> Option<Vec<u8>> {
        let mut line = String::new();
        if self.reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let n = usize::from_str_radix(line.trim(), 16).ok()?;
        if n == 0 {
            return None;
        }
        let mut b = vec![0; n + 2];
        self.reader.read_exact(&mut b).ok()?;
        b.truncate(n);
        Some(b)
    }

    /// The top-level box types of the chunks read until `count` boxes were seen.
    fn boxes(&mut self, count: usize) -> Vec<String> {
        self.raw_boxes(count).into_iter().map(|b| String::from_utf8_lossy(&b[4..8]).into_owned()).collect()
    }

    /// The top-level boxes (whole, header included) of the chunks read until `count` were seen.
    fn raw_boxes(&mut self, count: usize) -> Vec<Vec<u8>> {
        let mut boxes = Vec::new();
        while boxes.len() < count {
            let c = self.chunk().expect("the stream goes on");
            let mut i = 0;
            while i + 8 <= c.len() {
                let size = u32::from_be_bytes(c[i..i + 4].try_into().unwrap()) as usize;
                assert!(size >= 8 && i + size <= c.len(), "a box has a size within its chunk");
                boxes.push(c[i..i + size].to_vec());
                i += size;
            }
            assert_eq!(i, c.len(), "each chunk is whole boxes");
        }
        boxes
    }
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let started = Instant::now();
    while !f() {
        assert!(started.elapsed() < timeout, "{what} (after {timeout:?})");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_route_streams_fragmented_mp4_shared_and_stopped_when_nobody_watches() {
    let sim = sim();
    let v = venue(&sim).await;
    let server = MediaServer::start(&Recordings::from_services(&v.services)).unwrap();
    let ep = server.endpoint().clone();
    let target = |cam: &str, stream: &str| format!("/live/{cam}?t={}&stream={stream}&audio=1", ep.token);

    let base = ep.base_url.clone();
    let t = target("cam-pb1-a", "sub");
    let mut first = tokio::task::spawn_blocking(move || open(&base, &t)).await.unwrap();
    assert_eq!(first.status, 200);
    assert!(
        first.content_type.starts_with("video/mp4; codecs=\"avc1.")
            && first.content_type.contains("mp4a.40.2"),
        "{}",
        first.content_type
    );
    let (first, types) = tokio::task::spawn_blocking(move || {
        let types = first.boxes(8);
        (first, types)
    })
    .await
    .unwrap();
    assert_eq!(&types[..3], ["ftyp", "moov", "moof"], "{types:?}");
    assert!(
        types[2..].chunks(2).all(|p| p[0] == "moof" && p.get(1).is_none_or(|m| m == "mdat")),
        "{types:?}"
    );

    // A second viewer of the same stream, a few seconds later, shares the pipeline (one RTSP
    // session on the sub path), gets the init segment first, and its first fragment opens with a
    // video key frame (a decoder can start there).
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let base = ep.base_url.clone();
    let t = target("cam-pb1-a", "sub");
    let second = tokio::task::spawn_blocking(move || {
        let mut s = open(&base, &t);
        let boxes = s.raw_boxes(3);
        (s, boxes)
    })
    .await
    .unwrap();
    let kinds: Vec<&[u8]> = second.1.iter().map(|b| &b[4..8]).collect();
    assert_eq!(kinds[..3], [b"ftyp" as &[u8], b"moov", b"moof"], "a late viewer gets the init segment first");
    let video = venue_desk::media::live::video_tracks(&second.1[1]);
    assert_eq!(video.len(), 1, "one video track");
    assert!(
        venue_desk::media::live::starts_with_key_frame(&second.1[2], &video),
        "a late viewer starts at a key frame"
    );
    assert_eq!(server.live().running(), vec![("cam-pb1-a".to_string(), StreamKind::Sub, true, 2)]);
    let sessions = |sim: &RtspSimHandle, path: &str| {
        sim.status("cam-pb1-a").unwrap().streams.iter().find(|s| s.path == path).unwrap().sessions
    };
    assert_eq!(sessions(&sim, "/pb-1/a/sub"), 1);
    assert_eq!(sessions(&sim, "/pb-1/a/main"), 0);
    // Without audio=1 the same camera is a feed of its own, video only (what wall tiles play).
    let base = ep.base_url.clone();
    let t = format!("/live/cam-pb1-a?t={}&stream=sub", ep.token);
    let silent = tokio::task::spawn_blocking(move || open(&base, &t)).await.unwrap();
    assert_eq!(silent.status, 200);
    assert!(!silent.content_type.contains("mp4a"), "{}", silent.content_type);
    drop(silent);

    // Both leave: the pipeline stops and the camera's session closes.
    drop(first);
    drop(second);
    let hub = server.live().clone();
    tokio::task::spawn_blocking(move || {
        wait_for("the feed stops when nobody watches", Duration::from_secs(5), || hub.running().is_empty());
        wait_for("the camera's RTSP session closes", Duration::from_secs(10), || {
            sessions(&sim, "/pb-1/a/sub") == 0
        });
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_token_unknown_camera_and_unknown_stream_are_refused() {
    let sim = sim();
    let v = venue(&sim).await;
    let server = MediaServer::start(&Recordings::from_services(&v.services)).unwrap();
    let ep = server.endpoint().clone();
    tokio::task::spawn_blocking(move || {
        let a = open(&ep.base_url, "/live/cam-pb1-a?t=wrong&stream=sub");
        assert_eq!(a.status, 403, "{}", a.body);
        let a = open(&ep.base_url, "/live/cam-pb1-a?stream=sub");
        assert_eq!(a.status, 403);
        let a = open(&ep.base_url, &format!("/live/cam-nowhere?t={}", ep.token));
        assert_eq!(a.status, 404);
        assert!(a.body.contains("cam-nowhere"), "{}", a.body);
        // A door controller is no camera.
        let a = open(&ep.base_url, &format!("/live/door-pb1?t={}", ep.token));
        assert_eq!(a.status, 404);
        let a = open(&ep.base_url, &format!("/live/cam-pb1-a?t={}&stream=hd", ep.token));
        assert_eq!(a.status, 400);
        let a = open(&ep.base_url, &format!("/live/..?t={}", ep.token));
        assert_eq!(a.status, 404);
    })
    .await
    .unwrap();
    assert!(server.live().running().is_empty(), "nothing was started");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_camera_ends_the_stream_and_plays_again_when_back() {
    let sim = sim();
    let v = venue(&sim).await;
    let server = MediaServer::start(&Recordings::from_services(&v.services)).unwrap();
    let ep = server.endpoint().clone();
    tokio::task::spawn_blocking(move || {
        let target = format!("/live/cam-pb1-b?t={}&stream=sub", ep.token);
        for mode in [DropMode::Disconnect, DropMode::Stall] {
            let mut s = open(&ep.base_url, &target);
            assert_eq!(s.status, 200);
            s.boxes(4);
            let dropped = Instant::now();
            sim.drop_camera("cam-pb1-b", mode).unwrap();
            while s.chunk().is_some() {
                assert!(dropped.elapsed() < Duration::from_secs(10), "{mode:?}: the stream ends");
            }
            // Stall is caught by the 5 s timer; a disconnect at once.
            let limit = if mode == DropMode::Stall { 7 } else { 3 };
            assert!(
                dropped.elapsed() < Duration::from_secs(limit),
                "{mode:?}: ended after {:?}",
                dropped.elapsed()
            );
            // While it is away, a request is answered, not left hanging: 504 with the reason.
            let away = open(&ep.base_url, &target);
            assert_eq!(away.status, 504, "{}", away.body);
            assert!(away.body.contains("信号中断"), "{}", away.body);
            sim.restore_camera("cam-pb1-b").unwrap();
            let mut again = open(&ep.base_url, &target);
            assert_eq!(again.status, 200, "{}", again.body);
            assert_eq!(&again.boxes(3)[..2], ["ftyp", "moov"]);
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_the_allowed_main_streams_are_refused_with_a_message() {
    let sim = sim();
    let v = venue(&sim).await;
    let server = MediaServer::start(&Recordings::from_services(&v.services)).unwrap();
    let ep = server.endpoint().clone();
    tokio::task::spawn_blocking(move || {
        let mut open_ones = Vec::new();
        for (id, _) in &CAMERAS[..MAX_MAIN_STREAMS] {
            let s = open(&ep.base_url, &format!("/live/{id}?t={}&stream=main", ep.token));
            assert_eq!(s.status, 200, "{id}: {}", s.body);
            open_ones.push(s);
        }
        let fifth = CAMERAS[MAX_MAIN_STREAMS].0;
        let refused = open(&ep.base_url, &format!("/live/{fifth}?t={}&stream=main", ep.token));
        assert_eq!(refused.status, 409);
        assert!(refused.body.contains("最多播放 4 路主码流"), "{}", refused.body);
        // Its sub-stream still plays, and a second viewer of an open main stream is no new stream.
        let sub = open(&ep.base_url, &format!("/live/{fifth}?t={}&stream=sub", ep.token));
        assert_eq!(sub.status, 200);
        let again = open(&ep.base_url, &format!("/live/{}?t={}&stream=main", CAMERAS[0].0, ep.token));
        assert_eq!(again.status, 200);
    })
    .await
    .unwrap();
}

/// Status, content type and body bytes of a short response (`Connection: close`).
fn fetch(base: &str, target: &str) -> (u16, String, Vec<u8>) {
    let addr = base.strip_prefix("http://").unwrap();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes())
        .unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let split = all.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head");
    let head = String::from_utf8_lossy(&all[..split]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-type:").map(|v| v.trim().to_string()))
        .unwrap_or_default();
    (status, content_type, all[split + 4..].to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_still_picture_is_a_jpeg_of_the_camera_and_refused_without_token_or_camera() {
    let sim = sim();
    let v = venue(&sim).await;
    let server = MediaServer::start(&Recordings::from_services(&v.services)).unwrap();
    let ep = server.endpoint().clone();
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let (status, kind, body) =
            fetch(&ep.base_url, &format!("/still/cam-pb1-a?t={}&stream=sub", ep.token));
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        assert_eq!(kind, "image/jpeg");
        assert_eq!(&body[..2], &[0xFF, 0xD8], "a JPEG starts with SOI");
        assert_eq!(&body[body.len() - 2..], &[0xFF, 0xD9], "and ends with EOI");
        println!("first still after {:?}, {} bytes", started.elapsed(), body.len());
        // Asked again at once: the same picture, without decoding the camera again.
        let again = Instant::now();
        let (_, _, body2) = fetch(&ep.base_url, &format!("/still/cam-pb1-a?t={}&stream=sub", ep.token));
        assert_eq!(body2, body);
        assert!(again.elapsed() < Duration::from_millis(500), "reused: {:?}", again.elapsed());
        assert_eq!(fetch(&ep.base_url, "/still/cam-pb1-a?t=wrong").0, 403);
        assert_eq!(fetch(&ep.base_url, &format!("/still/cam-nowhere?t={}", ep.token)).0, 404);
        assert_eq!(fetch(&ep.base_url, &format!("/still/cam-pb1-a?t={}&stream=x", ep.token)).0, 400);
    })
    .await
    .unwrap();
    // A camera that is away: a clear refusal, not a hang.
    sim.drop_camera("cam-pb1-b", DropMode::Disconnect).unwrap();
    let ep = server.endpoint().clone();
    tokio::task::spawn_blocking(move || {
        let (status, _, body) = fetch(&ep.base_url, &format!("/still/cam-pb1-b?t={}", ep.token));
        assert_eq!(status, 504);
        assert!(
            String::from_utf8_lossy(&body).contains("无法从摄像机"),
            "{}",
            String::from_utf8_lossy(&body)
        );
    })
    .await
    .unwrap();
}
