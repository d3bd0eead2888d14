import type { AttendanceStatus, DeviceState, LockerRef, LockerStatus } from './bindings'

type TagType = 'primary' | 'success' | 'warning' | 'danger' | 'info'

export const ATTENDANCE_STATUSES: readonly AttendanceStatus[] = ['notArrived', 'depositing', 'inside', 'left', 'reentryApproved', 'checkedOut']
export const LOCKER_STATUSES: readonly LockerStatus[] = ['free', 'assigned', 'occupied', 'retrieving', 'fault']
export const DEVICE_STATES: readonly DeviceState[] = ['unknown', 'online', 'offline', 'fault', 'unsupported']
export const DEVICE_KINDS = ['door_controller', 'lock_board', 'io_module', 'camera', 'microphone'] as const

/** Statuses at which the expert holds a credential (or held one today) and can be signed out. */
export const CHECKED_IN: readonly AttendanceStatus[] = ['inside', 'left', 'reentryApproved']

/** 18 characters, the last may be X: the backend checks the GB 11643 check digit. */
export const ID_NUMBER_PATTERN = /^\d{17}[\dX]$/

/** What a reader or a person typed, as the backend expects it: no spaces, an upper-case X. */
export function normalizeIdNumber(raw: string): string {
  return raw.replace(/\s+/g, '').toUpperCase()
}

export function isIdNumber(raw: string): boolean {
  return ID_NUMBER_PATTERN.test(normalizeIdNumber(raw))
}

/** `07`: the number on the locker door. */
export function lockerNo(no: number): string {
  return String(no).padStart(2, '0')
}

/** `Bank A 07`: the bank's own name in full, then the door number (bank ids are not letters one can rely on). */
export function lockerLabel(locker: Pick<LockerRef, 'bankName' | 'lockerNo'>): string {
  return `${locker.bankName} ${lockerNo(locker.lockerNo)}`
}

const ATTENDANCE_TAG: Record<AttendanceStatus, TagType> = {
  notArrived: 'info',
  depositing: 'warning',
  inside: 'success',
  left: 'danger',
  reentryApproved: 'primary',
  checkedOut: 'info',
}

export function attendanceTag(status: AttendanceStatus): TagType {
  return ATTENDANCE_TAG[status] ?? 'info'
}

const DEVICE_TAG: Record<DeviceState, TagType> = {
  unknown: 'info',
  online: 'success',
  offline: 'danger',
  fault: 'warning',
  unsupported: 'info',
}

export function deviceTag(state: DeviceState): TagType {
  return DEVICE_TAG[state] ?? 'info'
}

/** `09:00–12:00` for a session within one day, both ends in full otherwise (`YYYY-MM-DDTHH:MM`). */
export function sessionTimes(start: string, end: string): string {
  const wall = (s: string) => s.slice(0, 16).replace('T', ' ')
  return start.slice(0, 10) === end.slice(0, 10) ? `${wall(start)}–${end.slice(11, 16)}` : `${wall(start)} – ${wall(end)}`
}

/** The time of day of a venue local time, `HH:MM:SS` or `HH:MM`; the date too when it is not `today`. */
export function timeOfDay(local: string | null, today?: string): string {
  if (!local) return ''
  const time = local.slice(11, 19)
  return today && local.slice(0, 10) !== today ? `${local.slice(0, 10)} ${time}` : time
}
