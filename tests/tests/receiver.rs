//! The reference receiver alone, over real sockets: what it accepts, what it refuses and with which
//! code, its pulls, and each injected misbehaviour. The sync client's own tests then rely on it.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use venue_desk::journal::hash_of;
use venue_desk::sim::receiver::{DEMO_APP_SECRET, Mode, Receiver, ReceiverConfig};
use venue_desk::store::journal::JournalRow;
use venue_desk::sync::signing::{self, HEADER_APP_KEY, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP};
use venue_desk::sync::wire::{
    BookingPage, ErrorReply, EventBatch, EventsReply, JournalRecord, MAX_BODY_BYTES, MAX_EVENTS_PER_BATCH,
    PlatformAction, PlatformBooking, PlatformExpert, PlatformProject, PlatformSession, RosterReply,
    SessionList, WireEvent,
};
use venue_desk_tests::e2e::{VenueSimProcess, free_port};

const VENUE: &str = "DEMO-01";
const APP_KEY: &str = "venue-desk-test";
const SECRET: &[u8] = b"receiver-test-secret";
const ZERO_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn start() -> Receiver {
    Receiver::start("127.0.0.1:0", ReceiverConfig::new(VENUE, APP_KEY, SECRET)).unwrap()
}

fn agent(timeout: Option<Duration>) -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).timeout_global(timeout).build().into()
}

struct Answer {
    status: u16,
    retry_after: Option<String>,
    body: String,
}

impl Answer {
    fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {} {}", self.status, self.body))
    }

    fn error_code(&self) -> String {
        self.json::<ErrorReply>().code
    }
}

/// Signs like the real client: path and query as sent, Unix seconds, a fresh nonce.
struct Client {
    agent: ureq::Agent,
    base: String,
    app_key: String,
    secret: Vec<u8>,
    /// Added to the system clock when signing, to match a receiver whose clock is offset.
    clock_offset_s: i64,
}

impl Client {
    fn new(r: &Receiver) -> Client {
        Client {
            agent: agent(Some(Duration::from_secs(10))),
            base: r.base_url(),
            app_key: APP_KEY.into(),
            secret: SECRET.to_vec(),
            clock_offset_s: 0,
        }
    }

    fn signed_headers(&self, method: &str, path: &str, body: &[u8]) -> Vec<(&'static str, String)> {
        let ts = chrono::Utc::now().timestamp() + self.clock_offset_s;
        let nonce = signing::new_nonce();
        let sig = signing::signature(&self.secret, method, path, ts, &nonce, body);
        vec![
            (HEADER_APP_KEY, self.app_key.clone()),
            (HEADER_TIMESTAMP, ts.to_string()),
            (HEADER_NONCE, nonce),
            (HEADER_SIGNATURE, sig),
        ]
    }

    fn try_send(&self, method: &str, path: &str, body: &[u8]) -> Result<Answer, ureq::Error> {
        let headers = self.signed_headers(method, path, body);
        send_raw(&self.agent, method, &format!("{}{path}", self.base), &headers, body)
    }

    fn send(&self, method: &str, path: &str, body: &[u8]) -> Answer {
        self.try_send(method, path, body).unwrap()
    }

    fn post_events(&self, events: &[WireEvent]) -> Answer {
        let body = serde_json::to_vec(&EventBatch { events: events.to_vec() }).unwrap();
        self.send("POST", &events_path(), &body)
    }

    fn get(&self, path: &str) -> Answer {
        self.send("GET", path, b"")
    }
}

fn send_raw(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Result<Answer, ureq::Error> {
    let mut response = if method == "GET" {
        let mut req = agent.get(url);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        req.call()?
    } else {
        let mut req = agent.post(url);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        req.send(body)?
    };
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
    let body = response.body_mut().read_to_string()?;
    Ok(Answer { status, retry_after, body })
}

fn events_path() -> String {
    format!("/api/v1/venues/{VENUE}/events")
}

fn uuid() -> String {
    static N: AtomicU64 = AtomicU64::new(1);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        t as u32,
        (t >> 32) as u16,
        n >> 12 & 0xfff,
        n & 0xfff,
        n
    )
}

/// The venue's journal as the client would send it: each event carries its record and its link.
struct Chain {
    journal_seq: i64,
    event_seq: i64,
    prev_hash: String,
}

impl Chain {
    fn new() -> Chain {
        Chain { journal_seq: 0, event_seq: 0, prev_hash: ZERO_HASH.into() }
    }

