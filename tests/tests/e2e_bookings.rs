//! 场地安排 in the real app: a venue manager sees the day's bookings at a glance, books a room,
//! is refused a conflicting booking with the booking in the way named, and moves a booking with a
//! reason that shows in its history. Screenshots in test-artifacts/e2e/bookings/.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use venue_desk::auth::Caller;
use venue_desk::bookings::views::{BookingInput, ProjectInput};
use venue_desk::clock::SystemClock;
use venue_desk::domain::booking::Purpose;
use venue_desk::domain::operator::Role;
use venue_desk::domain::project::TradingCategory;
use venue_desk_tests::e2e::{RunningApp, Workstation, seed_operators};
use venue_desk_tests::webdriver::ENTER;

const T: Duration = Duration::from_secs(20);
const MANAGER: &str = "changdi01";
const PASSWORD: &str = "Changdi-2026-a";

/// The venue as it stands on a busy morning: operators, four projects, a dozen bookings today.
/// Written through the services into the workstation's database before the app starts.
fn seed(ws: &Workstation) -> String {
    let today = Utc::now().with_timezone(&chrono_tz::Asia::Shanghai).format("%Y-%m-%d").to_string();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let day = today.clone();
    rt.block_on(async move {
        let s = venue_desk::Services::open(venue_desk::config::demo(&ws.data_dir()), Arc::new(SystemClock))
            .await
            .unwrap();
        seed_operators(&s, &[(MANAGER, "场地管理员张伟", Role::VenueManager, PASSWORD)]).await;
        let caller = Caller { operator_id: 2, username: MANAGER.into(), role: Role::VenueManager };
        let projects = [
            ("E3101000001202611001", "示范市第一中学教学楼改造工程", TradingCategory::Construction),
            ("E3101000001202611002", "示范市人民医院医疗设备采购", TradingCategory::GovernmentProcurement),
            ("E3101000001202611003", "城东地块国有建设用地使用权出让", TradingCategory::LandUseRights),
            ("E3101000001202611004", "市政道路养护服务项目", TradingCategory::GovernmentProcurement),
        ];
        let mut ids = Vec::new();
        for (code, name, category) in projects {
            let p = s
                .bookings
                .save_project(
                    &caller,
                    &ProjectInput {
                        id: None,
                        version: None,
                        tender_project_code: code.into(),
                        name: name.into(),
                        category,
                        bid_section_codes: vec!["001".into(), "002".into()],
                        tenderer_name: "示范市公共事业管理局".into(),
                        tenderer_credit_code: "91350100M000100Y43".into(),
                        agency_name: None,
                        agency_credit_code: None,
                        responsible_staff: "李娜".into(),
                    },
                )
                .await
                .unwrap();
            ids.push(p.id);
        }
        let plan: [(&str, usize, Purpose, &str, &str, bool); 12] = [
            ("kb-1", 0, Purpose::BidOpening, "08:30", "09:30", true),
            ("kb-1", 1, Purpose::BidOpening, "10:30", "11:30", true),
            ("kb-1", 3, Purpose::BidOpening, "14:00", "15:00", false),
            ("kb-2", 2, Purpose::BidOpening, "09:00", "10:00", true),
            ("kb-2", 3, Purpose::BidOpening, "15:00", "16:00", true),
            ("pb-1", 0, Purpose::Evaluation, "10:00", "17:00", true),
            ("pb-2", 1, Purpose::Evaluation, "12:00", "18:00", true),
            ("gy-1", 2, Purpose::Evaluation, "09:00", "20:00", true),
            ("tp-1", 3, Purpose::Negotiation, "09:00", "11:00", true),
            ("tp-1", 1, Purpose::Negotiation, "13:30", "15:30", false),
            ("pm-1", 2, Purpose::Auction, "09:30", "11:30", true),
            ("pm-1", 2, Purpose::Auction, "14:30", "16:00", true),
        ];
        for (room, p, purpose, start, end, confirm) in plan {
            let input = BookingInput {
                room_id: room.into(),
                project_id: ids[p],
                bid_section_codes: vec!["001".into()],
                purpose,
                start: format!("{day}T{start}"),
                end: format!("{day}T{end}"),
                setup_min: 30,
                cleanup_min: 15,
                expected_participants: 6,
                expected_experts: if purpose == Purpose::Evaluation { 5 } else { 0 },
                overnight: false,
                days: 1,
                notes: String::new(),
                confirm,
            };
            s.bookings.create(&caller, &input).await.unwrap();
        }
        s.store.close().await;
    });
    today
}

