//! The interface contract with the comprehensive service system (docs/api/service-system.yaml)
//! held against the app: every upward event type is documented and nothing else is; events of every
//! type, produced by the real services driving the simulated devices, validate against their type's
//! schema exactly as the outbox would send them; the wire types and the document describe the same
//! JSON; and the document holds together (it parses, every `$ref` resolves, its examples validate,
//! its worked signature and hash examples are right).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use chrono::Duration as ChronoDuration;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use venue_desk::alerts::views::{AlarmFilter, AlarmKind, AlarmState, GatePhase, GateView};
use venue_desk::auth::{AccountChange, Caller};
use venue_desk::bookings::views::{BookingChangeInput, BookingInput, ProjectInput, RoomEdit};
use venue_desk::checkin::views::RosterExpertInput;
use venue_desk::devices::DoorCommand;
use venue_desk::domain::booking::{BookingState, Purpose};
use venue_desk::domain::operator::Role;
use venue_desk::domain::project::TradingCategory;
use venue_desk::journal::EventKind;
use venue_desk::sim::isapi::IsapiFault;
use venue_desk::sim::modbus::{ModbusFault, ModbusSim};
use venue_desk::sim::receiver::{Receiver, ReceiverConfig};
use venue_desk::sync::outbound::pending_wire_events;
use venue_desk::sync::pulls::pull_all;
use venue_desk::sync::signing;
use venue_desk::sync::wire::*;
use venue_desk_tests::fixture::{PASSWORD, Venue, username};
use venue_desk_tests::sims::*;

const DOC: &str = include_str!("../../docs/api/service-system.yaml");
const README: &str = include_str!("../../docs/api/README.md");

fn doc() -> &'static Value {
    static DOC_JSON: OnceLock<Value> = OnceLock::new();
    DOC_JSON
        .get_or_init(|| serde_yaml_ng::from_str(DOC).expect("docs/api/service-system.yaml is not valid YAML"))
}

fn schemas() -> &'static serde_json::Map<String, Value> {
    doc()["components"]["schemas"].as_object().expect("components/schemas")
}

/// The document's schemas as a JSON Schema 2020-12 resource whose root is `name`: the `$ref`s in the
/// document point into `#/components/schemas/...`, so the components keep their place.
fn validator_with(components: &Value, name: &str) -> jsonschema::Validator {
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/components/schemas/{name}"),
        "components": {"schemas": components},
    });
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("schema {name} does not compile: {e}"))
}

fn validator(name: &str) -> jsonschema::Validator {
    validator_with(&doc()["components"]["schemas"], name)
}

/// Each way `instance` fails `v`, with the JSON pointer into the instance so the field can be found.
fn violations(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance).map(|e| format!("at '{}': {e}", e.instance_path())).collect()
}

fn app_upward_types() -> BTreeSet<&'static str> {
    EventKind::ALL.iter().filter_map(|k| k.upward_type()).collect()
}

fn documented_types() -> Vec<String> {
    doc()["x-event-types"]
        .as_array()
        .expect("top-level x-event-types is a list")
        .iter()
        .map(|t| t.as_str().expect("x-event-types holds strings").to_string())
        .collect()
}

/// The journal kinds an event schema admits in `record.kind` (`const` or `enum`).
fn kinds_in_schema(schema: &Value) -> BTreeSet<String> {
    let k = &schema["properties"]["record"]["properties"]["kind"];
    match (&k["const"], &k["enum"]) {
        (Value::String(s), _) => [s.clone()].into(),
        (_, Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(String::from)).collect(),
        _ => BTreeSet::new(),
    }
}

// ---- 1. completeness --------------------------------------------------------------------------

#[test]
fn every_upward_event_type_is_documented_and_nothing_else() {
    let app = app_upward_types();
    let listed = documented_types();
    let listed_set: BTreeSet<&str> = listed.iter().map(String::as_str).collect();
    let mut problems = Vec::new();

    let missing: Vec<_> = app.difference(&listed_set).collect();
    if !missing.is_empty() {
        problems.push(format!("sent by the app but not in x-event-types: {missing:?}"));
    }
    let extra: Vec<_> = listed_set.difference(&app).collect();
    if !extra.is_empty() {
        problems.push(format!("in x-event-types but no EventKind sends them: {extra:?}"));
    }
    if listed.len() != listed_set.len() {
        problems.push("x-event-types lists a type twice".into());
    }

    let with_schema: BTreeSet<&str> = schemas().keys().filter_map(|k| k.strip_prefix("Event_")).collect();
    for t in &app {
        if !with_schema.contains(t) {
            problems.push(format!("{t}: no components/schemas/Event_{t}"));
        }
    }
    for t in with_schema.difference(&app) {
        problems.push(format!("components/schemas/Event_{t} describes a type the app does not send"));
    }

    // A kind mapped to an existing type later must show up in that type's `record.kind`.
    for t in &app {
        let Some(schema) = schemas().get(&format!("Event_{t}")) else { continue };
        let want: BTreeSet<String> = EventKind::ALL
            .iter()
            .filter(|k| k.upward_type() == Some(*t))
            .map(|k| k.as_str().to_string())
            .collect();
        let have = kinds_in_schema(schema);
        if have != want {
            problems.push(format!("Event_{t}: record.kind admits {have:?}, the app sends it for {want:?}"));
        }
        if schema["properties"]["type"]["const"] != *t {
            problems.push(format!("Event_{t}: properties.type.const is not \"{t}\""));
        }
        let text = schema["description"].as_str().unwrap_or("");
        let chinese = text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
        let english = text.split_whitespace().filter(|w| w.is_ascii()).count() >= 3;
        if !(chinese && english) {
            problems.push(format!("Event_{t}: the description should be in Chinese and in English"));
        }
    }

    // Code generators read AnyEvent: it must name the same types.
    let any = &schemas()["AnyEvent"];
    let refs: BTreeSet<String> = any["oneOf"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| {
                    r["$ref"].as_str()?.strip_prefix("#/components/schemas/Event_").map(String::from)
                })
                .collect()
        })
        .unwrap_or_default();
    let mapping: BTreeSet<String> =
        any["discriminator"]["mapping"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    let app_owned: BTreeSet<String> = app.iter().map(|s| s.to_string()).collect();
    if refs != app_owned {
        problems.push(format!(
            "AnyEvent.oneOf differs: {:?}",
            refs.symmetric_difference(&app_owned).collect::<Vec<_>>()
        ));
    }
    if mapping != app_owned {
        problems.push(format!(
            "AnyEvent discriminator mapping differs: {:?}",
            mapping.symmetric_difference(&app_owned).collect::<Vec<_>>()
        ));
    }

    assert!(
        problems.is_empty(),
        "docs/api/service-system.yaml is out of step with journal/kinds.rs:\n  {}",
        problems.join("\n  ")
    );
}

