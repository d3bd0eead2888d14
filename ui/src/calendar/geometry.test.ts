import { describe, expect, it } from 'vitest'
import {
  VENUE_DAY,
  addDays,
  bookingSpan,
  collision,
  dayStart,
  dragged,
  place,
  snap,
  swept,
  timeAt,
  toLocal,
  toMinutes,
  weekStart,
  type Timed,
} from './geometry'

const PX = 64 / 60

function booking(id: number, start: string, end: string, more: Partial<Timed> = {}): Timed {
  return { id, roomId: 'kb1', start, end, setupMin: 0, cleanupMin: 0, state: 'confirmed', ...more }
}

const at = (local: string) => toMinutes(local)

describe('local time as text', () => {
  it('counts minutes on one continuous clock, across midnight and month ends', () => {
    expect(toMinutes('2026-03-02T09:30') - toMinutes('2026-03-02T00:00')).toBe(570)
    expect(toMinutes('2026-03-01T00:15') - toMinutes('2026-02-28T23:45')).toBe(30)
    expect(toLocal(toMinutes('2026-12-31T23:45') + 30)).toBe('2027-01-01T00:15')
    expect(toLocal(dayStart('2026-03-02') + 7 * 60)).toBe('2026-03-02T07:00')
  })

  it('steps days and finds the Monday of a week', () => {
    expect(addDays('2026-02-28', 1)).toBe('2026-03-01')
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28')
    expect(weekStart('2026-03-04')).toBe('2026-03-02')
    expect(weekStart('2026-03-08')).toBe('2026-03-02')
    expect(weekStart('2026-03-02')).toBe('2026-03-02')
  })
})

describe('collision', () => {
  const taken = [booking(1, '2026-03-02T09:00', '2026-03-02T11:00', { setupMin: 30, cleanupMin: 30 })]
  const none = { setupMin: 0, cleanupMin: 0 }

  it('lets spans that only touch pass', () => {
    // 08:00–08:30 ends where booking 1's set-up starts; 11:30 is where its clean-up ends.
    expect(collision('kb1', { start: at('2026-03-02T08:00'), end: at('2026-03-02T08:30') }, none, taken)).toBeUndefined()
    expect(collision('kb1', { start: at('2026-03-02T11:30'), end: at('2026-03-02T12:00') }, none, taken)).toBeUndefined()
  })

  it('counts the buffers of both bookings', () => {
    // Into booking 1's clean-up.
    expect(collision('kb1', { start: at('2026-03-02T11:15'), end: at('2026-03-02T12:00') }, none, taken)?.id).toBe(1)
    // Free by itself, but its own set-up reaches back into booking 1's clean-up.
    expect(collision('kb1', { start: at('2026-03-02T11:45'), end: at('2026-03-02T12:30') }, { setupMin: 30, cleanupMin: 0 }, taken)?.id).toBe(1)
    // Its own clean-up runs into booking 1's set-up.
    expect(collision('kb1', { start: at('2026-03-02T07:30'), end: at('2026-03-02T08:15') }, { setupMin: 0, cleanupMin: 30 }, taken)?.id).toBe(1)
  })

  it('ignores other rooms, cancelled bookings and the booking being moved', () => {
    const span = { start: at('2026-03-02T10:00'), end: at('2026-03-02T10:30') }
    expect(collision('kb2', span, none, taken)).toBeUndefined()
    expect(collision('kb1', span, none, [{ ...taken[0], state: 'cancelled' }])).toBeUndefined()
    expect(collision('kb1', span, none, taken, 1)).toBeUndefined()
  })
})

describe('layout', () => {
  it('places a block by its start and end along the day from 07:00', () => {
    const p = place(bookingSpan(booking(1, '2026-03-02T09:00', '2026-03-02T10:30')), '2026-03-02', VENUE_DAY, PX)
    expect(p).toEqual({ offset: 128, length: 96, cutStart: false, cutEnd: false })
  })

  it('cuts a block to the hours shown, and leaves out other days', () => {
    const overnight = bookingSpan(booking(1, '2026-03-02T20:00', '2026-03-03T09:00'))
    expect(place(overnight, '2026-03-02', VENUE_DAY, PX)).toEqual({ offset: 13 * 64, length: 2 * 64, cutStart: false, cutEnd: true })
    expect(place(overnight, '2026-03-03', VENUE_DAY, PX)).toEqual({ offset: 0, length: 2 * 64, cutStart: true, cutEnd: false })
    expect(place(overnight, '2026-03-04', VENUE_DAY, PX)).toBeNull()
  })

  it('reads the time under the pointer in quarter hours, kept on the axis', () => {
    expect(toLocal(timeAt(128, '2026-03-02', VENUE_DAY, PX))).toBe('2026-03-02T09:00')
    // 9:07 rounds down, 9:08 up.
    expect(toLocal(timeAt(128 + 7 * PX, '2026-03-02', VENUE_DAY, PX))).toBe('2026-03-02T09:00')
    expect(toLocal(timeAt(128 + 8 * PX, '2026-03-02', VENUE_DAY, PX))).toBe('2026-03-02T09:15')
    expect(toLocal(timeAt(-40, '2026-03-02', VENUE_DAY, PX))).toBe('2026-03-02T07:00')
    expect(toLocal(timeAt(5000, '2026-03-02', VENUE_DAY, PX))).toBe('2026-03-02T22:00')
  })

  it('snaps to the nearest quarter hour', () => {
    expect(snap(7)).toBe(0)
    expect(snap(8)).toBe(15)
    expect(snap(-8)).toBe(-15)
  })
})

describe('dragging', () => {
  const span = { start: at('2026-03-02T09:10'), end: at('2026-03-02T10:10') }

  it('moves a booking onto the quarter-hour grid, keeping its length', () => {
    expect(dragged(span, 'move', 45)).toEqual({ start: at('2026-03-02T10:00'), end: at('2026-03-02T11:00') })
    // A move to the next day (week view) keeps the time.
    expect(toLocal(dragged(span, 'move', 1440).start)).toBe('2026-03-03T09:15')
  })

  it('resizes one end, never to less than a quarter hour', () => {
    expect(dragged(span, 'end', 50)).toEqual({ start: span.start, end: at('2026-03-02T11:00') })
    expect(dragged(span, 'end', -300)).toEqual({ start: span.start, end: span.start + 15 })
    expect(dragged(span, 'start', -25)).toEqual({ start: at('2026-03-02T08:45'), end: span.end })
    expect(dragged(span, 'start', 300)).toEqual({ start: span.end - 15, end: span.end })
  })

  it('sweeps a new booking either way from where the press began', () => {
    const a = at('2026-03-02T10:00')
    expect(swept(a, a + 90)).toEqual({ start: a, end: a + 90 })
    expect(swept(a, a - 60)).toEqual({ start: a - 60, end: a })
    expect(swept(a, a)).toEqual({ start: a, end: a + 15 })
  })
})
