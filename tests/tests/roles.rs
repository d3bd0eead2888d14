//! Every command checks the caller's role in the backend. Each role-gated command is invoked
//! through Tauri's IPC layer (the mock runtime) by an operator of every role it does not allow,
//! and must answer PERMISSION_DENIED; by a role it allows, it must not. A command added without
//! an entry here fails `every_command_is_covered`.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{Value, json};
use tauri::WebviewWindowBuilder;
use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets};
use tauri::webview::InvokeRequest;
use venue_desk::commands::{AppState, MediaState, allow, specta_builder};
use venue_desk::domain::operator::Role;
use venue_desk_tests::fixture::{PASSWORD, Venue};

/// Commands anyone may call before signing in (they check nothing, or their own step).
const PUBLIC: &[&str] = &[
    "app_info",
    "set_locale",
    "ui_ready",
    "setup_first_administrator",
    // First-run set-up: open before anyone exists, closed (FAILED_PRECONDITION) after; see
    // `setup_commands_close_once_an_operator_exists`.
    "setup_status",
    "setup_check_storage",
    "setup_venue",
    "setup_restart",
    "login",
    "verify_second_factor",
    "confirm_enrolment",
    "current_session",
    "logout",
    "lock_session",
    "unlock_session",
];

/// Role-gated commands, a valid argument set for each, and who may call it.
fn gated() -> Vec<(&'static str, Value, &'static [Role])> {
    vec![
        ("venue_overview", json!({}), allow::ANY_ROLE),
        ("report_activity", json!({}), allow::ANY_ROLE),
        ("change_own_password", json!({"currentPassword": "x", "newPassword": "y"}), allow::ANY_ROLE),
        ("list_operators", json!({}), allow::ADMINISTRATOR),
        (
            "create_operator",
            json!({"input": {"username": "new.op", "displayName": "N", "role": "front_desk", "password": PASSWORD}}),
            allow::ADMINISTRATOR,
        ),
        ("set_operator_disabled", json!({"operatorId": 2, "disabled": false}), allow::ADMINISTRATOR),
        ("reset_operator_password", json!({"operatorId": 2, "newPassword": PASSWORD}), allow::ADMINISTRATOR),
        ("change_operator_role", json!({"operatorId": 2, "role": "front_desk"}), allow::ADMINISTRATOR),
        ("reset_operator_second_factor", json!({"operatorId": 3}), allow::ADMINISTRATOR),
        ("query_journal", json!({"filter": {}}), allow::ADMINISTRATOR),
        ("journal_filter_choices", json!({}), allow::ADMINISTRATOR),
        ("verify_journal", json!({}), allow::ADMINISTRATOR),
        ("list_rooms", json!({}), allow::ANY_ROLE),
        (
            "edit_room",
            json!({"edit": {"id": "kb-1", "version": 1, "name": "第一开标室", "capacity": 60, "floor": "3F", "notes": "", "active": true}}),
            allow::VENUE_MANAGER,
        ),
        ("list_projects", json!({"search": null}), allow::BOOKING_READERS),
        (
            "save_project",
            json!({"input": {"id": null, "version": null, "tenderProjectCode": "E3101000001202611001", "name": "P",
                "category": "construction", "bidSectionCodes": ["001"], "tendererName": "T",
                "tendererCreditCode": "91350100M000100Y43", "agencyName": null, "agencyCreditCode": null,
                "responsibleStaff": "S"}}),
            allow::VENUE_MANAGER,
        ),
        (
            "create_booking",
            json!({"input": {"roomId": "kb-1", "projectId": 1, "bidSectionCodes": [], "purpose": "bid_opening",
                "start": "2026-11-24T09:00", "end": "2026-11-24T10:00", "setupMin": 0, "cleanupMin": 0,
                "expectedParticipants": 1, "expectedExperts": 0, "overnight": false, "days": 1, "notes": "", "confirm": true}}),
            allow::VENUE_MANAGER,
        ),
        (
            "change_booking",
            json!({"input": {"id": 1, "version": 1, "roomId": "kb-1", "start": "2026-11-24T09:00", "end": "2026-11-24T10:00", "reason": "test"}}),
            allow::VENUE_MANAGER,
        ),
        (
            "set_booking_state",
            json!({"id": 1, "version": 1, "next": "confirmed", "reason": ""}),
            allow::VENUE_MANAGER,
        ),
        (
            "list_bookings",
            json!({"filter": {"fromDate": null, "toDate": null, "roomId": null, "projectCode": null, "state": null}}),
            allow::BOOKING_READERS,
        ),
        ("booking_history", json!({"id": 1}), allow::BOOKING_READERS),
        ("list_sessions", json!({"fromDate": "2026-11-24", "toDate": "2026-11-24"}), allow::ANY_ROLE),
        (
            "booking_statistics",
            json!({"fromDate": "2026-11-01", "toDate": "2026-11-30", "granularity": "day"}),
            allow::STATISTICS,
        ),
        (
            "export_booking_statistics",
            json!({"fromDate": "2026-11-01", "toDate": "2026-11-30", "granularity": "week"}),
            allow::STATISTICS,
        ),
        // Arguments that fail fast after the role check (nothing to find, no device contacted).
        ("checkin_find", json!({"idNumber": "11010519491231002X"}), allow::FRONT_DESK),
        ("checkin_begin", json!({"entryId": 999}), allow::FRONT_DESK),
        ("checkin_await_deposit", json!({"entryId": 999}), allow::FRONT_DESK),
        ("checkin_reopen_locker", json!({"entryId": 999}), allow::FRONT_DESK),
        ("checkin_cancel", json!({"entryId": 999, "reason": "test"}), allow::FRONT_DESK),
        ("checkin_complete", json!({"entryId": 999, "cardNo": null}), allow::FRONT_DESK),
        ("checkout_begin", json!({"checkInId": 999}), allow::FRONT_DESK),
        ("checkout_finish", json!({"checkInId": 999}), allow::FRONT_DESK),
        ("roster_import", json!({"bookingId": 999, "format": "csv", "content": ""}), allow::SUPERVISION),
        (
            "roster_add_substitute",
            json!({"bookingId": 999, "expert": {"name": "A", "idNumber": "11010519491231002X", "expertType": "T"}, "reason": "test"}),
            allow::SUPERVISION,
        ),
        ("attendance_today", json!({}), allow::SUPERVISION),
        ("reentry_approve", json!({"checkInId": 999, "reason": "test"}), allow::SUPERVISION),
        ("reconcile_credentials", json!({}), allow::SUPERVISION),
        ("roll_call", json!({}), allow::FRONT_DESK),
        ("roll_call_export", json!({}), allow::FRONT_DESK),
        ("list_lockers", json!({}), allow::FRONT_DESK),
        ("open_locker", json!({"bankId": "nope", "lockerNo": 1, "reason": "test"}), allow::FRONT_DESK),
        (
            "set_locker_fault",
            json!({"bankId": "nope", "lockerNo": 1, "faulty": true, "reason": "test"}),
            allow::FRONT_DESK,
        ),
        ("device_health", json!({}), allow::ANY_ROLE),
        ("set_device_password", json!({"deviceId": "nope", "password": "x"}), allow::ADMINISTRATOR),
        ("sync_status", json!({}), allow::ADMINISTRATOR),
        // Refused for its empty key after the role check: the shared keyring entry stays as it is.
        ("sync_set_credentials", json!({"appKey": "", "appSecret": "x"}), allow::ADMINISTRATOR),
        ("sync_parked", json!({}), allow::ADMINISTRATOR),
        ("sync_retry_parked", json!({"seq": 999999}), allow::ADMINISTRATOR),
        ("sync_pull_now", json!({}), allow::ADMINISTRATOR),
        ("sync_platform_inbox", json!({}), allow::ADMINISTRATOR),
        ("list_alarms", json!({"filter": {"openOnly": true, "limit": 10}}), allow::ANY_ROLE),
        ("acknowledge_alarm", json!({"id": 999, "note": "test"}), allow::FRONT_DESK),
        ("mute_alarms", json!({"minutes": 0, "reason": "test"}), allow::FRONT_DESK),
        ("unmute_alarms", json!({}), allow::FRONT_DESK),
        ("sound_status", json!({}), allow::ANY_ROLE),
        ("gate_status", json!({}), allow::ANY_ROLE),
        ("gate_open_once", json!({"gateId": "nope", "reason": "test"}), allow::FRONT_DESK),
        ("restore_from_emergency", json!({"reason": ""}), allow::ADMINISTRATOR),
        ("recorder_status", json!({}), allow::SUPERVISION),
        ("recorder_storage", json!({}), allow::SUPERVISION),
        // Refused for the unknown room after the role check.
        (
            "recorder_control",
            json!({"target": {"kind": "room", "roomId": "nope"}, "start": true, "reason": "test"}),
            allow::SUPERVISION,
        ),
        // The mock app has no media server: allowed callers get UNAVAILABLE after the role check.
        ("recordings_timeline", json!({"query": {"kind": "session", "bookingId": 999}}), allow::SUPERVISION),
        ("media_endpoint", json!({}), allow::SUPERVISION),
        ("list_holds", json!({"activeOnly": true}), allow::SUPERVISION),
        // Refused for the unknown project after the role check.
        (
            "place_hold",
            json!({"scope": {"kind": "project", "tenderProjectCode": "NOPE"}, "reason": "test"}),
            allow::SUPERVISION,
        ),
        ("release_hold", json!({"holdId": 999, "reason": "test"}), allow::ADMINISTRATOR),
        // An export location that does not exist: refused after the role check, nothing written.
        (
            "export_start",
            json!({"projectCode": "NOPE", "parentDir": "/nonexistent/venue-desk", "onUpdate": "__CHANNEL__:7"}),
            allow::SUPERVISION,
        ),
        ("export_cancel", json!({"jobId": 999}), allow::SUPERVISION),
        ("export_public_key", json!({}), allow::SUPERVISION),
        // The mock app has no media server: allowed callers get UNAVAILABLE after the role check.
        ("live_wall", json!({}), allow::SUPERVISION),
        // No category: refused after the role check, nothing held.
        (
            "record_incident",
            json!({"input": {"category": null, "description": "test", "roomId": "pb-1", "atMs": 0, "people": []}}),
            allow::SUPERVISION,
        ),
        (
            "list_incidents",
            json!({"filter": {"fromMs": null, "toMs": null, "roomId": null, "category": null}}),
            allow::SUPERVISION,
        ),
        // An empty note: refused after the role check.
        (
            "add_bookmark",
            json!({"input": {"roomId": "pb-1", "cameraId": null, "atMs": 0, "note": ""}}),
            allow::SUPERVISION,
        ),
        ("list_bookmarks", json!({"roomId": "pb-1", "fromMs": 0, "toMs": 1}), allow::SUPERVISION),
    ]
}