// ---- 2. real events validate ------------------------------------------------------------------

/// The upward types each scenario below produces for certain. Every upward type is in one of them;
/// no type needs to be left out (`the_scenarios_cover_every_upward_type`).
const OPERATOR_AND_BOOKING_TYPES: &[&str] = &[
    "OPERATOR_CREATED",
    "OPERATOR_LOGIN",
    "OPERATOR_LOGOUT",
    "OPERATOR_LOCKED_OUT",
    "OPERATOR_2FA_ENROLLED",
    "OPERATOR_PASSWORD_CHANGED",
    "OPERATOR_DISABLED",
    "OPERATOR_ENABLED",
    "OPERATOR_PASSWORD_RESET",
    "OPERATOR_ROLE_CHANGED",
    "OPERATOR_2FA_RESET",
    "OPERATOR_ACCESS_DENIED",
    "ROOM_UPDATED",
    "PROJECT_SAVED",
    "BOOKING_CREATED",
    "BOOKING_CHANGED",
    "BOOKING_STATE_CHANGED",
    "BOOKING_CANCELLED",
];
const CHECK_IN_TYPES: &[&str] = &[
    "DEVICE_HEALTH",
    "DEVICE_CREDENTIAL_CHANGED",
    "EXPERT_ROSTER_IMPORTED",
    "EXPERT_SUBSTITUTE_ADDED",
    "EXPERT_ROSTER_PURGED",
    "EXPERT_CHECK_IN",
    "EXPERT_CHECK_IN_CANCELLED",
    "EXPERT_CHECK_OUT",
    "EXPERT_LEFT_AREA",
    "EXPERT_REENTRY_APPROVED",
    "LOCKER_OPENED",
    "LOCKER_RELEASED",
    "LOCKER_FAULT",
    "CREDENTIALS_RECONCILED",
    "DOOR_ACCESS_EVENT",
];
const GATE_TYPES: &[&str] = &[
    "ALARM_RAISED",
    "ALARM_ACKNOWLEDGED",
    "ALARM_CLEARED",
    "ALARM_SOUND_MUTED",
    "ALARM_SOUND_UNMUTED",
    "GATE_OPEN_ONCE",
    "DOOR_MODE_COMMANDED",
    "EMERGENCY_RELEASE",
    "EMERGENCY_RESTORED",
];
const PLATFORM_TYPES: &[&str] = &["SERVICE_CREDENTIALS_CHANGED", "PLATFORM_DATA_REFUSED"];
const RECORDING_TYPES: &[&str] = &[
    "RECORDING_SEGMENT_CLOSED",
    "RECORDING_GAP",
    "RECORDING_CONTROLLED",
    "RECORDING_PURGED",
    "LEGAL_HOLD_PLACED",
    "LEGAL_HOLD_RELEASED",
    "INCIDENT_RECORDED",
];
/// Upward types no scenario can produce, each with the reason. None today.
const NOT_PRODUCIBLE: &[(&str, &str)] = &[];

#[test]
fn the_scenarios_cover_every_upward_type() {
    let covered: BTreeSet<&str> = OPERATOR_AND_BOOKING_TYPES
        .iter()
        .chain(CHECK_IN_TYPES)
        .chain(GATE_TYPES)
        .chain(PLATFORM_TYPES)
        .chain(RECORDING_TYPES)
        .copied()
        .chain(NOT_PRODUCIBLE.iter().map(|(t, _)| *t))
        .collect();
    let app = app_upward_types();
    assert_eq!(
        covered.symmetric_difference(&app).collect::<Vec<_>>(),
        Vec::<&&str>::new(),
        "an upward type is produced by no scenario (or a scenario names a type that no longer exists)"
    );
}

/// SHA-256 of the canonical form, computed as README.md tells an integrator to, independently of
/// the app's own `journal::canonical`.
fn recompute_hash(record: &Value, prev_hash: &str) -> String {
    let mut fields: BTreeMap<&str, Value> = BTreeMap::new();
    for k in
        ["actor", "actorRole", "detail", "kind", "outcome", "recordedAt", "recordedAtMs", "seq", "subject"]
    {
        fields.insert(k, record[k].clone());
    }
    fields.insert("prevHash", Value::String(prev_hash.to_string()));
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}:{}", serde_json::to_string(k).unwrap(), serde_json::to_string(v).unwrap()))
        .collect();
    hex::encode(Sha256::digest(format!("{{{}}}", body.join(",")).as_bytes()))
}

/// What a receiver checks beyond the schema: the hash, the chain between consecutive records,
/// payload against record, and the sequence.
fn receiver_checks(events: &[Value]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut ids = BTreeSet::new();
    let mut last: Option<&Value> = None;
    for e in events {
        let (ty, seq, r) = (e["type"].as_str().unwrap_or("?"), &e["seq"], &e["record"]);
        let at = format!("{ty} seq {seq}");
        let prev = e["prevHash"].as_str().unwrap_or_default();
        if recompute_hash(r, prev) != e["hash"] {
            problems.push(format!("{at}: hash does not recompute from record + prevHash"));
        }
        if !ids.insert(e["eventId"].as_str().unwrap_or_default().to_string()) {
            problems.push(format!("{at}: eventId repeated"));
        }
        if e["occurredAt"] != r["recordedAt"] {
            problems.push(format!("{at}: occurredAt differs from record.recordedAt"));
        }
        let parsed: Value =
            serde_json::from_str(r["detail"].as_str().unwrap_or("")).unwrap_or(json!("<not JSON>"));
        if e["payload"]["detail"] != parsed {
            problems.push(format!("{at}: payload.detail is not record.detail parsed"));
        }
        for (p, rk) in
            [("actor", "actor"), ("actorRole", "actorRole"), ("subject", "subject"), ("outcome", "outcome")]
        {
            if e["payload"][p] != r[rk] {
                problems.push(format!("{at}: payload.{p} differs from record.{rk}"));
            }
        }
        if let Some(l) = last {
            if l["seq"].as_i64() >= seq.as_i64() {
                problems.push(format!("{at}: seq does not increase"));
            }
            if r["seq"].as_i64() == l["record"]["seq"].as_i64().map(|s| s + 1) && e["prevHash"] != l["hash"] {
                problems.push(format!("{at}: consecutive records do not link (prevHash != previous hash)"));
            }
        }
        last = Some(e);
    }
    problems
}