#[test]
fn a_venue_manager_books_a_room_and_is_told_about_conflicts() {
    let ws = Workstation::new();
    let today = seed(&ws);
    let app = RunningApp::launch(&ws, "bookings");
    let s = &app.session;

    s.wait("[data-testid=login-username]", Duration::from_secs(60)).unwrap();
    s.fill("[data-testid=login-username]", MANAGER).unwrap();
    s.fill("[data-testid=login-password]", &format!("{PASSWORD}{ENTER}")).unwrap();
    s.wait("[data-testid=home-venue_manager]", T).unwrap();

    // The day at a glance: a dozen bookings across the venue.
    s.click("[data-testid=nav-calendar]").unwrap();
    s.wait("[data-testid=calendar]", T).unwrap();
    s.wait("[data-testid=booking-block-12]", T).unwrap();
    let blocks =
        s.execute("return document.querySelectorAll('[data-testid^=booking-block-]').length").unwrap();
    assert!(blocks.as_u64().unwrap_or(0) >= 12, "{blocks} blocks on the day view");
    app.shot("01-day-view");

    // Book 第二评标室 in the evening, after booking #7 (12:00–18:00, 15 min clean-up) and this
    // booking's own 30 min set-up.
    book(s, "pb-2", &format!("{today} 19:00"), &format!("{today} 20:30"));
    s.wait("[data-testid=booking-block-13]", T).unwrap();
    app.shot("02-booked");

    // The same room overlapping booking #7 (12:00–18:00 plus buffers) is refused, naming #7.
    book(s, "pb-2", &format!("{today} 16:00"), &format!("{today} 17:00"));
    let msg = s.wait_text("[data-testid=booking-error]", "#7", T).unwrap();
    assert!(msg.contains("E3101000001202611002"), "{msg}");
    app.shot("03-conflict-refused");
    s.execute("document.querySelector('[data-testid=booking-dialog-cancel]')?.click()").unwrap();

    // Move booking #13 an hour later, with a reason; the history shows it.
    s.click("[data-testid=booking-block-13]").unwrap();
    s.wait("[data-testid=booking-drawer]", T).unwrap();
    s.click("[data-testid=booking-change]").unwrap();
    s.fill("[data-testid=booking-change-start]", &format!("{today} 20:00{ENTER}")).unwrap();
    s.fill("[data-testid=booking-change-end]", &format!("{today} 21:30{ENTER}")).unwrap();
    s.fill("[data-testid=booking-change-reason]", "专家组要求推迟一小时").unwrap();
    s.click("[data-testid=booking-change-submit]").unwrap();
    s.wait_text("[data-testid=booking-history]", "专家组要求推迟一小时", T).unwrap();
    app.shot("04-history");
    s.execute("document.querySelector('.el-drawer__close-btn')?.click()").unwrap();

    // This month's occupancy, as charts, exported to CSV in the exports directory.
    s.click("[data-testid=nav-statistics]").unwrap();
    s.wait("[data-testid=statistics-occupancy-chart] canvas", T).unwrap();
    s.wait("[data-testid=statistics-kind-chart] canvas", T).unwrap();
    s.click("[data-testid=statistics-export]").unwrap();
    let exported = s.wait_text("[data-testid=statistics-exported]", ".csv", T).unwrap();
    assert!(exported.contains(ws.data_dir().join("exports").to_str().unwrap()), "{exported}");
    app.shot("05-statistics");

    s.click("[data-testid=nav-projects]").unwrap();
    s.wait("[data-testid=project-row-E3101000001202611004]", T).unwrap();
    app.shot("06-projects");
}

/// Opens the new-booking dialog and books `room` for the first seeded project's evaluation.
fn book(s: &venue_desk_tests::webdriver::Session, room: &str, start: &str, end: &str) {
    s.click("[data-testid=booking-new]").unwrap();
    s.choose("[data-testid=booking-room]", &format!("[data-testid=booking-room-option-{room}]")).unwrap();
    s.choose("[data-testid=booking-project]", "[data-testid=booking-project-option-E3101000001202611002]")
        .unwrap();
    s.click("[data-testid=booking-purpose-evaluation]").unwrap();
    s.fill("[data-testid=booking-start]", &format!("{start}{ENTER}")).unwrap();
    s.fill("[data-testid=booking-end]", &format!("{end}{ENTER}")).unwrap();
    s.click("[data-testid=booking-submit]").unwrap();
}
