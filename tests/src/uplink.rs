//! What the sync tests share: a backlog to send, draining it, and checking what the reference
//! receiver holds.

use std::time::{Duration, Instant};

use venue_desk::Services;
use venue_desk::auth::Caller;
use venue_desk::domain::operator::Role;
use venue_desk::journal::{Actor, Entry, EventKind, Outcome};
use venue_desk::sim::receiver::Receiver;
use venue_desk::sync::Step;

/// The administrator the fixture creates first.
pub fn admin() -> Caller {
    Caller {
        operator_id: 1,
        username: crate::fixture::username(Role::Administrator),
        role: Role::Administrator,
    }
}

/// A venue code of its own per test: the OS keyring is shared by every test process.
pub fn unique_venue_code(tag: &str) -> String {
    format!("T{}-{}", tag, std::process::id())
}

/// `n` door events journaled (and queued upward) in batches, as a day offline leaves them.
pub async fn write_door_events(s: &Services, n: usize) {
    for start in (0..n).step_by(5000) {
        let entries: Vec<Entry> = (start..(start + 5000).min(n))
            .map(|i| {
                Entry::new(
                    Actor::device("door-pb1"),
                    EventKind::DoorEvent,
                    format!("door-pb1#{i}"),
                    Outcome::Ok,
                )
                .with_detail(serde_json::json!({"serialNo": i, "major": 5, "minor": 75}))
            })
            .collect();
        let mut w = s.store.begin_write().await.unwrap();
        s.journal.append_in(&mut w, &entries).await.unwrap();
        w.commit().await.unwrap();
    }
}

/// Every outbox event id, in sequence order.
pub async fn outbox_ids(s: &Services) -> Vec<String> {
    sqlx::query_as::<_, (String,)>("SELECT event_id FROM outbox ORDER BY seq")
        .fetch_all(s.store.pool())
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.0)
        .collect()
}

/// Steps the sender until nothing is pending, skipping any backoff (the tests decide when to retry).
pub async fn drain(s: &Services) {
    let started = Instant::now();
    loop {
        match s.uplink.step().await.unwrap() {
            Step::Empty => return,
            Step::Sent { .. } => {}
            other => {
                assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "not drained: {other:?} {:?}",
                    s.uplink.status().await.unwrap()
                );
                s.uplink.retry_now();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// The receiver holds exactly the `expected` events, once each, in order, with no gap in the
/// sequence and no break in the journal chain.
pub fn assert_exactly_once_in_order(r: &Receiver, expected: &[String]) {
    let got: Vec<String> = r.accepted().into_iter().map(|e| e.event_id).collect();
    assert_eq!(
        got.len(),
        expected.len(),
        "the receiver holds {} events, the outbox {}",
        got.len(),
        expected.len()
    );
    assert_eq!(got, expected, "events arrived out of order or differ");
    let stats = r.stats();
    assert!(stats.seq_gaps.is_empty(), "gaps: {:?}", stats.seq_gaps);
    assert!(stats.chain_breaks.is_empty(), "chain breaks: {:?}", stats.chain_breaks);
}
