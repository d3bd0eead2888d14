//! What the journal records, and which records go upward (and under which event type).

macro_rules! event_kinds {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal, $upward:expr; )*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventKind { $( $(#[$doc])* $variant, )* }

        impl EventKind {
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant),*];

            /// The name stored in the journal.
            pub fn as_str(self) -> &'static str {
                match self { $(EventKind::$variant => $name,)* }
            }

            /// The event type sent to the comprehensive service system; `None` stays local.
            pub fn upward_type(self) -> Option<&'static str> {
                match self { $(EventKind::$variant => $upward,)* }
            }
        }
    };
}

event_kinds! {
    /// The application started with a venue configuration.
    AppStarted => "app.started", None;
    /// First administrator created at first run.
    FirstAdministratorCreated => "operator.first_admin", Some("OPERATOR_CREATED");
    OperatorLogin => "operator.login", Some("OPERATOR_LOGIN");
    OperatorLogout => "operator.logout", Some("OPERATOR_LOGOUT");
    /// Too many failed sign-ins; the account is locked.
    OperatorLockedOut => "operator.locked_out", Some("OPERATOR_LOCKED_OUT");
    SessionLocked => "operator.session_locked", None;
    SessionUnlocked => "operator.session_unlocked", None;
    SecondFactorEnrolled => "operator.totp_enrolled", Some("OPERATOR_2FA_ENROLLED");
    OwnPasswordChanged => "operator.password_changed", Some("OPERATOR_PASSWORD_CHANGED");
    OperatorCreated => "operator.created", Some("OPERATOR_CREATED");
    OperatorDisabled => "operator.disabled", Some("OPERATOR_DISABLED");
    OperatorEnabled => "operator.enabled", Some("OPERATOR_ENABLED");
    OperatorPasswordReset => "operator.password_reset", Some("OPERATOR_PASSWORD_RESET");
    OperatorRoleChanged => "operator.role_changed", Some("OPERATOR_ROLE_CHANGED");
    SecondFactorReset => "operator.totp_reset", Some("OPERATOR_2FA_RESET");
    /// A command was refused because the operator's role does not allow it.
    AccessDenied => "operator.access_denied", Some("OPERATOR_ACCESS_DENIED");
    JournalVerified => "journal.verified", None;
    /// A room was added, changed or retired to match the venue file.
    RoomSynced => "room.synced", None;
    RoomUpdated => "room.updated", Some("ROOM_UPDATED");
    ProjectSaved => "project.saved", Some("PROJECT_SAVED");
    BookingCreated => "booking.created", Some("BOOKING_CREATED");
    BookingChanged => "booking.changed", Some("BOOKING_CHANGED");
    BookingStateChanged => "booking.state_changed", Some("BOOKING_STATE_CHANGED");
    BookingCancelled => "booking.cancelled", Some("BOOKING_CANCELLED");
    StatisticsExported => "statistics.exported", None;
    /// A device came online, went offline, or reported a fault.
    DeviceHealth => "device.health", Some("DEVICE_HEALTH");
    /// An administrator stored a device's password in the keyring.
    DevicePasswordSet => "device.password_set", Some("DEVICE_CREDENTIAL_CHANGED");
    RosterImported => "roster.imported", Some("EXPERT_ROSTER_IMPORTED");
    /// 补抽 — a substitute expert added by a supervisor.
    SubstituteAdded => "roster.substitute_added", Some("EXPERT_SUBSTITUTE_ADDED");
    /// Names and ID numbers of finished sessions erased by the retention policy.
    RosterPurged => "roster.purged", Some("EXPERT_ROSTER_PURGED");
    /// An ID number matched no roster of the day (kept locally: repeated misses may be probing).
    ExpertNotFound => "checkin.not_found", None;
    ExpertCheckedIn => "checkin.checked_in", Some("EXPERT_CHECK_IN");
    CheckInCancelled => "checkin.cancelled", Some("EXPERT_CHECK_IN_CANCELLED");
    ExpertCheckedOut => "checkin.checked_out", Some("EXPERT_CHECK_OUT");
    /// An expert went out of the evaluation area during the session; the credential is suspended.
    ExpertLeftArea => "checkin.left_area", Some("EXPERT_LEFT_AREA");
    ReentryApproved => "checkin.reentry_approved", Some("EXPERT_REENTRY_APPROVED");
    LockerOpened => "locker.opened", Some("LOCKER_OPENED");
    LockerReleased => "locker.released", Some("LOCKER_RELEASED");
    LockerFault => "locker.fault", Some("LOCKER_FAULT");
    CredentialsReconciled => "credentials.reconciled", Some("CREDENTIALS_RECONCILED");
    /// An access event from a door controller (card, face, exit button, door contact).
    DoorEvent => "door.event", Some("DOOR_ACCESS_EVENT");
    RollCallExported => "rollcall.exported", None;
    AlarmRaised => "alarm.raised", Some("ALARM_RAISED");
    AlarmAcknowledged => "alarm.acknowledged", Some("ALARM_ACKNOWLEDGED");
    AlarmCleared => "alarm.cleared", Some("ALARM_CLEARED");
    /// Alarm sounds silenced for a while (the banner stays).
    AlarmSoundMuted => "alarm.muted", Some("ALARM_SOUND_MUTED");
    AlarmSoundUnmuted => "alarm.unmuted", Some("ALARM_SOUND_UNMUTED");
    /// 单次放行 — the front desk let one person through a gate in alarm.
    GateOpenedOnce => "gate.open_once", Some("GATE_OPEN_ONCE");
    /// A door was put in a mode (held closed, normal, released) and the controller answered.
    DoorModeCommanded => "door.mode", Some("DOOR_MODE_COMMANDED");
    /// 火警联动 — every door of the evaluation area released.
    EmergencyRelease => "emergency.release", Some("EMERGENCY_RELEASE");
    EmergencyRestored => "emergency.restored", Some("EMERGENCY_RESTORED");
    /// The service system's app key and secret were replaced (the secret is never journaled).
    ServiceCredentialsChanged => "sync.credentials_changed", Some("SERVICE_CREDENTIALS_CHANGED");
    /// The receiver refused an event as invalid; it waits for an administrator (kept local: the
    /// receiver already knows).
    OutboxEventParked => "sync.event_parked", None;
    OutboxEventRequeued => "sync.event_requeued", None;
    /// A booking request, session or roster from the platform that the venue could not take, with
    /// the reason (sent upward so the platform can correct it).
    PlatformDataRefused => "sync.platform_data_refused", Some("PLATFORM_DATA_REFUSED");
    /// 录像分段 — a recorded segment was closed, hashed, chained to its camera's previous one and indexed.
    RecordingSegmentClosed => "recording.segment_closed", Some("RECORDING_SEGMENT_CLOSED");
    /// A camera stopped delivering (the gap opens) or delivered again (it closes).
    RecordingGap => "recording.gap", Some("RECORDING_GAP");
    /// A supervisor started or stopped recording by hand, with the reason.
    RecordingControlled => "recording.controlled", Some("RECORDING_CONTROLLED");
    /// Retention removed a camera's segment files (the index rows stay, marked purged).
    RecordingsPurged => "recording.purged", Some("RECORDING_PURGED");
    /// 一项一档 — a project's recordings exported with their signed manifest.
    RecordingsExported => "recording.exported", None;
    /// 证据保全 — segments kept whatever the retention policy says.
    LegalHoldPlaced => "legal_hold.placed", Some("LEGAL_HOLD_PLACED");
    LegalHoldReleased => "legal_hold.released", Some("LEGAL_HOLD_RELEASED");
    /// 不良交易行为 / 异常情况 — a supervisor recorded an incident (its hold and bookmark with it).
    IncidentRecorded => "incident.recorded", Some("INCIDENT_RECORDED");
    /// A supervisor's bookmark on the recording timeline: a local aid to find a moment again
    /// (an incident's bookmark travels upward inside INCIDENT_RECORDED).
    BookmarkAdded => "bookmark.added", None;
}