    fn next(&mut self, event_type: &str) -> WireEvent {
        self.journal_seq += 1;
        self.event_seq += 1;
        let at = chrono::DateTime::from_timestamp_millis(1_795_392_600_000 + self.journal_seq * 1000)
            .unwrap()
            .with_timezone(&chrono_tz::Asia::Shanghai);
        let detail =
            json!({"roomId": "pb-1", "employeeNo": format!("vd-{}", self.journal_seq), "late": false});
        let row = JournalRow {
            seq: self.journal_seq,
            recorded_at: at.to_rfc3339(),
            recorded_at_ms: at.timestamp_millis(),
            actor: "device:door-entrance".into(),
            actor_role: None,
            kind: "checkin.checked_in".into(),
            subject: "110105********123X".into(),
            outcome: "ok".into(),
            detail: detail.to_string(),
            prev_hash: self.prev_hash.clone(),
            hash: String::new(),
        };
        let hash = hash_of(&row);
        // What the venue's journal puts in the outbox: the record's fields again, detail parsed.
        let payload = json!({
            "venueCode": VENUE,
            "actor": row.actor,
            "actorRole": row.actor_role,
            "subject": row.subject,
            "outcome": row.outcome,
            "detail": detail,
        });
        let e = WireEvent {
            event_id: uuid(),
            seq: self.event_seq,
            event_type: event_type.into(),
            occurred_at: row.recorded_at.clone(),
            prev_hash: row.prev_hash.clone(),
            hash: hash.clone(),
            record: JournalRecord {
                seq: row.seq,
                recorded_at: row.recorded_at,
                recorded_at_ms: row.recorded_at_ms,
                actor: row.actor,
                actor_role: row.actor_role,
                kind: row.kind,
                subject: row.subject,
                outcome: row.outcome,
                detail: row.detail,
            },
            payload,
        };
        self.prev_hash = hash;
        e
    }
}

fn ids(events: &[WireEvent]) -> Vec<String> {
    events.iter().map(|e| e.event_id.clone()).collect()
}

#[test]
fn events_are_accepted_once_and_resends_are_duplicates() {
    let r = start();
    let c = Client::new(&r);
    let mut chain = Chain::new();
    let first: Vec<WireEvent> = (0..3).map(|_| chain.next("EXPERT_CHECK_IN")).collect();
    let a = c.post_events(&first);
    assert_eq!(a.status, 200, "{}", a.body);
    let reply: EventsReply = a.json();
    assert_eq!(reply, EventsReply { accepted: ids(&first), duplicates: vec![], rejected: vec![] });

    // A resend after a lost answer, with one new event behind it.
    let mut again = first.clone();
    again.push(chain.next("EXPERT_CHECK_OUT"));
    let reply: EventsReply = c.post_events(&again).json();
    assert_eq!(reply.duplicates, ids(&first));
    assert_eq!(reply.accepted, vec![again[3].event_id.clone()]);
    assert!(reply.rejected.is_empty());

    assert_eq!(ids(&r.accepted()), ids(&again), "each event once, in arrival order");
    let s = r.stats();
    assert_eq!((s.accepted, s.duplicates, s.rejected, s.event_posts), (4, 3, 0, 2));
    assert!(s.seq_gaps.is_empty() && s.chain_breaks.is_empty(), "{s:?}");
}