/// Validates every pending outbox event, as it would be sent, against the schema of its type, once
/// every type in `expected` is there. Returns the events.
async fn check_outbox(v: &Venue, expected: &[&str]) -> Vec<WireEvent> {
    let deadline = Instant::now() + Duration::from_secs(15);
    let events = loop {
        let events = pending_wire_events(&v.services.store, 1_000_000).await.unwrap();
        let seen: BTreeSet<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
        let missing: Vec<&&str> = expected.iter().filter(|t| !seen.contains(**t)).collect();
        if missing.is_empty() {
            break events;
        }
        assert!(Instant::now() < deadline, "the scenario produced no event of {missing:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // For whoever refreshes the document's examples: one real event of each type, as sent.
    if std::env::var_os("SYNC_CONTRACT_DUMP").is_some() {
        let mut shown = BTreeSet::new();
        for e in events.iter().filter(|e| shown.insert(e.event_type.clone())) {
            eprintln!("{}", serde_json::to_string_pretty(e).unwrap());
        }
    }
    let mut validators: BTreeMap<String, Option<jsonschema::Validator>> = BTreeMap::new();
    let envelope = validator("EventEnvelope");
    let mut failures = Vec::new();
    let mut as_json = Vec::new();
    for e in &events {
        let json = serde_json::to_value(e).unwrap();
        as_json.push(json.clone());
        let v = validators.entry(e.event_type.clone()).or_insert_with(|| {
            schemas()
                .contains_key(&format!("Event_{}", e.event_type))
                .then(|| validator(&format!("Event_{}", e.event_type)))
        });
        let Some(v) = v else {
            failures.push(format!("{} (seq {}): no schema in the document", e.event_type, e.seq));
            continue;
        };
        for problem in violations(v, &json).into_iter().chain(violations(&envelope, &json)) {
            failures.push(format!("{} (seq {}) {problem}\n      event: {json}", e.event_type, e.seq));
        }
    }
    failures.extend(receiver_checks(&as_json));
    assert!(
        failures.is_empty(),
        "{} problems in the {} pending events against docs/api/service-system.yaml:\n  {}",
        failures.len(),
        events.len(),
        failures.join("\n  ")
    );
    events
}

/// Points the uplink nowhere: the scenarios read the outbox as it would be sent, so nothing may take
/// it first, whatever credentials a venue happens to get.
fn no_receiver(c: &mut venue_desk::config::VenueConfig) {
    c.service.base_url = "http://127.0.0.1:9".into();
    c.service.allow_plain_http = true;
}

fn administrator() -> Caller {
    Caller { operator_id: 1, username: username(Role::Administrator), role: Role::Administrator }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_and_booking_events_validate() {
    let v = Venue::open_with(no_receiver, "2026-11-23T01:00:00Z").await;
    let s = &v.services;
    let auth = &s.auth;

    // First sign-in of a supervisor enrols the authenticator; the next sign-in signs them out.
    v.sign_in(Role::Supervisor).await;
    v.sign_in(Role::FrontDesk).await;
    let desk = auth.require(&[Role::FrontDesk]).await.unwrap();
    assert!(auth.require(&[Role::Administrator]).await.is_err());
    auth.change_own_password(&desk, PASSWORD, "Venue-desk-2026-b").await.unwrap();
    auth.logout().await.unwrap();
    assert!(auth.login("no.such.user", PASSWORD).await.is_err());
    for _ in 0..5 {
        assert!(auth.login(&username(Role::FrontDesk), "Wrong-password-1").await.is_err());
    }
    assert!(auth.login(&username(Role::FrontDesk), "Venue-desk-2026-b").await.is_err(), "locked out");

    let admin = administrator();
    auth.administer(&admin, 3, AccountChange::SetDisabled { disabled: true }).await.unwrap();
    assert!(auth.login(&username(Role::Supervisor), PASSWORD).await.is_err(), "disabled");
    auth.administer(&admin, 3, AccountChange::SetDisabled { disabled: false }).await.unwrap();
    auth.administer(&admin, 3, AccountChange::ResetSecondFactor).await.unwrap();
    auth.administer(&admin, 2, AccountChange::ResetPassword { new_password: PASSWORD.into() }).await.unwrap();
    auth.administer(&admin, 2, AccountChange::ChangeRole { role: Role::Supervisor }).await.unwrap();

    let b = &s.bookings;
    let m = manager();
    let edit = RoomEdit {
        id: "kb-1".into(),
        version: 1,
        name: "第一开标室（东）".into(),
        capacity: 60,
        floor: Some("3F".into()),
        notes: String::new(),
        active: true,
    };
    b.edit_room(&m, &edit).await.unwrap();
    let project = b
        .save_project(
            &m,
            &ProjectInput {
                id: None,
                version: None,
                tender_project_code: "E3101000001202611021".into(),
                name: "示范市第二中学食堂改造工程".into(),
                category: TradingCategory::Construction,
                bid_section_codes: vec!["001".into(), "002".into()],
                tenderer_name: "示范市第二中学".into(),
                tenderer_credit_code: "91350100M000100Y43".into(),
                agency_name: Some("示范招标代理有限公司".into()),
                agency_credit_code: Some("91350100M000100Y43".into()),
                responsible_staff: "李娜".into(),
            },
        )
        .await
        .unwrap();
    // Two days in one step: two bookings, both still requested.
    let created = b
        .create(
            &m,
            &BookingInput {
                room_id: "kb-1".into(),
                project_id: project.id,
                bid_section_codes: vec!["001".into(), "002".into()],
                purpose: Purpose::BidOpening,
                start: "2026-11-24T09:00".into(),
                end: "2026-11-24T10:30".into(),
                setup_min: 30,
                cleanup_min: 15,
                expected_participants: 20,
                expected_experts: 0,
                overnight: false,
                days: 2,
                notes: "投标人较多".into(),
                confirm: false,
            },
        )
        .await
        .unwrap();
    let moved = b
        .change(
            &m,
            &BookingChangeInput {
                id: created[0].id,
                version: created[0].version,
                room_id: "kb-2".into(),
                start: "2026-11-24T14:00".into(),
                end: "2026-11-24T15:30".into(),
                reason: "开标时间调整至下午".into(),
            },
        )
        .await
        .unwrap();
    let confirmed = b.set_state(&m, moved.id, moved.version, BookingState::Confirmed, "").await.unwrap();
    b.set_state(&m, confirmed.id, confirmed.version, BookingState::InProgress, "开标开始").await.unwrap();
    b.set_state(&m, created[1].id, created[1].version, BookingState::Cancelled, "项目暂停，第二日开标取消")
        .await
        .unwrap();

    check_outbox(&v, OPERATOR_AND_BOOKING_TYPES).await;
}

/// 09:00 in Shanghai.
const NOW: &str = "2026-11-23T01:00:00Z";

async fn until(what: &str, mut f: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_in_locker_and_door_events_validate() {
    let sims = SimVenue::start();
    let v = Venue::open_with(
        |c| {
            sims.patch(c);
            no_receiver(c);
        },
        NOW,
    )
    .await;
    sims.enrol_passwords(&v.services);
    let s = &v.services;
    s.set_device_password(&administrator(), "door-gy1", DEVICE_PASSWORD).await.unwrap();
    s.start_background().await;
    until("controllers online", async || s.fleet.is_online(ENTRANCE) && s.fleet.is_online(ROOM_DOOR)).await;
    let c = &s.checkins;
    let booking =
        evaluation_with_roster(s, "E3101000001202611022", "2026-11-23T08:30", "2026-11-23T12:00").await;
    let sub = RosterExpertInput {
        name: "赵六".into(),
        id_number: OUTSIDER.into(),
        expert_type: "技术专家".into(),
        is_chair: false,
        photo_data_url: None,
    };
    c.add_substitute(&supervisor(), booking, &sub, "原抽取专家因故缺席，补抽").await.unwrap();

    let check_in = async |id: &str, card: Option<&str>| {
        let found = c.find(&front_desk(), id).await.unwrap();
        c.begin(&front_desk(), found.entry_id).await.unwrap();
        c.await_deposit(found.entry_id).await.unwrap();
        c.complete(&front_desk(), found.entry_id, card).await.unwrap()
    };
    let first = check_in(EXPERTS[0].1, Some("a1b2-0001")).await;
    let second = check_in(OUTSIDER, None).await;

    // A check-in abandoned half way: the locker opens again for the devices.
    let third = c.find(&front_desk(), EXPERTS[1].1).await.unwrap();
    c.begin(&front_desk(), third.entry_id).await.unwrap();
    c.await_deposit(third.entry_id).await.unwrap();
    c.cancel(&front_desk(), third.entry_id, "专家身体不适，改派").await.unwrap();

    c.set_locker_fault(&front_desk(), BANK, 10, true, "门轴损坏").await.unwrap();
    c.set_locker_fault(&front_desk(), BANK, 10, false, "已修好").await.unwrap();
    c.open_locker(&front_desk(), BANK, 11, "专家遗落物品").await.unwrap();

    // Out through the entrance's exit reader, then back with a supervisor's approval.
    sims.entrance.push_access_event(0x01, Some(&first.employee_no), 2);
    until("left the area", async || c.roll_call().await.unwrap().outside.len() == 1).await;
    // The suspension runs after the exit is recorded; approving before it is done would race it.
    until("credential suspended", async || {
        !sims.entrance.persons().iter().any(|p| p.employee_no == first.employee_no)
            && !sims.room_door.persons().iter().any(|p| p.employee_no == first.employee_no)
    })
    .await;
    c.approve_reentry(&supervisor(), first.check_in_id, "去洗手间，已复检").await.unwrap();

    // The room's controller misses a check-out; reconciliation reports it.
    sims.room_door.set_fault(IsapiFault::Offline);
    c.checkout_begin(&front_desk(), second.check_in_id).await.unwrap();
    c.reconcile().await.unwrap();
    sims.room_door.set_fault(IsapiFault::None);
    c.checkout_finish(&front_desk(), second.check_in_id).await.unwrap();
    c.checkout_begin(&front_desk(), first.check_in_id).await.unwrap();
    c.checkout_finish(&front_desk(), first.check_in_id).await.unwrap();

    // Retention: names and ID numbers of the finished session are erased.
    v.clock.advance(ChronoDuration::days(31));
    let purged = c.purge_rosters().await.unwrap();
    assert!(purged.is_empty() || purged == vec![booking], "{purged:?}");

    check_outbox(&v, CHECK_IN_TYPES).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gate_alarm_and_emergency_events_validate() {
    const GATE: &str = "gate-entrance";
    const FIRE: &str = "fire-panel";
    let sims = SimVenue::start();
    let io = ModbusSim::start("127.0.0.1:0".parse().unwrap(), 1, 16).unwrap();
    let addr = io.addr().to_string();
    let v = Venue::open_with(
        |c| {
            sims.patch(c);
            no_receiver(c);
            for d in c.devices.iter_mut().filter(|d| d.id == GATE || d.id == FIRE) {
                d.address = addr.clone();
            }
            c.gate.release_debounce_ms = 100;
            c.gate.clear_after_quiet_seconds = 5;
            c.gate.override_seconds = 3;
        },
        NOW,
    )
    .await;
    sims.enrol_passwords(&v.services);
    let s = &v.services;
    s.start_background().await;
    let gate = async || -> GateView {
        s.gates.status().await.unwrap().into_iter().find(|x| x.gate_id == GATE).unwrap()
    };
    let commands = |h: &venue_desk::sim::isapi::IsapiSimHandle| -> Vec<DoorCommand> {
        h.door_commands_received().into_iter().map(|(_, c)| c).collect()
    };
    let open_alarms = async || s.alarms.list(&AlarmFilter { open_only: true, limit: None }).await.unwrap();
    until("gate quiet", async || gate().await.input_active == Some(false)).await;

    // A phone at the gate: held, let one person through, answered, quiet, cleared.
    io.set_input(0, true);
    until("gate alarm", async || gate().await.phase == GatePhase::Alarm).await;
    s.gates.open_once(&front_desk(), GATE, "工作人员携带对讲机进入维修").await.unwrap();
    until("door pulsed open", async || commands(&sims.entrance).contains(&DoorCommand::Open)).await;
    v.clock.advance(ChronoDuration::seconds(4));
    until("held again", async || gate().await.phase == GatePhase::Alarm).await;
    let alarm = open_alarms().await.into_iter().find(|a| a.kind == AlarmKind::GateDetection).unwrap();
    s.gates.acknowledge_alarm(&front_desk(), alarm.id, "已引导存放手机").await.unwrap();
    io.set_input(0, false);
    until("quiet", async || {
        v.clock.advance(ChronoDuration::milliseconds(50));
        gate().await.phase == GatePhase::Clearing
    })
    .await;
    v.clock.advance(ChronoDuration::seconds(6));
    until("gate alarm cleared", async || {
        s.alarms.alarm(alarm.id).await.unwrap().state == AlarmState::Cleared
    })
    .await;

    // A door forced open, closed again, answered.
    until("room door stream up", async || s.fleet.is_online(ROOM_DOOR)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    sims.room_door.push_access_event(0x1b, None, 1);
    until("forced alarm", async || open_alarms().await.iter().any(|a| a.kind == AlarmKind::DoorForced)).await;
    let forced = open_alarms().await.into_iter().find(|a| a.kind == AlarmKind::DoorForced).unwrap();
    sims.room_door.push_access_event(0x1a, None, 1);
    until("door closed", async || !s.alarms.alarm(forced.id).await.unwrap().active).await;
    s.gates.acknowledge_alarm(&supervisor(), forced.id, "已到现场查看，门已关好").await.unwrap();

    // The I/O module drops off and comes back.
    io.set_fault(ModbusFault::Offline);
    until("offline alarm", async || {
        open_alarms().await.iter().any(|a| a.kind == AlarmKind::DeviceOffline && a.source == GATE)
    })
    .await;
    io.set_fault(ModbusFault::None);
    until("module back", async || s.fleet.is_online(GATE)).await;

    // Fire: every area door released until an administrator restores.
    io.set_input(1, true);
    until("emergency", async || gate().await.phase == GatePhase::Emergency).await;
    until("fire alarm", async || open_alarms().await.iter().any(|a| a.kind == AlarmKind::FireAlarm)).await;
    io.set_input(1, false);
    tokio::time::sleep(Duration::from_millis(300)).await;
    v.clock.advance(ChronoDuration::seconds(1));
    until("fire input quiet", async || {
        v.clock.advance(ChronoDuration::milliseconds(50));
        gate().await.input_active == Some(false)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.gates.restore(&administrator(), "火情已排除，消防控制器已复位").await.unwrap();

    s.alarms.mute(&front_desk(), 10, "现场已知晓").await.unwrap();
    s.alarms.unmute(&front_desk()).await.unwrap();

    check_outbox(&v, GATE_TYPES).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_and_legal_hold_events_validate() {
    use venue_desk::media::{Recordings, chain::ClosedSegment, holds::HoldScope};
    let code = unique_venue_code();
    let v = Venue::open_with(
        |c| {
            no_receiver(c);
            c.code = code;
        },
        "2026-11-23T01:00:00Z",
    )
    .await;
    let s = &v.services;
    let m = Caller { operator_id: 4, username: username(Role::VenueManager), role: Role::VenueManager };
    let project = s
        .bookings
        .save_project(
            &m,
            &ProjectInput {
                id: None,
                version: None,
                tender_project_code: "E3101000001202611031".into(),
                name: "示范市第三中学操场改造工程".into(),
                category: TradingCategory::Construction,
                bid_section_codes: vec!["001".into()],
                tenderer_name: "示范市第三中学".into(),
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
            &m,
            &BookingInput {
                room_id: "pb-1".into(),
                project_id: project.id,
                bid_section_codes: vec!["001".into()],
                purpose: Purpose::Evaluation,
                start: "2026-11-24T09:00".into(),
                end: "2026-11-24T12:00".into(),
                setup_min: 30,
                cleanup_min: 30,
                expected_participants: 8,
                expected_experts: 7,
                overnight: false,
                days: 1,
                notes: String::new(),
                confirm: true,
            },
        )
        .await
        .unwrap()
        .remove(0);
    let rec = Recordings::from_services(s);
    let nine = chrono::DateTime::parse_from_rfc3339("2026-11-24T09:00:00+08:00").unwrap().timestamp_millis();
    // In the session (with the project) and outside any session (without).
    for (i, start) in [nine, nine + 86_400_000].into_iter().enumerate() {
        let rel = format!("cam-pb1-a/{i}.mkv");
        std::fs::create_dir_all(rec.recordings_dir().join("cam-pb1-a")).unwrap();
        std::fs::write(rec.recordings_dir().join(&rel), vec![i as u8; 1000]).unwrap();
        let segment = ClosedSegment {
            camera_id: "cam-pb1-a".into(),
            path: rel.into(),
            start_ms: start,
            end_ms: start + 60_000,
            recovered: i == 1,
        };
        rec.index_segment(&segment).await.unwrap();
    }
    rec.open_gap("cam-pb1-b", nine + 60_000, "no data for 5 s").await.unwrap();
    rec.close_gap("cam-pb1-b", nine + 120_000).await.unwrap();
    rec.record_gap("cam-kb1-front", nine, nine + 60_000, "application stopped unexpectedly").await.unwrap();
    let admin = administrator();
    let held = rec
        .place_hold(
            &supervisor(),
            &HoldScope::Project { tender_project_code: "E3101000001202611031".into() },
            "纪检监察调查",
        )
        .await
        .unwrap();
    rec.place_hold(&admin, &HoldScope::Booking { booking_id: booking.id }, "专家异议").await.unwrap();
    rec.place_hold(
        &admin,
        &HoldScope::Range { room_id: None, from_ms: nine, to_ms: nine + 3_600_000 },
        "投诉处理",
    )
    .await
    .unwrap();
    rec.place_hold(
        &admin,
        &HoldScope::Range { room_id: Some("kb-1".into()), from_ms: nine, to_ms: nine + 1 },
        "投诉处理",
    )
    .await
    .unwrap();
    rec.release_hold(&admin, held.id, "调查结束，监察室函告").await.unwrap();
    // An incident in the recorded minute of the session (the day has come), with a bidder and an
    // expert (masked); then a supervisor's bookmark (local only). (An incident on the unheld
    // segment would hold it from the purge below.)
    use venue_desk::media::incidents::{
        BookmarkInput, IncidentCategory, IncidentInput, PersonInput, PersonRole,
    };
    v.clock.advance(chrono::Duration::days(2));
    rec.record_incident(
        &supervisor(),
        &IncidentInput {
            category: Some(IncidentCategory::PrivateContact),
            description: "投标人代表与评标专家私下交谈".into(),
            room_id: "pb-1".into(),
            at_ms: nine + 30_000,
            people: vec![
                PersonInput {
                    role: PersonRole::Bidder,
                    name: "某建设有限公司 王五".into(),
                    identity: String::new(),
                },
                PersonInput {
                    role: PersonRole::Expert,
                    name: String::new(),
                    identity: "11010519700307123X".into(),
                },
            ],
        },
        &[],
    )
    .await
    .unwrap();
    rec.add_bookmark(
        &supervisor(),
        &BookmarkInput {
            room_id: Some("pb-1".into()),
            camera_id: None,
            at_ms: nine,
            note: "开始评标".into(),
        },
    )
    .await
    .unwrap();
    // A supervisor's manual start and stop (the camera is not simulated here: the start only has to
    // be journaled).
    use venue_desk::media::recorder::ControlTarget;
    let cam = ControlTarget::Camera { camera_id: "cam-pb1-a".into() };
    s.recorder.control(&supervisor(), &cam, true, "现场核查").await.unwrap();
    s.recorder.control(&supervisor(), &cam, false, "核查结束").await.unwrap();
    // Fifteen years on, retention purges the segment outside the held session.
    v.clock.advance(chrono::Duration::days(5480));
    let freed = rec.apply_retention(&s.alarms).await.unwrap();
    assert_eq!((freed.segments, freed.held), (1, 1), "{freed:?}");

    check_outbox(&v, RECORDING_TYPES).await;
}

/// A venue code of its own, so that keyring entries of tests running in parallel never meet.
fn unique_venue_code() -> String {
    let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("T-{n:x}{:x}", std::process::id())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_pull_events_validate() {
    const APP_KEY: &str = "contract-test";
    const APP_SECRET: &str = "contract-test-secret-0001";
    let code = unique_venue_code();
    let receiver =
        Receiver::start("127.0.0.1:0", ReceiverConfig::new(&code, APP_KEY, APP_SECRET.as_bytes())).unwrap();
    let base = receiver.base_url();
    // The receiver judges skew and the roster's day by the real clock, so the venue's starts there.
    let now = chrono::Utc::now();
    let v = Venue::open_with(
        |c| {
            c.code = code.clone();
            c.service.base_url = base.clone();
            c.service.allow_plain_http = true;
        },
        &now.to_rfc3339(),
    )
    .await;
    let s = &v.services;
    s.uplink.set_credentials(&administrator(), APP_KEY, APP_SECRET).await.unwrap();

    let today = now.with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
    let tomorrow = today.succ_opt().unwrap();
    let at = |day: chrono::NaiveDate, hm: &str| format!("{day}T{hm}:00+08:00");
    let project = PlatformProject {
        tender_project_code: "E3101000001202611031".into(),
        name: "示范市体育中心照明改造工程".into(),
        category: "construction".into(),
        tenderer_name: "示范市体育中心".into(),
        tenderer_credit_code: "91350100M000100Y43".into(),
        agency_name: None,
        agency_credit_code: None,
        responsible_staff: String::new(),
    };
    let request = |id: &str, action: PlatformAction, room: &str| PlatformBooking {
        platform_booking_id: id.into(),
        action,
        project: project.clone(),
        bid_section_codes: vec!["001".into()],
        room_id: room.into(),
        purpose: "bid_opening".into(),
        start: at(tomorrow, "09:00"),
        end: at(tomorrow, "10:00"),
        expected_participants: 12,
        expected_experts: 0,
        notes: String::new(),
    };
    receiver.add_bookings(vec![
        request("PB-1", PlatformAction::Request, "kb-2"),
        request("PB-2", PlatformAction::Request, "no-such-room"),
    ]);
    let session = |id: &str, code: &str, room: &str, has_roster: bool| PlatformSession {
        session_id: id.into(),
        platform_booking_id: None,
        tender_project_code: code.into(),
        bid_section_codes: vec!["001".into()],
        room_id: room.into(),
        purpose: "evaluation".into(),
        start: at(today, "20:00"),
        end: at(today, "22:00"),
        has_roster,
    };
    let experts = EXPERTS[..3]
        .iter()
        .enumerate()
        .map(|(i, (name, id))| PlatformExpert {
            name: name.to_string(),
            id_number: id.to_string(),
            expert_type: "技术".into(),
            is_chair: i == 0,
        })
        .collect();
    receiver.add_session(session("S-1", &project.tender_project_code, "pb-2", true), Some(experts));
    // A project the venue never registered and no request for it: refused.
    receiver.add_session(session("S-2", "E9999000001202611099", "pb-1", false), None);
    pull_all(s).await.unwrap();
    receiver.add_bookings(vec![request("PB-1", PlatformAction::Cancel, "kb-2")]);
    pull_all(s).await.unwrap();

    let events = check_outbox(&v, PLATFORM_TYPES).await;
    let by_platform: BTreeSet<&str> =
        events.iter().filter(|e| e.payload["actor"] == "platform").map(|e| e.event_type.as_str()).collect();
    for t in [
        "PROJECT_SAVED",
        "BOOKING_CREATED",
        "BOOKING_CANCELLED",
        "EXPERT_ROSTER_IMPORTED",
        "PLATFORM_DATA_REFUSED",
    ] {
        assert!(by_platform.contains(t), "no {t} on behalf of the platform: {by_platform:?}");
    }
    let refused: BTreeSet<&str> = events
        .iter()
        .filter(|e| e.event_type == "PLATFORM_DATA_REFUSED")
        .filter_map(|e| e.payload["detail"]["what"].as_str())
        .collect();
    assert_eq!(refused, BTreeSet::from(["booking_request", "session"]));
    receiver.stop();
}

// ---- 3. the document holds together ----------------------------------------------------------

fn walk<'a>(v: &'a Value, at: String, out: &mut Vec<(String, &'a Value)>) {
    out.push((at.clone(), v));
    match v {
        Value::Object(m) => m
            .iter()
            .for_each(|(k, x)| walk(x, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out)),
        Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| walk(x, format!("{at}/{i}"), out)),
        _ => {}
    }
}

fn resolve(r: &str) -> Option<&'static Value> {
    doc().pointer(r.strip_prefix('#')?)
}

#[test]
fn the_document_parses_and_every_ref_resolves() {
    let d = doc();
    assert!(d["openapi"].as_str().is_some_and(|v| v.starts_with("3.1.")), "an OpenAPI 3.1 document");
    for p in [
        "/api/v1/venues/{venueCode}/events",
        "/api/v1/venues/{venueCode}/bookings",
        "/api/v1/venues/{venueCode}/sessions",
        "/api/v1/sessions/{sessionId}/roster",
    ] {
        assert!(d["paths"][p].is_object(), "path {p} is documented");
    }
    let mut nodes = Vec::new();
    walk(d, String::new(), &mut nodes);
    let broken: Vec<String> = nodes
        .iter()
        .filter_map(|(at, v)| Some((at, v.get("$ref")?.as_str()?)))
        .filter(|(_, r)| resolve(r).is_none())
        .map(|(at, r)| format!("{at}: $ref {r}"))
        .collect();
    assert!(broken.is_empty(), "unresolved $ref:\n  {}", broken.join("\n  "));
    let refs = nodes.iter().filter(|(_, v)| v.get("$ref").is_some()).count();
    assert!(refs > 100, "found only {refs} $refs: is the walk broken?");

    // Every schema compiles as JSON Schema 2020-12.
    for name in schemas().keys() {
        validator(name);
    }
}

/// Every example the document gives validates against the schema it is given for; an example
/// event also against its type's schema and the receiver's checks (its hash recomputes).
#[test]
fn the_documents_examples_validate() {
    let mut nodes = Vec::new();
    walk(doc(), String::new(), &mut nodes);
    let mut checked = 0;
    let mut failures = Vec::new();
    for (at, media) in nodes.iter().filter(|(at, _)| at.contains("/content/")) {
        let Some(schema_ref) = media["schema"]["$ref"].as_str() else { continue };
        let name = schema_ref.trim_start_matches("#/components/schemas/");
        let mut examples: Vec<&Value> = media.get("example").into_iter().collect();
        for ex in media["examples"].as_object().into_iter().flat_map(|m| m.values()) {
            let ex = ex["$ref"].as_str().and_then(resolve).unwrap_or(ex);
            examples.push(&ex["value"]);
        }
        let v = validator(name);
        for ex in examples {
            checked += 1;
            failures.extend(violations(&v, ex).into_iter().map(|p| format!("{at} ({name}): {p}")));
            for e in ex["events"].as_array().into_iter().flatten() {
                let t = e["type"].as_str().unwrap_or("?");
                failures.extend(
                    violations(&validator(&format!("Event_{t}")), e)
                        .into_iter()
                        .map(|p| format!("{at} {t}: {p}")),
                );
            }
            if let Some(events) = ex["events"].as_array() {
                failures.extend(receiver_checks(events).into_iter().map(|p| format!("{at}: {p}")));
            }
        }
    }
    assert!(checked >= 10, "found only {checked} examples");
    assert!(failures.is_empty(), "examples that do not match their schema:\n  {}", failures.join("\n  "));
}

// ---- 4. wire types and document agree ---------------------------------------------------------

/// The named schemas closed to the properties they list, so that a field the Rust type adds or
/// renames fails validation (the document leaves them open: the client ignores unknown fields).
fn closed(names: &[&str]) -> Value {
    let mut all = doc()["components"]["schemas"].clone();
    for n in names {
        let s = all.get_mut(*n).unwrap_or_else(|| panic!("no schema {n}"));
        if s.get("properties").is_some() && s.get("additionalProperties").is_none() {
            s["additionalProperties"] = json!(false);
        }
    }
    all
}

type Reader = fn(&Value) -> Result<(), serde_json::Error>;

#[test]
fn wire_types_and_document_describe_the_same_json() {
    let strict = closed(&[
        "EventsReply",
        "RejectedEvent",
        "ErrorReply",
        "BookingPage",
        "PlatformBooking",
        "PlatformProject",
        "SessionList",
        "PlatformSession",
        "RosterReply",
        "PlatformExpert",
    ]);
    let project = PlatformProject {
        tender_project_code: "E3101000001202611001".into(),
        name: "示范市滨江路排水管网改造工程".into(),
        category: "construction".into(),
        tenderer_name: "示范市市政工程管理处".into(),
        tenderer_credit_code: "91350100M000100Y43".into(),
        agency_name: Some("示范招标代理有限公司".into()),
        agency_credit_code: Some("91350100M000100Y43".into()),
        responsible_staff: "李娜".into(),
    };
    let samples: Vec<(&str, Value)> = vec![
        (
            "EventsReply",
            serde_json::to_value(EventsReply {
                accepted: vec!["0b0a4c5e-53a3-4f7e-9d2c-8f1b7f3e2a10".into()],
                duplicates: vec![],
                rejected: vec![RejectedEvent {
                    event_id: "9e1d2c3b-4a5f-4e6d-8c7b-a1b2c3d4e5f6".into(),
                    code: "invalid_payload".into(),
                    reason: "缺少 TENDER_PROJECT_CODE".into(),
                }],
            })
            .unwrap(),
        ),
        (
            "ErrorReply",
            serde_json::to_value(ErrorReply { code: "rate_limited".into(), message: "稍后再试".into() })
                .unwrap(),
        ),
        (
            "BookingPage",
            serde_json::to_value(BookingPage {
                items: vec![PlatformBooking {
                    platform_booking_id: "PB-1".into(),
                    action: PlatformAction::Cancel,
                    project: project.clone(),
                    bid_section_codes: vec!["001".into()],
                    room_id: "pb-1".into(),
                    purpose: "evaluation".into(),
                    start: "2026-11-24T09:00:00+08:00".into(),
                    end: "2026-11-24T12:00:00+08:00".into(),
                    expected_participants: 0,
                    expected_experts: 5,
                    notes: String::new(),
                }],
                next: "c-2".into(),
                more: true,
            })
            .unwrap(),
        ),
        (
            "SessionList",
            serde_json::to_value(SessionList {
                items: vec![PlatformSession {
                    session_id: "S-1".into(),
                    platform_booking_id: None,
                    tender_project_code: "E3101000001202611001".into(),
                    bid_section_codes: vec!["001".into(), "002".into()],
                    room_id: "kb-1".into(),
                    purpose: "bid_opening".into(),
                    start: "2026-11-23T09:00:00+08:00".into(),
                    end: "2026-11-23T10:00:00+08:00".into(),
                    has_roster: false,
                }],
            })
            .unwrap(),
        ),
        (
            "RosterReply",
            serde_json::to_value(RosterReply {
                session_id: "S-1".into(),
                experts: vec![PlatformExpert {
                    name: "王建国".into(),
                    id_number: "11010519700307123X".into(),
                    expert_type: "技术".into(),
                    is_chair: true,
                }],
            })
            .unwrap(),
        ),
    ];
    let mut failures = Vec::new();
    for (name, value) in &samples {
        let v = validator_with(&strict, name);
        failures
            .extend(violations(&v, value).into_iter().map(|p| format!("{name} as the app writes it: {p}")));
    }
    // The other way: the client reads what the document shows.
    let examples = &doc()["components"]["examples"];
    let reads: [(&str, Reader); 4] = [
        ("EventsReplyMixed", |v| serde_json::from_value::<EventsReply>(v.clone()).map(drop)),
        ("BookingPageOne", |v| serde_json::from_value::<BookingPage>(v.clone()).map(drop)),
        ("SessionListOne", |v| serde_json::from_value::<SessionList>(v.clone()).map(drop)),
        ("RosterReplyTwo", |v| serde_json::from_value::<RosterReply>(v.clone()).map(drop)),
    ];
    for (name, read) in reads {
        if let Err(e) = read(&examples[name]["value"]) {
            failures.push(format!("example {name} does not deserialise into the wire type: {e}"));
        }
    }
    if let Err(e) = serde_json::from_value::<EventBatch>(examples["EventBatchOneCheckIn"]["value"].clone()) {
        failures.push(format!("example EventBatchOneCheckIn does not deserialise into EventBatch: {e}"));
    }
    // A reply holding only what the schema requires is one the client can read.
    for (name, minimal) in
        [("BookingPage", json!({"items": [], "next": ""})), ("SessionList", json!({"items": []}))]
    {
        failures.extend(
            violations(&validator(name), &minimal).into_iter().map(|p| format!("minimal {name}: {p}")),
        );
    }
    if let Err(e) = serde_json::from_value::<BookingPage>(json!({"items": [], "next": ""})) {
        failures.push(format!("a BookingPage with only the required fields does not deserialise: {e}"));
    }
    assert!(failures.is_empty(), "wire.rs and the document disagree:\n  {}", failures.join("\n  "));

    // The error codes and limits wire.rs names are the document's.
    let codes: BTreeSet<&str> =
        schemas()["ErrorCode"]["enum"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    for c in [
        "bad_signature",
        "unknown_app_key",
        "clock_skew",
        "replayed_nonce",
        "malformed_request",
        "batch_too_large",
        "venue_mismatch",
        "rate_limited",
        "unavailable",
        "not_found",
        "not_session_day",
    ] {
        assert!(codes.contains(c), "ErrorCode lacks {c}");
    }
    assert_eq!(
        schemas()["EventBatch"]["properties"]["events"]["maxItems"].as_u64(),
        Some(MAX_EVENTS_PER_BATCH as u64)
    );
}

// ---- 5. the worked examples -------------------------------------------------------------------

const EXAMPLE_SECRET: &[u8] = b"demo-secret-0123456789abcdef";
const EXAMPLE_NONCE: &str = "00112233445566778899aabbccddeeff";
const EXAMPLE_TIMESTAMP: i64 = 1_795_392_600;
const EXAMPLE_POST_SIGNATURE: &str = "871913ffb1b1df474eb152b8b7cb8bea3443c0070cf91be31995471158b60bfe";
const EXAMPLE_GET_SIGNATURE: &str = "a99332ced9272d0ed846503039dd5d8ca6e8465f46fd1e5fbfff59dc7172199f";
const EXAMPLE_RECORD_HASH: &str = "e93e7183a3ad9ba451bf8472006a9b03b0561f60e88b094c7ca3b20247a94802";

#[test]
fn the_worked_examples_are_right() {
    let post = signing::signature(
        EXAMPLE_SECRET,
        "POST",
        "/api/v1/venues/DEMO-01/events",
        EXAMPLE_TIMESTAMP,
        EXAMPLE_NONCE,
        br#"{"events":[]}"#,
    );
    assert_eq!(post, EXAMPLE_POST_SIGNATURE);
    let get = signing::signature(
        EXAMPLE_SECRET,
        "GET",
        "/api/v1/venues/DEMO-01/bookings?since=&limit=500",
        EXAMPLE_TIMESTAMP,
        EXAMPLE_NONCE,
        b"",
    );
    assert_eq!(get, EXAMPLE_GET_SIGNATURE);
    assert!(DOC.contains(EXAMPLE_POST_SIGNATURE), "service-system.yaml shows the POST example");
    assert!(README.contains(EXAMPLE_POST_SIGNATURE) && README.contains(EXAMPLE_GET_SIGNATURE));

    let record = json!({
        "seq": 1, "recordedAt": "2026-11-23T08:30:00+08:00", "recordedAtMs": 1_795_392_600_000_i64,
        "actor": "zhang", "actorRole": "front_desk", "kind": "operator.login", "subject": "zhang",
        "outcome": "ok", "detail": "{\"via\":\"password\"}",
    });
    assert_eq!(recompute_hash(&record, venue_desk::journal::GENESIS_HASH), EXAMPLE_RECORD_HASH);
    assert!(README.contains(EXAMPLE_RECORD_HASH), "README.md shows the hash example");
}
