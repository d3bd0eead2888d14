//! The demo venue's check-in devices as simulators on ports chosen at run time: the entrance and
//! first evaluation room controllers (ISAPI) and locker bank A (lock board over TCP), plus a
//! session in that room with a roster, for scenario tests, end-to-end tests and the benchmark.

use std::net::SocketAddr;

use venue_desk::Services;
use venue_desk::auth::Caller;
use venue_desk::bookings::views::{BookingInput, ProjectInput};
use venue_desk::checkin::views::RosterFormat;
use venue_desk::config::VenueConfig;
use venue_desk::domain::booking::Purpose;
use venue_desk::domain::operator::Role;
use venue_desk::domain::project::TradingCategory;
use venue_desk::sim::isapi::{IsapiSim, IsapiSimConfig, IsapiSimHandle};
use venue_desk::sim::lockboard::{LockBoardSim, LockBoardSimHandle, SimBoardConfig};

pub const DEVICE_PASSWORD: &str = "sim-Pass-2026";
pub const ENTRANCE: &str = "door-entrance";
pub const ROOM_DOOR: &str = "door-pb1";
pub const BANK: &str = "lockers-a";

/// Fictional experts with valid ID numbers (GB 11643).
pub const EXPERTS: [(&str, &str); 5] = [
    ("王建国", "11010519700307123X"),
    ("李秀英", "110102197511222349"),
    ("陈志强", "320106198005143452"),
    ("刘芳", "440304196810094565"),
    ("周明", "350102198212315675"),
];
/// On no roster: for "not found" and substitutes.
pub const OUTSIDER: &str = "110108196502186781";

pub struct SimVenue {
    pub entrance: IsapiSimHandle,
    pub room_door: IsapiSimHandle,
    pub lockers: LockBoardSimHandle,
    /// The other controllers of the demo venue, so nothing points at a fixed port.
    pub others: Vec<(String, IsapiSimHandle)>,
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn controller(name: &str) -> IsapiSimHandle {
    IsapiSim::start(
        loopback(),
        IsapiSimConfig {
            username: "admin".into(),
            password: DEVICE_PASSWORD.into(),
            device_name: name.into(),
            serial_number: format!("SIM-{name}"),
            doors: 1,
            heartbeat_ms: 1000,
        },
    )
    .unwrap()
}

/// The simulated expert closes an opened locker after this long.
pub const AUTO_CLOSE_MS: u64 = 1500;

impl SimVenue {
    pub fn start() -> SimVenue {
        let lockers = LockBoardSim::start_tcp(loopback(), vec![SimBoardConfig::new(1, 24)]).unwrap();
        lockers.set_auto_close_ms(Some(AUTO_CLOSE_MS));
        SimVenue {
            entrance: controller(ENTRANCE),
            room_door: controller(ROOM_DOOR),
            lockers,
            others: ["door-pb2", "door-gy1"].iter().map(|n| (n.to_string(), controller(n))).collect(),
        }
    }

    /// Points the venue's devices at the simulators, under a venue code of its own so keyring
    /// entries of parallel tests never meet.
    pub fn patch(&self, c: &mut VenueConfig) {
        c.code = format!("T-{}", &uuid_like());
        for d in &mut c.devices {
            let addr = match d.id.as_str() {
                ENTRANCE => self.entrance.addr(),
                ROOM_DOOR => self.room_door.addr(),
                BANK => self.lockers.addr().unwrap(),
                other => match self.others.iter().find(|(n, _)| n == other) {
                    Some((_, h)) => h.addr(),
                    None => continue,
                },
            };
            d.address = addr.to_string();
        }
        c.checkin.locker_close_timeout_seconds = 5;
    }

    /// Stores the simulators' password in the keyring, as an administrator would.
    pub fn enrol_passwords(&self, s: &Services) {
        for id in [ENTRANCE, ROOM_DOOR, "door-pb2", "door-gy1"] {
            s.fleet.set_password(id, DEVICE_PASSWORD).unwrap();
        }
    }
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{:x}{:x}", n, std::process::id())
}

pub fn manager() -> Caller {
    Caller { operator_id: 4, username: "op.venue-manager".into(), role: Role::VenueManager }
}

pub fn supervisor() -> Caller {
    Caller { operator_id: 3, username: "op.supervisor".into(), role: Role::Supervisor }
}

pub fn front_desk() -> Caller {
    Caller { operator_id: 2, username: "op.front-desk".into(), role: Role::FrontDesk }
}

/// An evaluation in pb-1 from `start` to `end` (venue local `YYYY-MM-DDTHH:MM`) with `EXPERTS` as its
/// roster. Returns the booking id.
pub async fn evaluation_with_roster(s: &Services, code: &str, start: &str, end: &str) -> i64 {
    let project = s
        .bookings
        .save_project(
            &manager(),
            &ProjectInput {
                id: None,
                version: None,
                tender_project_code: code.into(),
                name: "示范市滨江路排水管网改造工程".into(),
                category: TradingCategory::Construction,
                bid_section_codes: vec!["001".into()],
                tenderer_name: "示范市市政工程管理处".into(),
                tenderer_credit_code: "91350100M000100Y43".into(),
                agency_name: None,
                agency_credit_code: None,
                responsible_staff: "李娜".into(),
            },
        )
        .await
        .unwrap();
    let booking = s
        .bookings
        .create(
            &manager(),
            &BookingInput {
                room_id: "pb-1".into(),
                project_id: project.id,
                bid_section_codes: vec!["001".into()],
                purpose: Purpose::Evaluation,
                start: start.into(),
                end: end.into(),
                setup_min: 0,
                cleanup_min: 0,
                expected_participants: 0,
                expected_experts: 5,
                overnight: false,
                days: 1,
                notes: String::new(),
                confirm: true,
            },
        )
        .await
        .unwrap()[0]
        .id;
    let mut csv = String::from("name,id_number,expert_type,is_chair\n");
    for (i, (name, id)) in EXPERTS.iter().enumerate() {
        csv.push_str(&format!("{name},{id},技术专家,{}\n", u8::from(i == 0)));
    }
    let report = s.checkins.import_roster(&supervisor(), booking, RosterFormat::Csv, &csv).await.unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    booking
}

/// A valid ID number (GB 11643 check character) for the `seq`-th generated expert.
pub fn generated_id(seq: u32) -> String {
    let body = format!("3201061980{:02}{:02}{:03}", 1 + seq / 28 % 12, 1 + seq % 28, seq % 1000);
    venue_desk::domain::expert::with_check_character(&body).expect("17 digits")
}

/// A roster of `n` generated experts, as CSV.
pub fn generated_roster(n: u32) -> String {
    let mut csv = String::from("name,id_number,expert_type,is_chair\n");
    for i in 0..n {
        csv.push_str(&format!("专家{i},{},技术专家,0\n", generated_id(i)));
    }
    csv
}
