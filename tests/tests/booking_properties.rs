//! Property: whatever sequence of bookings, moves and cancellations is asked for, no two
//! bookings that hold the same room ever overlap (set-up and clean-up buffers included). The
//! accepted bookings are read back from the database and checked pairwise by a separate oracle.

use proptest::prelude::*;
use venue_desk::auth::Caller;
use venue_desk::bookings::views::*;
use venue_desk::domain::booking::{BookingState, Purpose};
use venue_desk::domain::operator::Role;
use venue_desk::domain::project::TradingCategory;
use venue_desk_tests::fixture::{Venue, username};

#[derive(Debug, Clone)]
enum Op {
    Book { room: usize, day: u32, start_q: u32, len_q: u32, setup_min: u32, cleanup_min: u32 },
    Move { nth: usize, room: usize, day: u32, start_q: u32, len_q: u32 },
    Cancel { nth: usize },
}

const ROOMS: [&str; 2] = ["kb-1", "kb-2"];

fn op() -> impl Strategy<Value = Op> {
    // Quarter hours within two days, so collisions are frequent.
    prop_oneof![
        4 => (0..2usize, 0..2u32, 0..80u32, 1..16u32, 0..4u32, 0..4u32).prop_map(|(room, day, start_q, len_q, s, c)| Op::Book {
            room, day, start_q, len_q, setup_min: s * 15, cleanup_min: c * 15 }),
        2 => (0..32usize, 0..2usize, 0..2u32, 0..80u32, 1..16u32).prop_map(|(nth, room, day, start_q, len_q)| Op::Move { nth, room, day, start_q, len_q }),
        1 => (0..32usize).prop_map(|nth| Op::Cancel { nth }),
    ]
}

fn local(day: u32, quarter: u32) -> String {
    let minutes = 6 * 60 + quarter * 15;
    format!("2026-12-{:02}T{:02}:{:02}", 1 + day + minutes / (24 * 60), (minutes / 60) % 24, minutes % 60)
}

fn minutes_of(s: &str) -> i64 {
    // "2026-12-DDTHH:MM" → minutes since 2026-12-01 00:00 (venue time).
    let d: i64 = s[8..10].parse().unwrap();
    let h: i64 = s[11..13].parse().unwrap();
    let m: i64 = s[14..16].parse().unwrap();
    (d - 1) * 1440 + h * 60 + m
}

async fn run(ops: Vec<Op>) {
    let v = Venue::open().await;
    let b = &v.services.bookings;
    let caller = Caller { operator_id: 4, username: username(Role::VenueManager), role: Role::VenueManager };
    let project = b
        .save_project(
            &caller,
            &ProjectInput {
                id: None,
                version: None,
                tender_project_code: "E3101000001202612001".into(),
                name: "性质测试".into(),
                category: TradingCategory::GovernmentProcurement,
                bid_section_codes: vec![],
                tenderer_name: "测试".into(),
                tenderer_credit_code: "91350100M000100Y43".into(),
                agency_name: None,
                agency_credit_code: None,
                responsible_staff: "测试".into(),
            },
        )
        .await
        .unwrap();
    let mut made: Vec<BookingView> = Vec::new();
    for op in ops {
        match op {
            Op::Book { room, day, start_q, len_q, setup_min, cleanup_min } => {
                let input = BookingInput {
                    room_id: ROOMS[room].into(),
                    project_id: project.id,
                    bid_section_codes: vec![],
                    purpose: Purpose::BidOpening,
                    start: local(day, start_q),
                    end: local(day, start_q + len_q),
                    setup_min,
                    cleanup_min,
                    expected_participants: 1,
                    expected_experts: 0,
                    overnight: false,
                    days: 1,
                    notes: String::new(),
                    confirm: true,
                };
                if let Ok(mut v) = b.create(&caller, &input).await {
                    made.append(&mut v);
                }
            }
            Op::Move { nth, room, day, start_q, len_q } if !made.is_empty() => {
                let i = nth % made.len();
                let current = made[i].clone();
                let input = BookingChangeInput {
                    id: current.id,
                    version: current.version,
                    room_id: ROOMS[room].into(),
                    start: local(day, start_q),
                    end: local(day, start_q + len_q),
                    reason: "性质测试".into(),
                };
                if let Ok(moved) = b.change(&caller, &input).await {
                    made[i] = moved;
                }
            }
            Op::Cancel { nth } if !made.is_empty() => {
                let i = nth % made.len();
                let c = made[i].clone();
                if let Ok(cancelled) =
                    b.set_state(&caller, c.id, c.version, BookingState::Cancelled, "性质测试").await
                {
                    made[i] = cancelled;
                }
            }
            _ => {}
        }
    }
    let all = b.list(&BookingFilter::default()).await.unwrap();
    let held: Vec<&BookingView> = all.iter().filter(|x| x.state != BookingState::Cancelled).collect();
    for (i, x) in held.iter().enumerate() {
        for y in &held[i + 1..] {
            if x.room_id != y.room_id {
                continue;
            }
            let xs = (minutes_of(&x.start) - x.setup_min as i64, minutes_of(&x.end) + x.cleanup_min as i64);
            let ys = (minutes_of(&y.start) - y.setup_min as i64, minutes_of(&y.end) + y.cleanup_min as i64);
            assert!(
                xs.1 <= ys.0 || ys.1 <= xs.0,
                "accepted overlap in {}: #{} {xs:?} and #{} {ys:?}",
                x.room_id,
                x.id,
                y.id
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn no_accepted_bookings_overlap(ops in proptest::collection::vec(op(), 1..40)) {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(run(ops));
    }
}
