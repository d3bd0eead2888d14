import type { AlarmKind, AlarmState, AlarmView, DoorMode, GatePhase, Role, Severity } from './bindings'
import { venueNow } from './time'

type TagType = 'primary' | 'success' | 'warning' | 'danger' | 'info'

// Each list is the key set of a record over the generated union, so that a value added in Rust
// fails the type check here until it is listed (and, through the i18n test, labelled).

const SEVERITY_RANK: Record<Severity, number> = { critical: 0, major: 1, minor: 2 }
const STATE_TAG: Record<AlarmState, TagType> = { raised: 'danger', acknowledged: 'warning', cleared: 'success' }
const PHASE_TAG: Record<GatePhase, TagType> = { normal: 'success', alarm: 'danger', clearing: 'warning', overrideOnce: 'primary', emergency: 'danger' }
const KINDS: Record<AlarmKind, true> = { gateDetection: true, doorForced: true, doorHeldOpen: true, deviceOffline: true, fireAlarm: true, videoLoss: true, storageLow: true }
const MODES: Record<DoorMode, true> = { normal: true, heldClosed: true, released: true }

/** Highest first. */
export const SEVERITIES = Object.keys(SEVERITY_RANK) as readonly Severity[]
export const ALARM_KINDS = Object.keys(KINDS) as readonly AlarmKind[]
export const ALARM_STATES = Object.keys(STATE_TAG) as readonly AlarmState[]
export const GATE_PHASES = Object.keys(PHASE_TAG) as readonly GatePhase[]
export const DOOR_MODES = Object.keys(MODES) as readonly DoorMode[]

/** Who answers alarms at the desk: acknowledges them, mutes the sound, lets one person through the gate. */
export const ALARM_RESPONDERS: readonly Role[] = ['front_desk', 'supervisor', 'administrator']

/** Gate phases in which the desk may let one person through. */
export const OPEN_ONCE_PHASES: readonly GatePhase[] = ['alarm', 'clearing']

export const MUTE_MINUTES = [5, 10, 15, 30] as const

/** The shortest note or reason the backend accepts (acknowledging, muting, opening once, restoring). */
export const REASON_MIN_CHARS = 2

/** Whether a note or reason, trimmed, is long enough for the backend. */
export function isReason(text: string): boolean {
  return [...text.trim()].length >= REASON_MIN_CHARS
}

export function answersAlarms(role: Role | null): boolean {
  return role !== null && ALARM_RESPONDERS.includes(role)
}

/** Highest severity first; within one severity the newest first, so that a new alarm shows at the top of its group. */
export function byUrgency(a: AlarmView, b: AlarmView): number {
  const bySeverity = SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity]
  if (bySeverity !== 0) return bySeverity
  if (a.raisedAt !== b.raisedAt) return a.raisedAt < b.raisedAt ? 1 : -1
  return b.id - a.id
}

export function alarmStateTag(state: AlarmState): TagType {
  return STATE_TAG[state] ?? 'info'
}

export function gatePhaseTag(phase: GatePhase): TagType {
  return PHASE_TAG[phase] ?? 'info'
}

/** `HH:MM` of a venue-local `YYYY-MM-DDTHH:MM:SS`. */
export function clockTime(local: string): string {
  return local.slice(11, 16)
}

/** The time alone when it is today at the venue, the date too otherwise (an alarm may wait overnight). */
export function alarmTime(local: string, timeZone: string | undefined, now = new Date()): string {
  const today = venueNow(timeZone, now).slice(0, 10)
  return local.slice(0, 10) === today ? local.slice(11, 19) : local.slice(0, 19).replace('T', ' ')
}

/** Whether a venue-local `mutedUntil` has passed, to the minute. */
export function mutePassed(mutedUntil: string, timeZone: string | undefined, now = new Date()): boolean {
  return venueNow(timeZone, now) > mutedUntil.slice(0, 16)
}
