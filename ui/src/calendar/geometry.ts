/**
 * Calendar maths. The backend speaks venue local time as text (`YYYY-MM-DDTHH:mm`), so every
 * position is computed from that text: a time becomes a count of minutes on one continuous
 * local clock (days since 1970-01-01 × 1440 + minutes since midnight), never a `Date` in the
 * computer's time zone.
 */

const MINUTES_PER_DAY = 1440
/** Drags and selections move in quarter hours. */
export const SNAP_MIN = 15
/** Set-up and clean-up a new booking gets unless the operator says otherwise. */
export const DEFAULT_BUFFER_MIN = 30

/** The hours the calendar shows, as minutes since midnight. */
export interface Axis {
  startMin: number
  endMin: number
}

export const VENUE_DAY: Axis = { startMin: 7 * 60, endMin: 22 * 60 }

/** `[start, end)` on the continuous local clock. */
export interface Span {
  start: number
  end: number
}

/** What the maths needs of a booking (a `BookingView` has all of it). */
export interface Timed {
  id: number
  roomId: string
  start: string
  end: string
  setupMin: number
  cleanupMin: number
  state: string
}

// ---- dates and times as text -------------------------------------------------------------

function dayNumber(date: string): number {
  const [y, m, d] = date.split('-').map(Number)
  return Date.UTC(y, m - 1, d) / 86_400_000
}

function dateOfDay(day: number): string {
  return new Date(day * 86_400_000).toISOString().slice(0, 10)
}

const pad = (n: number): string => String(n).padStart(2, '0')

/** Minutes on the continuous local clock for `YYYY-MM-DDTHH:mm`. */
export function toMinutes(local: string): number {
  const [h, m] = local.slice(11, 16).split(':').map(Number)
  return dayNumber(local.slice(0, 10)) * MINUTES_PER_DAY + h * 60 + m
}

/** `YYYY-MM-DDTHH:mm` for minutes on the continuous local clock. */
export function toLocal(minutes: number): string {
  const day = Math.floor(minutes / MINUTES_PER_DAY)
  const inDay = minutes - day * MINUTES_PER_DAY
  return `${dateOfDay(day)}T${pad(Math.floor(inDay / 60))}:${pad(inDay % 60)}`
}

/** Midnight at the start of a `YYYY-MM-DD` day. */
export function dayStart(date: string): number {
  return dayNumber(date) * MINUTES_PER_DAY
}

export function addDays(date: string, days: number): string {
  return dateOfDay(dayNumber(date) + days)
}

/** The Monday of the week `date` is in. */
export function weekStart(date: string): string {
  const weekday = (new Date(dayNumber(date) * 86_400_000).getUTCDay() + 6) % 7
  return addDays(date, -weekday)
}

/** `HH:mm` of a local time; with the date in front when it is not on `date`. */
export function clockTime(local: string, date?: string): string {
  return date === undefined || local.startsWith(date) ? local.slice(11, 16) : local.replace('T', ' ')
}

// ---- spans and collisions ----------------------------------------------------------------

/** Rounds to the nearest quarter hour. */
export function snap(minutes: number, step = SNAP_MIN): number {
  return Math.round(minutes / step) * step
}

export function bookingSpan(b: Pick<Timed, 'start' | 'end'>): Span {
  return { start: toMinutes(b.start), end: toMinutes(b.end) }
}

/** The time the room is taken: the booking with its set-up before and clean-up after. */
export function occupied(span: Span, setupMin: number, cleanupMin: number): Span {
  return { start: span.start - setupMin, end: span.end + cleanupMin }
}

/** Whether two half-open spans share a minute: spans that only touch do not overlap. */
export function overlaps(a: Span, b: Span): boolean {
  return a.start < b.end && b.start < a.end
}

/**
 * The first booking of `roomId` in the way of `span` (buffers on both sides count), leaving out
 * the booking being moved and cancelled bookings, which no longer hold their room.
 */
export function collision<T extends Timed>(
  roomId: string,
  span: Span,
  buffers: { setupMin: number; cleanupMin: number },
  bookings: readonly T[],
  exceptId?: number,
): T | undefined {
  const wanted = occupied(span, buffers.setupMin, buffers.cleanupMin)
  return bookings.find(
    (b) =>
      b.roomId === roomId &&
      b.id !== exceptId &&
      b.state !== 'cancelled' &&
      overlaps(wanted, occupied(bookingSpan(b), b.setupMin, b.cleanupMin)),
  )
}

// ---- layout -------------------------------------------------------------------------------

/** Where a span sits along one day's time axis, in pixels, cut to the hours shown. */
export interface Placement {
  offset: number
  length: number
  /** The span runs on before or after the hours shown (or the day). */
  cutStart: boolean
  cutEnd: boolean
}

/** The visible part of `span` on `date`'s axis, or null when none of it is shown. */
export function place(span: Span, date: string, axis: Axis, pxPerMin: number): Placement | null {
  const from = dayStart(date) + axis.startMin
  const to = dayStart(date) + axis.endMin
  const start = Math.max(span.start, from)
  const end = Math.min(span.end, to)
  if (end <= start) return null
  return { offset: (start - from) * pxPerMin, length: (end - start) * pxPerMin, cutStart: span.start < from, cutEnd: span.end > to }
}

/** The time at `px` along `date`'s axis, snapped to the quarter hour and kept on the axis. */
export function timeAt(px: number, date: string, axis: Axis, pxPerMin: number): number {
  const minute = Math.min(Math.max(snap(px / pxPerMin + axis.startMin), axis.startMin), axis.endMin)
  return dayStart(date) + minute
}

/** Pixels along the axis for a time on `date`, or null when it is outside the hours shown. */
export function offsetOf(minutes: number, date: string, axis: Axis, pxPerMin: number): number | null {
  const inDay = minutes - dayStart(date)
  return inDay >= axis.startMin && inDay <= axis.endMin ? (inDay - axis.startMin) * pxPerMin : null
}

// ---- dragging ----------------------------------------------------------------------------

/** Moving the whole booking, or one of its edges. */
export type DragMode = 'move' | 'start' | 'end'

/** The span after dragging by `delta` minutes: snapped to quarter hours, never shorter than one. */
export function dragged(span: Span, mode: DragMode, delta: number): Span {
  switch (mode) {
    case 'move': {
      const start = snap(span.start + delta)
      return { start, end: start + (span.end - span.start) }
    }
    case 'start':
      return { start: Math.min(snap(span.start + delta), span.end - SNAP_MIN), end: span.end }
    case 'end':
      return { start: span.start, end: Math.max(snap(span.end + delta), span.start + SNAP_MIN) }
  }
}

/** The span swept from `anchor` to `current` (either way round), at least a quarter hour long. */
export function swept(anchor: number, current: number): Span {
  const start = Math.min(anchor, current)
  return { start, end: Math.max(anchor, current, start + SNAP_MIN) }
}
