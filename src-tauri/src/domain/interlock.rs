//! 通讯检测门联动 — the detector gate's interlock with the evaluation-area entrance, as a pure state
//! machine: samples and staff actions go in with their time, the phase and the door mode the
//! entrance should be in come out. No I/O and no clock here; the gate service feeds it and carries
//! out what it asks, and the tests walk every transition.
//!
//! Safety leans one way: an active input holds the door at once (a glitch costs a short hold and
//! an alarm someone acknowledges), while going back to normal needs the input quiet for the
//! release debounce, then quiet for the clearing time, and an acknowledgement. The fire alarm
//! overrides everything and only an administrator ends it.

use crate::alerts::views::{DoorMode, GatePhase};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterlockRules {
    /// An inactive reading must last this long before it counts (a flapping relay stays "active").
    pub release_debounce_ms: i64,
    /// After the input is quiet, the alarm can clear only once this much time has passed.
    pub clear_after_quiet_ms: i64,
    /// How long an "open once" override keeps the door on card control.
    pub override_ms: i64,
}

impl Default for InterlockRules {
    fn default() -> Self {
        InterlockRules { release_debounce_ms: 300, clear_after_quiet_ms: 10_000, override_ms: 10_000 }
    }
}

/// What the service must do after a step, besides putting the door in `Interlock::door_mode()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Raise the gate alarm (a phone or radio detected).
    RaiseGateAlarm,
    ClearGateAlarm,
    RaiseFireAlarm,
    ClearFireAlarm,
    /// Unlock the entrance once (the override): a single `open` command.
    PulseOpen,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interlock {
    rules: InterlockRules,
    phase: GatePhase,
    /// Debounced gate input; None until the first reading.
    input: Option<bool>,
    /// A pending inactive reading and since when (release debounce).
    quiet_from_ms: Option<i64>,
    /// When the debounced input went inactive during an alarm.
    cleared_input_at_ms: Option<i64>,
    acknowledged: bool,
    fire: bool,
    override_until_ms: Option<i64>,
}

impl Interlock {
    pub fn new(rules: InterlockRules) -> Interlock {
        Interlock {
            rules,
            phase: GatePhase::Normal,
            input: None,
            quiet_from_ms: None,
            cleared_input_at_ms: None,
            acknowledged: false,
            fire: false,
            override_until_ms: None,
        }
    }

    pub fn phase(&self) -> GatePhase {
        self.phase
    }

    pub fn input(&self) -> Option<bool> {
        self.input
    }

    /// The entrance door's mode for the current phase (the service keeps commanding until the
    /// controller confirms it).
    pub fn door_mode(&self) -> DoorMode {
        match self.phase {
            GatePhase::Normal | GatePhase::OverrideOnce => DoorMode::Normal,
            GatePhase::Alarm | GatePhase::Clearing => DoorMode::HeldClosed,
            GatePhase::Emergency => DoorMode::Released,
        }
    }

    /// Quiet long enough; only an acknowledgement is missing.
    pub fn awaiting_acknowledgement(&self, now_ms: i64) -> bool {
        self.phase == GatePhase::Clearing && !self.acknowledged && self.quiet_long_enough(now_ms)
    }

    fn quiet_long_enough(&self, now_ms: i64) -> bool {
        self.cleared_input_at_ms.is_some_and(|t| now_ms - t >= self.rules.clear_after_quiet_ms)
    }

    /// A raw reading of the gate input (already mapped through the configured active level).
    pub fn gate_sample(&mut self, active: bool, at_ms: i64) -> Vec<Effect> {
        if active {
            self.quiet_from_ms = None;
            if self.input != Some(true) {
                self.input = Some(true);
                return self.input_became(true, at_ms);
            }
            return self.tick(at_ms);
        }
        match (self.input, self.quiet_from_ms) {
            // The first reading ever needs no debounce: there is nothing to release.
            (None, _) => {
                self.input = Some(false);
                Vec::new()
            }
            (Some(false), _) => self.tick(at_ms),
            (Some(true), None) => {
                self.quiet_from_ms = Some(at_ms);
                self.tick(at_ms)
            }
            (Some(true), Some(from)) if at_ms - from >= self.rules.release_debounce_ms => {
                self.quiet_from_ms = None;
                self.input = Some(false);
                self.input_became(false, at_ms)
            }
            (Some(true), Some(_)) => self.tick(at_ms),
        }
    }