#[test]
fn invalid_events_are_rejected_one_by_one_while_the_rest_is_accepted() {
    let r = start();
    let c = Client::new(&r);
    let mut chain = Chain::new();
    let good_before = chain.next("DOOR_GRANTED");
    let mut cases: Vec<(WireEvent, &str)> = Vec::new();
    let mut bad = chain.next("DOOR_GRANTED");
    bad.event_id = "not-a-uuid".into();
    cases.push((bad, "invalid_event_id"));
    let mut bad = chain.next("DOOR_GRANTED");
    bad.seq = 0;
    cases.push((bad, "invalid_seq"));
    cases.push((chain.next("door_granted"), "unknown_type"));
    cases.push((chain.next(""), "unknown_type"));
    let mut bad = chain.next("DOOR_GRANTED");
    bad.occurred_at = "2026-11-22 08:41".into();
    cases.push((bad, "invalid_time"));
    let mut bad = chain.next("DOOR_GRANTED");
    bad.payload = json!(["not", "an", "object"]);
    cases.push((bad, "invalid_payload"));
    // History edited after hashing: the record no longer matches its hash.
    let mut bad = chain.next("DOOR_GRANTED");
    bad.record.detail = json!({"room": "pb-2", "card": "8800112233"}).to_string();
    cases.push((bad, "hash_mismatch"));
    let mut bad = chain.next("DOOR_GRANTED");
    bad.hash = "zz".repeat(32);
    cases.push((bad, "hash_mismatch"));
    // Only the first record may link to zeros.
    let mut bad = chain.next("DOOR_GRANTED");
    bad.prev_hash = ZERO_HASH.into();
    cases.push((bad, "hash_mismatch"));
    let mut bad = chain.next("DOOR_GRANTED");
    bad.occurred_at = "2026-11-22T08:41:07+08:00".into();
    cases.push((bad, "invalid_time"));
    let mut bad = chain.next("DOOR_GRANTED");
    bad.payload["detail"]["late"] = json!(true);
    cases.push((bad, "invalid_payload"));
    let mut bad = chain.next("DOOR_GRANTED");
    bad.payload["venueCode"] = json!("OTHER-02");
    cases.push((bad, "invalid_payload"));
    let mut bad = chain.next("DOOR_GRANTED");
    bad.seq = good_before.seq;
    cases.push((bad, "invalid_seq"));
    let good_after = chain.next("DOOR_GRANTED");

    let mut batch = vec![good_before.clone()];
    batch.extend(cases.iter().map(|(e, _)| e.clone()));
    batch.push(good_after.clone());
    let reply: EventsReply = c.post_events(&batch).json();
    assert_eq!(reply.accepted, vec![good_before.event_id.clone(), good_after.event_id.clone()]);
    assert!(reply.duplicates.is_empty());
    let got: Vec<(String, String)> =
        reply.rejected.iter().map(|x| (x.event_id.clone(), x.code.clone())).collect();
    let want: Vec<(String, String)> =
        cases.iter().map(|(e, code)| (e.event_id.clone(), code.to_string())).collect();
    assert_eq!(got, want);
    assert!(reply.rejected.iter().all(|x| !x.reason.is_empty()));
    assert_eq!(r.stats().rejected, cases.len() as u64);

    // A type the receiver is told to refuse is parked on the client; later it is taken.
    r.reject_types(&["LOCKER_FAULT"]);
    let parked = chain.next("LOCKER_FAULT");
    let reply: EventsReply = c.post_events(std::slice::from_ref(&parked)).json();
    assert_eq!(reply.rejected.len(), 1);
    assert_eq!(reply.rejected[0].code, "invalid_payload");
    assert!(reply.rejected[0].reason.contains("LOCKER_FAULT"), "{:?}", reply.rejected);
    r.reject_types(&[]);
    let reply: EventsReply = c.post_events(std::slice::from_ref(&parked)).json();
    assert_eq!(reply.accepted, vec![parked.event_id]);
    assert_eq!(r.accepted().len(), 3);
}

#[test]
fn gaps_and_chain_breaks_are_noted_without_refusing() {
    let r = start();
    let c = Client::new(&r);
    let mut chain = Chain::new();
    let e1 = chain.next("EXPERT_CHECK_IN");
    let e2 = chain.next("EXPERT_CHECK_IN");
    let _parked = chain.next("EXPERT_CHECK_IN");
    let e4 = chain.next("EXPERT_CHECK_IN");
    // A fork: record 5 re-hashed onto a different predecessor.
    let mut fork = Chain { journal_seq: 4, event_seq: 4, prev_hash: "ab".repeat(32) };
    let e5 = fork.next("EXPERT_CHECK_IN");
    let reply: EventsReply = c.post_events(&[e1, e2, e4, e5.clone()]).json();
    assert_eq!(reply.accepted.len(), 4, "{reply:?}");
    let s = r.stats();
    assert_eq!(s.seq_gaps, vec![(3, 3)]);
    assert_eq!(s.chain_breaks, vec![5]);
}

