//! 演示数据 — today's training session for the demo venue: a project, an evaluation in the first
//! evaluation room running now, and its roster (assets/demo/roster.csv, fictional experts with
//! valid ID numbers), so a new user can check an expert in against `venue-sim` straight away.

use chrono::{Duration, Timelike};

use crate::auth::Caller;
use crate::bookings::views::{BookingInput, ProjectInput};
use crate::checkin::views::RosterFormat;
use crate::domain::booking::Purpose;
use crate::domain::operator::Role;
use crate::domain::project::TradingCategory;
use crate::error::{Error, Result};
use crate::{DEMO_VENUE_CODE, Services};

pub const DEMO_ROSTER_CSV: &str = include_str!("../../assets/demo/roster.csv");
pub const DEMO_PROJECT_CODE: &str = "E3101000001202611088";
pub const DEMO_ROOM: &str = "pb-1";

/// Creates today's demo session and roster unless they exist. Returns the session's booking id.
pub async fn seed_today(s: &Services) -> Result<i64> {
    if s.config.code != DEMO_VENUE_CODE {
        return Err(Error::precondition(
            "演示数据只能写入内置演示场所（venue.code = DEMO-01），以免混入正式数据。",
            "Demo data goes only into the built-in demo venue (venue.code = DEMO-01), never into a real one.",
        ));
    }
    let seeder = Caller { operator_id: 0, username: "demo-seed".into(), role: Role::VenueManager };
    let tz = s.config.time_zone;
    let now = s.clock.now().with_timezone(&tz);
    let today = now.format("%Y-%m-%d").to_string();
    let existing = s.bookings.sessions(&today, &today).await?;
    if let Some(b) = existing.iter().find(|b| b.tender_project_code == DEMO_PROJECT_CODE) {
        return Ok(b.booking_id);
    }
    let project = match s.bookings.projects(Some(DEMO_PROJECT_CODE)).await?.into_iter().next() {
        Some(p) => p,
        None => {
            s.bookings
                .save_project(
                    &seeder,
                    &ProjectInput {
                        id: None,
                        version: None,
                        tender_project_code: DEMO_PROJECT_CODE.into(),
                        name: "示范市滨江路排水管网改造工程（演示）".into(),
                        category: TradingCategory::Construction,
                        bid_section_codes: vec!["001".into()],
                        tenderer_name: "示范市市政工程管理处".into(),
                        tenderer_credit_code: "91350100M000100Y43".into(),
                        agency_name: None,
                        agency_credit_code: None,
                        responsible_staff: "演示".into(),
                    },
                )
                .await?
        }
    };
    // Started an hour ago (so check-in is open and arrivals count as late) and running for six hours.
    let start = (now - Duration::hours(1)).with_minute(0).and_then(|t| t.with_second(0)).unwrap_or(now);
    let end = start + Duration::hours(6);
    let fmt = |t: chrono::DateTime<chrono_tz::Tz>| t.format("%Y-%m-%dT%H:%M").to_string();
    let created = s
        .bookings
        .create(
            &seeder,
            &BookingInput {
                room_id: DEMO_ROOM.into(),
                project_id: project.id,
                bid_section_codes: vec!["001".into()],
                purpose: Purpose::Evaluation,
                start: fmt(start),
                end: fmt(end),
                setup_min: 0,
                cleanup_min: 0,
                expected_participants: 0,
                expected_experts: 5,
                overnight: false,
                days: 1,
                notes: "演示场次".into(),
                confirm: true,
            },
        )
        .await?;
    let booking_id =
        created.first().map(|b| b.id).ok_or_else(|| Error::internal("demo booking not created"))?;
    let supervisor = Caller { operator_id: 0, username: "demo-seed".into(), role: Role::Supervisor };
    let report =
        s.checkins.import_roster(&supervisor, booking_id, RosterFormat::Csv, DEMO_ROSTER_CSV).await?;
    if !report.errors.is_empty() {
        return Err(Error::internal(format!("demo roster rejected: {:?}", report.errors)));
    }
    Ok(booking_id)
}