    fn input_became(&mut self, active: bool, at_ms: i64) -> Vec<Effect> {
        match (self.phase, active) {
            (GatePhase::Normal, true) => {
                self.phase = GatePhase::Alarm;
                self.acknowledged = false;
                self.cleared_input_at_ms = None;
                vec![Effect::RaiseGateAlarm]
            }
            (GatePhase::Clearing, true) => {
                // Detected again before clearing: the same alarm goes on, the quiet time restarts.
                self.phase = GatePhase::Alarm;
                self.cleared_input_at_ms = None;
                Vec::new()
            }
            (GatePhase::Alarm, false) => {
                self.phase = GatePhase::Clearing;
                self.cleared_input_at_ms = Some(at_ms);
                self.tick(at_ms)
            }
            (GatePhase::OverrideOnce, false) => {
                self.cleared_input_at_ms.get_or_insert(at_ms);
                Vec::new()
            }
            (GatePhase::OverrideOnce, true) => {
                self.cleared_input_at_ms = None;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// Time passes: ends an override, and clears the alarm once quiet long enough and acknowledged.
    pub fn tick(&mut self, now_ms: i64) -> Vec<Effect> {
        if self.phase == GatePhase::OverrideOnce && self.override_until_ms.is_some_and(|u| now_ms >= u) {
            self.override_until_ms = None;
            self.phase = if self.input == Some(true) { GatePhase::Alarm } else { GatePhase::Clearing };
            if self.phase == GatePhase::Clearing {
                self.cleared_input_at_ms.get_or_insert(now_ms);
            }
        }
        if self.phase == GatePhase::Clearing && self.acknowledged && self.quiet_long_enough(now_ms) {
            self.phase = GatePhase::Normal;
            self.cleared_input_at_ms = None;
            self.acknowledged = false;
            return vec![Effect::ClearGateAlarm];
        }
        Vec::new()
    }

    /// A member of staff answered the gate alarm.
    pub fn acknowledge(&mut self, now_ms: i64) -> Result<Vec<Effect>> {
        match self.phase {
            GatePhase::Alarm | GatePhase::Clearing | GatePhase::OverrideOnce if !self.acknowledged => {
                self.acknowledged = true;
                Ok(self.tick(now_ms))
            }
            GatePhase::Alarm | GatePhase::Clearing | GatePhase::OverrideOnce => Err(Error::precondition(
                "该报警已经确认过了。报警将在检测门恢复安静后自动解除。",
                "This alarm has already been acknowledged; it clears once the gate has been quiet long enough.",
            )),
            _ => Err(Error::precondition(
                "检测门当前没有报警需要确认。",
                "The gate has no alarm to acknowledge.",
            )),
        }
    }

    /// 单次放行 — the front desk lets one person through while the gate is in alarm.
    pub fn open_once(&mut self, reason: &str, now_ms: i64) -> Result<Vec<Effect>> {
        if reason.trim().chars().count() < 2 {
            return Err(Error::invalid(
                "单次放行必须填写原因（至少两个字），会记入日志。",
                "Opening once needs a reason (at least two characters); it goes into the journal.",
            ));
        }
        match self.phase {
            GatePhase::Alarm | GatePhase::Clearing | GatePhase::OverrideOnce => {
                self.phase = GatePhase::OverrideOnce;
                self.override_until_ms = Some(now_ms + self.rules.override_ms);
                Ok(vec![Effect::PulseOpen])
            }
            GatePhase::Emergency => Err(Error::precondition(
                "火警联动中，所有门已释放，无需放行。",
                "The fire alarm has released every door; there is nothing to open.",
            )),
            GatePhase::Normal => Err(Error::precondition(
                "检测门没有报警，门禁正常刷卡即可进入。",
                "The gate is not in alarm; the door works with credentials as usual.",
            )),
        }
    }

    /// The fire-alarm input (debounced by the caller's poll: a fire alarm acts at once).
    pub fn fire_sample(&mut self, active: bool) -> Vec<Effect> {
        let was = self.fire;
        self.fire = active;
        if active && !was && self.phase != GatePhase::Emergency {
            self.phase = GatePhase::Emergency;
            self.override_until_ms = None;
            return vec![Effect::RaiseFireAlarm];
        }
        Vec::new()
    }

    pub fn fire_active(&self) -> bool {
        self.fire
    }

    /// An administrator ends the emergency release. Refused while the fire input is still active.
    pub fn restore(&mut self) -> Result<Vec<Effect>> {
        if self.phase != GatePhase::Emergency {
            return Err(Error::precondition(
                "当前不在火警联动状态。",
                "There is no emergency release to end.",
            ));
        }
        if self.fire {
            return Err(Error::precondition(
                "火警信号仍然存在，不能恢复。请先确认火情已排除、火警控制器已复位。",
                "The fire-alarm input is still active. Make sure the fire is out and the fire panel has been \
                 reset, then restore.",
            ));
        }
        let mut effects = vec![Effect::ClearFireAlarm];
        if self.input == Some(true) {
            self.phase = GatePhase::Alarm;
            self.acknowledged = false;
            effects.push(Effect::RaiseGateAlarm);
        } else {
            self.phase = GatePhase::Normal;
        }
        self.cleared_input_at_ms = None;
        Ok(effects)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine() -> Interlock {
        Interlock::new(InterlockRules {
            release_debounce_ms: 300,
            clear_after_quiet_ms: 10_000,
            override_ms: 5_000,
        })
    }

    /// Feeds a level every 50 ms from `from` to `to` (exclusive), collecting effects.
    fn hold(m: &mut Interlock, active: bool, from: i64, to: i64) -> Vec<Effect> {
        (from..to).step_by(50).flat_map(|t| m.gate_sample(active, t)).collect()
    }

    #[test]
    fn a_detection_holds_the_door_at_once_and_raises_one_alarm() {
        let mut m = machine();
        assert_eq!(m.gate_sample(false, 0), vec![]);
        assert_eq!(m.door_mode(), DoorMode::Normal);
        assert_eq!(m.gate_sample(true, 50), vec![Effect::RaiseGateAlarm]);
        assert_eq!((m.phase(), m.door_mode()), (GatePhase::Alarm, DoorMode::HeldClosed));
        assert_eq!(hold(&mut m, true, 100, 2_000), vec![], "no second alarm while active");
    }

    #[test]
    fn clearing_needs_quiet_time_and_an_acknowledgement_in_either_order() {
        // Acknowledged first, quiet afterwards.
        let mut m = machine();
        m.gate_sample(true, 0);
        assert_eq!(m.acknowledge(100).unwrap(), vec![]);
        hold(&mut m, false, 200, 600);
        assert_eq!(m.phase(), GatePhase::Clearing, "debounced after 300 ms");
        assert_eq!(m.door_mode(), DoorMode::HeldClosed);
        assert_eq!(m.tick(500 + 9_000), vec![]);
        assert_eq!(m.tick(500 + 10_000), vec![Effect::ClearGateAlarm]);
        assert_eq!((m.phase(), m.door_mode()), (GatePhase::Normal, DoorMode::Normal));

        // Quiet first, acknowledged afterwards.
        let mut m = machine();
        m.gate_sample(true, 0);
        hold(&mut m, false, 50, 400);
        assert!(!m.awaiting_acknowledgement(5_000));
        assert_eq!(m.tick(20_000), vec![], "never clears without an acknowledgement");
        assert!(m.awaiting_acknowledgement(20_000));
        assert_eq!(m.acknowledge(20_000).unwrap(), vec![Effect::ClearGateAlarm]);
        assert_eq!(m.phase(), GatePhase::Normal);
    }

    #[test]
    fn a_flapping_input_never_releases_the_door() {
        let mut m = machine();
        m.gate_sample(true, 0);
        m.acknowledge(0).unwrap();
        // On for 50 ms, off for 200 ms, over and over: never quiet for the 300 ms debounce.
        let mut t = 50;
        while t < 30_000 {
            assert!(m.gate_sample(false, t).is_empty());
            assert!(m.gate_sample(false, t + 100).is_empty());
            assert!(m.gate_sample(false, t + 200).is_empty());
            assert!(m.gate_sample(true, t + 250).is_empty());
            assert_eq!(m.door_mode(), DoorMode::HeldClosed);
            t += 300;
        }
        assert_eq!(m.phase(), GatePhase::Alarm);
    }

    #[test]
    fn detected_again_while_clearing_restarts_the_quiet_time() {
        let mut m = machine();
        m.gate_sample(true, 0);
        m.acknowledge(0).unwrap();
        hold(&mut m, false, 50, 400);
        assert_eq!(m.phase(), GatePhase::Clearing);
        assert_eq!(m.gate_sample(true, 5_000), vec![], "the same alarm continues");
        assert_eq!(m.phase(), GatePhase::Alarm);
        hold(&mut m, false, 5_050, 5_400);
        assert_eq!(m.tick(12_000), vec![], "quiet time counts from the second quiet period");
        assert_eq!(m.tick(5_350 + 10_000), vec![Effect::ClearGateAlarm]);
    }

    #[test]
    fn acknowledging_twice_or_without_an_alarm_is_refused() {
        let mut m = machine();
        assert!(m.acknowledge(0).is_err());
        m.gate_sample(true, 0);
        m.acknowledge(10).unwrap();
        let e = m.acknowledge(20).unwrap_err();
        assert!(e.message_in(crate::error::Locale::En).contains("already"));
    }

    #[test]
    fn open_once_needs_a_reason_and_returns_to_the_hold() {
        let mut m = machine();
        assert!(m.open_once("专家家属送药", 0).is_err(), "no alarm, nothing to override");
        m.gate_sample(true, 0);
        assert!(m.open_once(" ", 10).is_err());
        assert_eq!(m.open_once("工作人员携带对讲机", 100).unwrap(), vec![Effect::PulseOpen]);
        assert_eq!((m.phase(), m.door_mode()), (GatePhase::OverrideOnce, DoorMode::Normal));
        assert_eq!(hold(&mut m, true, 150, 5_000), vec![]);
        assert_eq!(m.gate_sample(true, 5_100), vec![]);
        assert_eq!((m.phase(), m.door_mode()), (GatePhase::Alarm, DoorMode::HeldClosed));
        // Override while the input went quiet: back to clearing, not to normal.
        let mut m = machine();
        m.gate_sample(true, 0);
        m.open_once("工作人员携带对讲机", 0).unwrap();
        hold(&mut m, false, 50, 6_000);
        assert_eq!(m.phase(), GatePhase::Clearing);
        assert_eq!(m.acknowledge(17_000).unwrap(), vec![Effect::ClearGateAlarm]);
    }

    #[test]
    fn the_fire_alarm_releases_and_only_a_restore_ends_it() {
        let mut m = machine();
        m.gate_sample(true, 0);
        assert_eq!(m.fire_sample(true), vec![Effect::RaiseFireAlarm]);
        assert_eq!((m.phase(), m.door_mode()), (GatePhase::Emergency, DoorMode::Released));
        assert!(m.fire_sample(true).is_empty());
        // Gate activity, acknowledgements and overrides do not change the release.
        hold(&mut m, false, 50, 1_000);
        assert!(m.open_once("测试", 1_000).is_err());
        assert_eq!(m.door_mode(), DoorMode::Released);
        assert!(m.restore().is_err(), "fire input still active");
        assert!(m.fire_sample(false).is_empty());
        assert_eq!(m.phase(), GatePhase::Emergency, "the input going quiet does not end it");
        assert_eq!(m.restore().unwrap(), vec![Effect::ClearFireAlarm]);
        assert_eq!((m.phase(), m.door_mode()), (GatePhase::Normal, DoorMode::Normal));
        assert!(m.restore().is_err());
    }

    #[test]
    fn restoring_with_the_gate_still_detecting_goes_back_to_the_hold() {
        let mut m = machine();
        m.fire_sample(true);
        m.gate_sample(true, 0);
        m.fire_sample(false);
        assert_eq!(m.restore().unwrap(), vec![Effect::ClearFireAlarm, Effect::RaiseGateAlarm]);
        assert_eq!(m.door_mode(), DoorMode::HeldClosed);
    }

    /// Every phase, under every input, ends in a phase whose door mode matches the table, and
    /// never leaves Emergency except by restore.
    #[test]
    fn exhaustive_walk_keeps_the_invariants() {
        #[derive(Clone, Copy, Debug)]
        enum Step {
            Gate(bool),
            Fire(bool),
            Ack,
            Open,
            Restore,
            Wait(i64),
        }
        let steps = [
            Step::Gate(true),
            Step::Gate(false),
            Step::Fire(true),
            Step::Fire(false),
            Step::Ack,
            Step::Open,
            Step::Restore,
            Step::Wait(400),
            Step::Wait(11_000),
        ];
        // All sequences of length 5 over the steps (9^5 = 59,049).
        let mut count = 0;
        let mut seq = [0usize; 5];
        loop {
            let mut m = machine();
            let mut now = 0;
            for &i in &seq {
                let before = m.phase();
                let restored = matches!(steps[i], Step::Restore);
                let result = match steps[i] {
                    Step::Gate(a) => Ok(m.gate_sample(a, now)),
                    Step::Fire(a) => Ok(m.fire_sample(a)),
                    Step::Ack => m.acknowledge(now),
                    Step::Open => m.open_once("测试原因", now),
                    Step::Restore => m.restore(),
                    Step::Wait(d) => {
                        now += d;
                        Ok(m.tick(now))
                    }
                };
                now += 50;
                if before == GatePhase::Emergency && m.phase() != GatePhase::Emergency {
                    assert!(restored && result.is_ok(), "left the emergency without a restore: {seq:?}");
                }
                if m.fire_active() {
                    assert_eq!(m.phase(), GatePhase::Emergency, "fire active outside emergency: {seq:?}");
                }
                if m.input() == Some(true) && m.phase() != GatePhase::Emergency {
                    assert_ne!(m.phase(), GatePhase::Normal, "detecting but normal: {seq:?}");
                }
                let expected = match m.phase() {
                    GatePhase::Emergency => DoorMode::Released,
                    GatePhase::Alarm | GatePhase::Clearing => DoorMode::HeldClosed,
                    _ => DoorMode::Normal,
                };
                assert_eq!(m.door_mode(), expected);
            }
            count += 1;
            // Next sequence.
            let mut k = 0;
            while k < seq.len() {
                seq[k] += 1;
                if seq[k] < steps.len() {
                    break;
                }
                seq[k] = 0;
                k += 1;
            }
            if k == seq.len() {
                break;
            }
        }
        assert_eq!(count, 9usize.pow(5));
    }
}