#[test]
fn each_authentication_failure_has_its_code() {
    let r = start();
    let c = Client::new(&r);
    let path = format!("/api/v1/venues/{VENUE}/bookings");
    let url = format!("{}{path}", r.base_url());
    let good = c.signed_headers("GET", &path, b"");
    let with = |name: &str, value: Option<&str>| -> Vec<(&'static str, String)> {
        let mut h: Vec<(&'static str, String)> = good.iter().filter(|(k, _)| *k != name).cloned().collect();
        if let Some(v) = value {
            let key = good.iter().find(|(k, _)| *k == name).unwrap().0;
            h.push((key, v.to_string()));
        }
        h
    };
    let call = |headers: &[(&str, String)]| send_raw(&c.agent, "GET", &url, headers, b"").unwrap();

    let a = call(&with(HEADER_APP_KEY, Some("someone-else")));
    assert_eq!((a.status, a.error_code().as_str()), (401, "unknown_app_key"));
    for header in [HEADER_APP_KEY, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE] {
        let a = call(&with(header, None));
        assert_eq!((a.status, a.error_code().as_str()), (401, "bad_signature"), "{header}");
        assert!(a.json::<ErrorReply>().message.contains(header), "{}", a.body);
    }
    let a = call(&with(HEADER_NONCE, Some("abc")));
    assert!(a.json::<ErrorReply>().message.contains(HEADER_NONCE), "{}", a.body);
    let a = call(&with(HEADER_TIMESTAMP, Some("yesterday")));
    assert!(a.json::<ErrorReply>().message.contains(HEADER_TIMESTAMP), "{}", a.body);
    // Signed for another path, another secret, or another body.
    let a = send_raw(&c.agent, "GET", &format!("{url}?since=0"), &good, b"").unwrap();
    assert_eq!(a.error_code(), "bad_signature");
    let other = Client { secret: b"not-the-secret".to_vec(), ..Client::new(&r) };
    assert_eq!(other.get(&path).error_code(), "bad_signature");
    let headers = c.signed_headers("POST", &events_path(), br#"{"events":[]}"#);
    let a = send_raw(
        &c.agent,
        "POST",
        &format!("{}{}", r.base_url(), events_path()),
        &headers,
        br#"{"events": []}"#,
    )
    .unwrap();
    assert_eq!(a.error_code(), "bad_signature");

    // The good headers work once; the same nonce again is a replay.
    assert_eq!(call(&good).status, 200);
    let a = call(&good);
    assert_eq!((a.status, a.error_code().as_str()), (401, "replayed_nonce"));

    // Skew either way.
    for offset_s in [-301, 301] {
        let skewed = Client { clock_offset_s: offset_s, ..Client::new(&r) };
        let a = skewed.get(&path);
        assert_eq!((a.status, a.error_code().as_str()), (401, "clock_skew"), "{offset_s}");
    }
    let slightly = Client { clock_offset_s: -250, ..Client::new(&r) };
    assert_eq!(slightly.get(&path).status, 200);

    // Rotation: the old secret stops working, the new one works.
    r.set_secret(b"rotated");
    assert_eq!(c.get(&path).error_code(), "bad_signature");
    let rotated = Client { secret: b"rotated".to_vec(), ..Client::new(&r) };
    assert_eq!(rotated.get(&path).status, 200);

    let failures = r.stats().auth_failures;
    assert_eq!(failures["unknown_app_key"], 1);
    assert_eq!(failures["replayed_nonce"], 1);
    assert_eq!(failures["clock_skew"], 2);
    assert_eq!(failures["bad_signature"], 10);
    assert_eq!(r.stats().requests, 17);
}

#[test]
fn skew_is_measured_on_the_receivers_clock_and_named_in_the_message() {
    let r = start();
    r.set_clock_offset_s(3600);
    let path = format!("/api/v1/venues/{VENUE}/sessions?date=2026-11-22");
    let c = Client::new(&r);
    let a = c.get(&path);
    assert_eq!(a.error_code(), "clock_skew");
    let now_s = chrono::Utc::now().timestamp();
    let message = a.json::<ErrorReply>().message;
    // Both times, so an administrator can see which clock is wrong.
    let numbers: Vec<i64> = message
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .filter(|n| *n > 1_000_000_000)
        .collect();
    assert!(numbers.iter().any(|n| (n - now_s).abs() <= 2), "{message}");
    assert!(numbers.iter().any(|n| (n - now_s - 3600).abs() <= 2), "{message}");
    let in_step = Client { clock_offset_s: 3600, ..Client::new(&r) };
    assert_eq!(in_step.get(&path).status, 200);
}

#[test]
fn wrong_venue_and_unknown_paths_are_refused_after_authentication() {
    let r = start();
    let c = Client::new(&r);
    let a = c.get("/api/v1/venues/OTHER-02/bookings");
    assert_eq!((a.status, a.error_code().as_str()), (403, "venue_mismatch"));
    let a = c.send("POST", "/api/v1/venues/OTHER-02/events", br#"{"events":[]}"#);
    assert_eq!((a.status, a.error_code().as_str()), (403, "venue_mismatch"));
    for path in ["/api/v1/venues/DEMO-01/cameras", "/api/v2/venues/DEMO-01/events", "/"] {
        let a = c.get(path);
        assert_eq!((a.status, a.error_code().as_str()), (404, "not_found"), "{path}");
    }
    // GET on the events path is not a route either.
    assert_eq!(c.get(&events_path()).status, 404);
    // Unsigned, the same paths are a 401: nothing is revealed before authentication.
    let a = send_raw(&c.agent, "GET", &format!("{}/api/v1/venues/OTHER-02/bookings", r.base_url()), &[], b"")
        .unwrap();
    assert_eq!(a.status, 401);
}

#[test]
fn oversized_batches_get_413_and_malformed_bodies_400() {
    let r = start();
    let c = Client::new(&r);
    let mut chain = Chain::new();
    let many: Vec<WireEvent> = (0..=MAX_EVENTS_PER_BATCH).map(|_| chain.next("DOOR_GRANTED")).collect();
    let a = c.post_events(&many);
    assert_eq!((a.status, a.error_code().as_str()), (413, "batch_too_large"));
    assert!(r.accepted().is_empty());
    let a = c.post_events(&many[..MAX_EVENTS_PER_BATCH]);
    assert_eq!(a.json::<EventsReply>().accepted.len(), MAX_EVENTS_PER_BATCH);

    let mut huge = br#"{"events":[],"padding":""#.to_vec();
    huge.resize(MAX_BODY_BYTES + 10, b'x');
    huge.extend_from_slice(br#""}"#);
    let a = c.send("POST", &events_path(), &huge);
    assert_eq!((a.status, a.error_code().as_str()), (413, "batch_too_large"));
    // The connection is still usable after the refused body was read off it.
    assert_eq!(c.get(&format!("/api/v1/venues/{VENUE}/bookings")).status, 200);

    for body in [&b"not json"[..], br#"{"events":"#, br#"{"items":[]}"#, br#"{"events":[{"eventId":"x"}]}"#] {
        let a = c.send("POST", &events_path(), body);
        assert_eq!(
            (a.status, a.error_code().as_str()),
            (400, "malformed_request"),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn concurrent_resends_of_one_batch_are_accepted_once() {
    let r = start();
    let mut chain = Chain::new();
    let batch: Vec<WireEvent> = (0..50).map(|_| chain.next("EXPERT_CHECK_IN")).collect();
    let replies: Vec<EventsReply> = std::thread::scope(|s| {
        let handles: Vec<_> =
            (0..8).map(|_| s.spawn(|| Client::new(&r).post_events(&batch).json())).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let accepted: usize = replies.iter().map(|x| x.accepted.len()).sum();
    let duplicates: usize = replies.iter().map(|x| x.duplicates.len()).sum();
    assert_eq!((accepted, duplicates), (50, 350));
    assert_eq!(ids(&r.accepted()), ids(&batch));
}

fn booking(n: usize) -> PlatformBooking {
    PlatformBooking {
        platform_booking_id: format!("PB20261122{n:04}"),
        action: if n % 5 == 4 { PlatformAction::Cancel } else { PlatformAction::Request },
        project: PlatformProject {
            tender_project_code: format!("E31010000012026110{n:02}"),
            name: format!("示范市第{n}批道路维修工程"),
            category: "construction".into(),
            tenderer_name: "示范市市政工程管理处".into(),
            tenderer_credit_code: "91350100M000100Y43".into(),
            agency_name: None,
            agency_credit_code: None,
            responsible_staff: String::new(),
        },
        bid_section_codes: vec!["001".into()],
        room_id: "kb-1".into(),
        purpose: "bid_opening".into(),
        start: "2026-11-23T09:30:00+08:00".into(),
        end: "2026-11-23T11:00:00+08:00".into(),
        expected_participants: 20,
        expected_experts: 0,
        notes: String::new(),
    }
}

#[test]
fn bookings_are_paged_by_cursor_oldest_first() {
    let r = start();
    let c = Client::new(&r);
    let path = |q: &str| format!("/api/v1/venues/{VENUE}/bookings{q}");
    let page: BookingPage = c.get(&path("")).json();
    assert!(page.items.is_empty() && !page.more);
    let empty_next = page.next.clone();
    r.add_bookings((0..7).map(booking).collect());

    let mut seen = Vec::new();
    let mut cursor = empty_next;
    let mut sizes = Vec::new();
    loop {
        let page: BookingPage = c.get(&path(&format!("?since={cursor}&limit=3"))).json();
        sizes.push(page.items.len());
        seen.extend(page.items.iter().map(|b| b.platform_booking_id.clone()));
        cursor = page.next;
        if !page.more {
            break;
        }
    }
    assert_eq!(sizes, vec![3, 3, 1]);
    assert_eq!(seen, (0..7).map(|n| booking(n).platform_booking_id).collect::<Vec<_>>());
    // Nothing new: no items, the cursor stays where it is.
    let page: BookingPage = c.get(&path(&format!("?since={cursor}"))).json();
    assert!(page.items.is_empty() && !page.more);
    assert_eq!(page.next, cursor);
    // New items arrive after it.
    r.add_bookings(vec![booking(7)]);
    let page: BookingPage = c.get(&path(&format!("?since={cursor}"))).json();
    assert_eq!(page.items, vec![booking(7)]);
    // An empty `since` starts over; a page holds 500 unless asked for fewer, 1000 at most.
    let page: BookingPage = c.get(&path("?since=")).json();
    assert_eq!(page.items.len(), 8);
    r.add_bookings((8..1200).map(booking).collect());
    let page: BookingPage = c.get(&path("")).json();
    assert_eq!((page.items.len(), page.more), (500, true));
    let page: BookingPage = c.get(&path("?limit=100000")).json();
    assert_eq!((page.items.len(), page.next.as_str()), (1000, "1000"));

    for q in ["?since=abc", "?since=-1", "?since=99999", "?limit=0", "?limit=many"] {
        let a = c.get(&path(q));
        assert_eq!((a.status, a.error_code().as_str()), (400, "malformed_request"), "{q}");
    }
}

fn session(id: &str, start: &str, end: &str) -> PlatformSession {
    PlatformSession {
        session_id: id.into(),
        platform_booking_id: None,
        tender_project_code: "E3101000001202611088".into(),
        bid_section_codes: vec!["001".into()],
        room_id: "pb-1".into(),
        purpose: "evaluation".into(),
        start: start.into(),
        end: end.into(),
        has_roster: true,
    }
}

#[test]
fn sessions_are_listed_by_their_day_in_the_venues_zone() {
    let r = start();
    let c = Client::new(&r);
    r.add_session(session("s-afternoon", "2026-11-22T14:00:00+08:00", "2026-11-22T17:00:00+08:00"), None);
    r.add_session(session("s-morning", "2026-11-22T09:00:00+08:00", "2026-11-22T12:00:00+08:00"), None);
    // 23:30 UTC on the 21st is 07:30 on the 22nd in Shanghai.
    r.add_session(session("s-early", "2026-11-21T23:30:00Z", "2026-11-22T02:00:00Z"), None);
    r.add_session(session("s-next-day", "2026-11-23T09:00:00+08:00", "2026-11-23T12:00:00+08:00"), None);
    let list: SessionList = c.get(&format!("/api/v1/venues/{VENUE}/sessions?date=2026-11-22")).json();
    let got: Vec<&str> = list.items.iter().map(|s| s.session_id.as_str()).collect();
    assert_eq!(got, vec!["s-early", "s-morning", "s-afternoon"]);
    let list: SessionList = c.get(&format!("/api/v1/venues/{VENUE}/sessions?date=2026-11-24")).json();
    assert!(list.items.is_empty());
    for q in ["", "?date=", "?date=22/11/2026", "?date=2026-02-30"] {
        let a = c.get(&format!("/api/v1/venues/{VENUE}/sessions{q}"));
        assert_eq!((a.status, a.error_code().as_str()), (400, "malformed_request"), "{q}");
    }
}

#[test]
fn a_roster_is_served_only_on_its_sessions_day() {
    let r = start();
    let tz = chrono_tz::Asia::Shanghai;
    let day = |offset_days: i64| {
        let d = (chrono::Utc::now().with_timezone(&tz) + chrono::Duration::days(offset_days)).date_naive();
        (format!("{d}T09:00:00+08:00"), format!("{d}T17:00:00+08:00"))
    };
    let experts = vec![
        PlatformExpert {
            name: "张建国".into(),
            id_number: "110105196803150019".into(),
            expert_type: "技术".into(),
            is_chair: true,
        },
        PlatformExpert {
            name: "李红".into(),
            id_number: "350102197506220027".into(),
            expert_type: "经济".into(),
            is_chair: false,
        },
    ];
    let (s, e) = day(0);
    r.add_session(session("today", &s, &e), Some(experts.clone()));
    let (s, e) = day(1);
    r.add_session(session("tomorrow", &s, &e), Some(experts.clone()));
    r.add_session(session("no-roster", &day(0).0, &day(0).1), None);
    let c = Client::new(&r);
    let roster: RosterReply = c.get("/api/v1/sessions/today/roster").json();
    assert_eq!(roster, RosterReply { session_id: "today".into(), experts: experts.clone() });
    let a = c.get("/api/v1/sessions/tomorrow/roster");
    assert_eq!((a.status, a.error_code().as_str()), (403, "not_session_day"));
    let a = c.get("/api/v1/sessions/nobody/roster");
    assert_eq!((a.status, a.error_code().as_str()), (404, "not_found"));
    assert_eq!(c.get("/api/v1/sessions/no-roster/roster").status, 404);
    // Tomorrow on the receiver's clock, tomorrow's roster is served and today's is not.
    r.set_clock_offset_s(86_400);
    let c = Client { clock_offset_s: 86_400, ..Client::new(&r) };
    assert_eq!(c.get("/api/v1/sessions/tomorrow/roster").json::<RosterReply>().experts, experts);
    assert_eq!(c.get("/api/v1/sessions/today/roster").error_code(), "not_session_day");
}

#[test]
fn rate_limits_and_maintenance_answer_with_retry_after_then_recover() {
    let r = start();
    let c = Client::new(&r);
    let mut chain = Chain::new();
    let e = chain.next("GATE_ALARM");
    r.set_mode(Mode::RateLimited { retry_after_s: 7, times: 2 });
    for _ in 0..2 {
        let a = c.post_events(std::slice::from_ref(&e));
        assert_eq!(
            (a.status, a.retry_after.as_deref(), a.error_code().as_str()),
            (429, Some("7"), "rate_limited")
        );
    }
    // The pulls are not limited.
    assert_eq!(c.get(&format!("/api/v1/venues/{VENUE}/bookings")).status, 200);
    assert_eq!(c.post_events(std::slice::from_ref(&e)).json::<EventsReply>().accepted.len(), 1);
    assert_eq!(r.stats().mode, Mode::Normal);

    r.set_mode(Mode::Unavailable { retry_after_s: 120, times: 1 });
    let e2 = chain.next("GATE_ALARM");
    let a = c.post_events(std::slice::from_ref(&e2));
    assert_eq!(
        (a.status, a.retry_after.as_deref(), a.error_code().as_str()),
        (503, Some("120"), "unavailable")
    );
    assert_eq!(c.post_events(&[e2]).json::<EventsReply>().accepted.len(), 1);
    assert_eq!(r.stats().event_posts, 5);

    r.set_mode(Mode::Fail { status: 500 });
    let e3 = chain.next("GATE_ALARM");
    for _ in 0..3 {
        assert_eq!(c.post_events(std::slice::from_ref(&e3)).status, 500);
    }
    r.set_mode(Mode::Normal);
    assert_eq!(c.post_events(&[e3]).json::<EventsReply>().accepted.len(), 1);
    assert_eq!(r.accepted().len(), 3);
}

#[test]
fn a_stalled_post_blocks_nothing_else_and_is_processed_even_if_the_client_gave_up() {
    let r = start();
    let mut chain = Chain::new();
    let e = chain.next("RECORDING_SEGMENT_CLOSED");
    r.set_mode(Mode::Stall { ms: 1500 });
    let impatient = Client { agent: agent(Some(Duration::from_millis(300))), ..Client::new(&r) };
    let body = serde_json::to_vec(&EventBatch { events: vec![e.clone()] }).unwrap();
    let started = Instant::now();
    let handle =
        std::thread::spawn(move || impatient.try_send("POST", &events_path(), &body).map(|a| a.status));
    // Meanwhile the pulls answer at once.
    std::thread::sleep(Duration::from_millis(100));
    let c = Client::new(&r);
    let t = Instant::now();
    assert_eq!(c.get(&format!("/api/v1/venues/{VENUE}/bookings")).status, 200);
    assert!(t.elapsed() < Duration::from_millis(500), "{:?}", t.elapsed());
    assert!(handle.join().unwrap().is_err(), "the impatient client times out");
    assert!(started.elapsed() < Duration::from_millis(1400));
    assert!(r.accepted().is_empty());
    let until = Instant::now() + Duration::from_secs(5);
    while r.accepted().is_empty() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(ids(&r.accepted()), vec![e.event_id.clone()], "the server finished the batch anyway");

    // A patient client waits the stall out and gets its answer; the resend is a duplicate.
    r.set_mode(Mode::Stall { ms: 200 });
    let t = Instant::now();
    let reply: EventsReply = c.post_events(std::slice::from_ref(&e)).json();
    assert!(t.elapsed() >= Duration::from_millis(200));
    assert_eq!(reply.duplicates, vec![e.event_id]);
}

#[test]
fn stop_hangs_up_on_a_stalled_post_without_processing_it_and_frees_the_port() {
    let r = start();
    let addr = r.addr();
    let watcher = r.clone();
    r.set_mode(Mode::Stall { ms: 60_000 });
    let mut chain = Chain::new();
    let e = chain.next("EMERGENCY_RELEASE");
    let c = Client { agent: agent(None), ..Client::new(&r) };
    let started = Instant::now();
    let handle = std::thread::spawn(move || {
        c.try_send("POST", &events_path(), &serde_json::to_vec(&EventBatch { events: vec![e] }).unwrap())
            .map(|a| a.status)
    });
    std::thread::sleep(Duration::from_millis(300));
    r.stop();
    let outcome = handle.join().unwrap();
    assert!(outcome.is_err(), "{:?}", outcome.ok());
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(watcher.accepted().is_empty());
    assert!(std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err());
    TcpListener::bind(addr).expect("the port is free after stop");
}

#[test]
fn dropping_the_last_handle_frees_the_port() {
    let r = start();
    let addr = r.addr();
    let c = Client::new(&r);
    // A kept-alive connection in the client's pool must not hold the port either.
    assert_eq!(c.get(&format!("/api/v1/venues/{VENUE}/bookings")).status, 200);
    let clone = r.clone();
    drop(r);
    assert_eq!(c.get(&format!("/api/v1/venues/{VENUE}/bookings")).status, 200, "a clone keeps it running");
    drop(clone);
    TcpListener::bind(addr).expect("the port is free after the last drop");
}

#[test]
fn a_malformed_answer_or_a_cut_off_one_fails_the_client_but_the_batch_is_stored() {
    let r = start();
    let c = Client::new(&r);
    let mut chain = Chain::new();
    let e1 = chain.next("DOOR_FORCED");
    r.set_mode(Mode::Malformed);
    let a = c.post_events(std::slice::from_ref(&e1));
    assert_eq!(a.status, 200);
    assert!(serde_json::from_str::<Value>(&a.body).is_err(), "{}", a.body);
    assert_eq!(ids(&r.accepted()), vec![e1.event_id.clone()]);

    let e2 = chain.next("DOOR_FORCED");
    r.set_mode(Mode::CloseMidResponse);
    let body = serde_json::to_vec(&EventBatch { events: vec![e1.clone(), e2.clone()] }).unwrap();
    let outcome = c.try_send("POST", &events_path(), &body);
    assert!(outcome.is_err(), "the client sees the cut: {:?}", outcome.map(|a| a.body));
    assert_eq!(ids(&r.accepted()), vec![e1.event_id.clone(), e2.event_id.clone()]);

    // Back to normal, the client's resend is answered as duplicates.
    r.set_mode(Mode::Normal);
    let reply: EventsReply = c.post_events(&[e1.clone(), e2.clone()]).json();
    assert_eq!(reply.duplicates, vec![e1.event_id, e2.event_id]);
}

#[test]
fn venue_sim_serves_the_demo_service_system_with_requests_waiting() {
    let service = free_port();
    let mut toml =
        venue_desk::config::DEMO_VENUE_TOML.replace("127.0.0.1:18600", &format!("127.0.0.1:{service}"));
    // Every device on a port of its own, so nothing fixed is bound.
    for fixed in ["18081", "18082", "18083", "18084", "18485", "18502"] {
        toml = toml.replace(&format!("127.0.0.1:{fixed}"), &format!("127.0.0.1:{}", free_port()));
    }
    let (sim, _) = VenueSimProcess::start(&toml, &[]);
    let control_url = sim.control.clone();
    let plain = agent(Some(Duration::from_secs(5)));
    let stats: Value =
        plain.get(&format!("{control_url}/receiver/stats")).call().unwrap().body_mut().read_json().unwrap();
    assert_eq!(stats["requests"], 0, "{stats}");

    let c = Client {
        agent: agent(Some(Duration::from_secs(5))),
        base: format!("http://127.0.0.1:{service}"),
        app_key: "demo-venue".into(),
        secret: DEMO_APP_SECRET.as_bytes().to_vec(),
        clock_offset_s: 0,
    };
    let page: BookingPage = c.get(&format!("/api/v1/venues/{VENUE}/bookings")).json();
    let rooms: Vec<(&str, &str)> =
        page.items.iter().map(|b| (b.room_id.as_str(), b.purpose.as_str())).collect();
    assert_eq!(rooms, vec![("kb-2", "bid_opening"), ("pb-2", "evaluation")]);

    // Breaking the link from the control interface.
    let mut reply = plain
        .post(&format!("{control_url}/receiver/mode"))
        .send(r#"{"mode":"unavailable","retry_after_s":9,"times":1}"#)
        .unwrap();
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.body_mut().read_json::<Value>().unwrap()["mode"], "unavailable");
    let mut chain = Chain::new();
    let a = c.post_events(&[chain.next("EXPERT_CHECK_IN")]);
    assert_eq!((a.status, a.retry_after.as_deref()), (503, Some("9")));
    let bad = plain.post(&format!("{control_url}/receiver/mode")).send(r#"{"mode":"melt"}"#).unwrap();
    assert_eq!(bad.status(), 400);
    let stats: Value =
        plain.get(&format!("{control_url}/receiver/stats")).call().unwrap().body_mut().read_json().unwrap();
    assert_eq!((stats["requests"].as_u64(), stats["eventPosts"].as_u64()), (Some(2), Some(1)), "{stats}");
    assert_eq!(stats["mode"]["mode"], "normal");
}