fn invoke(webview: &tauri::WebviewWindow<MockRuntime>, cmd: &str, args: &Value) -> Result<Value, Value> {
    let req = InvokeRequest {
        cmd: cmd.into(),
        callback: tauri::ipc::CallbackFn(0),
        error: tauri::ipc::CallbackFn(1),
        url: "tauri://localhost".parse().unwrap(),
        body: tauri::ipc::InvokeBody::Json(args.clone()),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    };
    get_ipc_response(webview, req).map(|b| b.deserialize::<Value>().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_command_refuses_the_roles_it_does_not_allow() {
    let venue = Venue::open().await;
    let app = mock_builder()
        .manage(AppState::Ready(venue.services.clone()))
        .manage(MediaState::default())
        .invoke_handler(specta_builder::<MockRuntime>().invoke_handler())
        .build(mock_context(noop_assets()))
        .unwrap();
    let webview = WebviewWindowBuilder::new(&app, "main", Default::default()).build().unwrap();
    let webview = Arc::new(webview);

    for (cmd, args, allowed) in gated() {
        // Signed out: refused as unauthenticated, whoever asks.
        venue.services.auth.logout().await.unwrap();
        let w = webview.clone();
        let (c, a) = (cmd.to_string(), args.clone());
        let out = tokio::task::spawn_blocking(move || invoke(&w, &c, &a)).await.unwrap();
        let err = out.expect_err("refused");
        assert_eq!(err["code"], "UNAUTHENTICATED", "{cmd} while signed out: {err}");

        for role in Role::ALL {
            venue.sign_in(role).await;
            let w = webview.clone();
            let (c, a) = (cmd.to_string(), args.clone());
            let out = tokio::task::spawn_blocking(move || invoke(&w, &c, &a)).await.unwrap();
            let code = out.as_ref().err().map(|e| e["code"].as_str().unwrap_or_default().to_string());
            if allowed.contains(&role) {
                assert_ne!(
                    code.as_deref(),
                    Some("PERMISSION_DENIED"),
                    "{cmd} must be allowed for {role:?}: {out:?}"
                );
            } else {
                assert_eq!(
                    code.as_deref(),
                    Some("PERMISSION_DENIED"),
                    "{cmd} must be refused for {role:?}: {out:?}"
                );
            }
        }
    }
    // Refusals are journaled.
    let (rows, _) = venue
        .services
        .journal
        .query(&venue_desk::store::journal::JournalQuery {
            kind: Some("operator.access_denied".into()),
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(rows.len() >= 9 * 3, "{} refusals journaled", rows.len());
}

/// The set-up commands need no sign-in, so they must refuse by themselves once the venue has an
/// operator: nobody may rewrite the venue or create another "first" administrator later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_commands_close_once_an_operator_exists() {
    let venue = Venue::open().await;
    let app = mock_builder()
        .manage(AppState::Ready(venue.services.clone()))
        .manage(MediaState::default())
        .invoke_handler(specta_builder::<MockRuntime>().invoke_handler())
        .build(mock_context(noop_assets()))
        .unwrap();
    let webview = Arc::new(WebviewWindowBuilder::new(&app, "main", Default::default()).build().unwrap());
    let dir = tempfile::tempdir().unwrap();
    // setup_restart looks for the written venue file in the configuration directory: point that
    // at an empty folder so the developer's own venue.toml can never restart the test process.
    unsafe { std::env::set_var("XDG_CONFIG_HOME", dir.path().join("config")) };
    let calls = [
        ("setup_status", json!({})),
        ("setup_check_storage", json!({"path": dir.path().to_str().unwrap()})),
        (
            "setup_venue",
            json!({"input": {"username": "late.admin", "displayName": "L", "password": PASSWORD, "venueCode": "V-2",
                "venueName": "N", "recordingsDir": dir.path().to_str().unwrap(), "serviceBaseUrl": null,
                "serviceAppKey": null, "serviceAppSecret": null}}),
        ),
        ("setup_restart", json!({})),
    ];
    for (cmd, args) in calls {
        let w = webview.clone();
        let out = tokio::task::spawn_blocking(move || invoke(&w, cmd, &args)).await.unwrap();
        let err = out.expect_err("refused");
        assert_eq!(err["code"], "FAILED_PRECONDITION", "{cmd}: {err}");
    }
    let late =
        venue_desk::store::operators::by_username(venue.services.store.pool(), "late.admin").await.unwrap();
    assert!(late.is_none(), "no administrator is created once the set-up is closed");
}

#[test]
fn every_command_is_covered() {
    let bindings = std::fs::read_to_string(venue_desk::commands::BINDINGS_PATH).unwrap();
    let registered: BTreeSet<String> =
        bindings.split("TAURI_INVOKE(\"").skip(1).map(|s| s.split('"').next().unwrap().to_string()).collect();
    let covered: BTreeSet<String> =
        PUBLIC.iter().map(|s| s.to_string()).chain(gated().into_iter().map(|g| g.0.to_string())).collect();
    assert!(!registered.is_empty());
    assert_eq!(registered, covered, "commands in ui/src/bindings.ts vs. this test's tables");
}
