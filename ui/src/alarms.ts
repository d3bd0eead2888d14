import type { AlarmKind, AlarmState, AlarmView, DoorMode, GatePhase, Role, Severity } from './bindings'
import { venueNow } from './time'

type TagType = 'primary' | 'success' | 'warning' | 'danger' | 'info'

export const SEVERITIES: readonly Severity[] = ['critical', 'major', 'minor']
export const ALARM_KINDS: readonly AlarmKind[] = ['gateDetection', 'doorForced', 'doorHeldOpen', 'deviceOffline', 'fireAlarm', 'videoLoss']
export const ALARM_STATES: readonly AlarmState[] = ['raised', 'acknowledged', 'cleared']
export const GATE_PHASES: readonly GatePhase[] = ['normal', 'alarm', 'clearing', 'overrideOnce', 'emergency']
export const DOOR_MODES: readonly DoorMode[] = ['normal', 'heldClosed', 'released']

/** Who answers alarms at the desk: acknowledges them, mutes the sound, lets one person through the gate. */
export const ALARM_RESPONDERS: readonly Role[] = ['front_desk', 'supervisor', 'administrator']

/** Gate phases in which the desk may let one person through. */
export const OPEN_ONCE_PHASES: readonly GatePhase[] = ['alarm', 'clearing']

export const MUTE_MINUTES = [5, 10, 15, 30] as const

/** The shortest note the backend accepts when an alarm is acknowledged. */
export const ACK_NOTE_MIN = 2

export function answersAlarms(role: Role | null): boolean {
  return role !== null && ALARM_RESPONDERS.includes(role)
}

/** Highest severity first; within one severity the newest first, so that a new alarm shows at the top of its group. */
export function byUrgency(a: AlarmView, b: AlarmView): number {
  const bySeverity = SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity)
  if (bySeverity !== 0) return bySeverity
  if (a.raisedAt !== b.raisedAt) return a.raisedAt < b.raisedAt ? 1 : -1
  return b.id - a.id
}

const SEVERITY_TAG: Record<Severity, TagType> = { critical: 'danger', major: 'warning', minor: 'info' }
const STATE_TAG: Record<AlarmState, TagType> = { raised: 'danger', acknowledged: 'warning', cleared: 'success' }
const PHASE_TAG: Record<GatePhase, TagType> = { normal: 'success', alarm: 'danger', clearing: 'warning', overrideOnce: 'primary', emergency: 'danger' }

export function severityTag(severity: Severity): TagType {
  return SEVERITY_TAG[severity] ?? 'info'
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
