import { describe, expect, it } from 'vitest'
import type { Track } from './bindings'
import { clockText, instantAt, nextPlayable, positionOf, spanStyle, ticks, venueWallToMs } from './playback'

const seg = (id: number, startMs: number, endMs: number, purged = false) => ({
  id, startMs, endMs, purged, recovered: false, url: purged ? null : `http://127.0.0.1:1/segment/${id}?t=x`,
})

const track: Track = {
  deviceId: 'cam-a', name: 'A', kind: 'camera',
  segments: [seg(1, 1000, 2000), seg(2, 2000, 3000), seg(3, 5000, 6000, true)],
  gaps: [{ id: 9, cameraId: 'cam-a', roomId: 'r', fromMs: 3000, toMs: 4000, from: '', to: '', reason: 'video loss' }],
}

describe('positionOf', () => {
  it('finds the segment and the offset into it, a segment end belonging to the next', () => {
    expect(positionOf(track, 1500)).toMatchObject({ kind: 'segment', offsetS: 0.5, segment: { id: 1 } })
    expect(positionOf(track, 2000)).toMatchObject({ kind: 'segment', offsetS: 0, segment: { id: 2 } })
  })

  it('tells a gap, a removed segment and nothing apart', () => {
    expect(positionOf(track, 3500)).toMatchObject({ kind: 'gap', gap: { id: 9 } })
    expect(positionOf(track, 5500)).toMatchObject({ kind: 'purged', segment: { id: 3 } })
    expect(positionOf(track, 4500)).toEqual({ kind: 'none' })
    expect(positionOf(track, 500)).toEqual({ kind: 'none' })
  })

  it('treats an open gap as lasting', () => {
    const open: Track = { ...track, gaps: [{ ...track.gaps[0], toMs: null }] }
    expect(positionOf(open, 1e12).kind).toBe('gap')
  })
})

describe('nextPlayable', () => {
  it('skips removed segments and what is over', () => {
    expect(nextPlayable([track], 0)).toBe(1000)
    expect(nextPlayable([track], 2500)).toBe(2500)
    expect(nextPlayable([track], 3000)).toBeNull()
    const other: Track = { ...track, deviceId: 'cam-b', segments: [seg(4, 3500, 4500)] }
    expect(nextPlayable([track, other], 3000)).toBe(3500)
  })
})

describe('the timeline bar', () => {
  const tl = { fromMs: 0, toMs: 10_000 }
  it('places spans in percent, clipped to the timeline', () => {
    expect(spanStyle(tl, 1000, 2000)).toEqual({ left: '10.0000%', width: '10.0000%' })
    expect(spanStyle(tl, -5000, 500)).toEqual({ left: '0.0000%', width: '5.0000%' })
    expect(spanStyle(tl, 9000, 20_000)).toEqual({ left: '90.0000%', width: '10.0000%' })
  })

  it('turns a click into an instant', () => {
    expect(instantAt(tl, 250, 1000)).toBe(2500)
    expect(instantAt(tl, -10, 1000)).toBe(0)
    expect(instantAt(tl, 2000, 1000)).toBe(10_000)
  })

  it('ticks at a round step', () => {
    const hour = 3_600_000
    expect(ticks({ fromMs: 0, toMs: 2 * hour })).toEqual(Array.from({ length: 13 }, (_, i) => i * 10 * 60_000))
    expect(ticks({ fromMs: 0, toMs: 24 * hour }).length).toBeLessThanOrEqual(13)
  })

  it('shows the venue wall clock', () => {
    expect(clockText(Date.UTC(2026, 10, 24, 1, 2, 3), 'Asia/Shanghai')).toBe('09:02:03')
    expect(clockText(Date.UTC(2026, 10, 24, 1, 2, 3), 'Asia/Shanghai', false)).toBe('09:02')
  })
})

describe('venueWallToMs', () => {
  it('reads a wall time in the venue zone, not the computer’s', () => {
    expect(venueWallToMs('2026-11-24T09:00', 'Asia/Shanghai')).toBe(Date.UTC(2026, 10, 24, 1, 0))
    expect(venueWallToMs('2026-07-01T12:30', 'Europe/Berlin')).toBe(Date.UTC(2026, 6, 1, 10, 30))
    expect(venueWallToMs('2026-01-01T12:30', 'Europe/Berlin')).toBe(Date.UTC(2026, 0, 1, 11, 30))
    expect(venueWallToMs('24.11.2026 09:00', 'Asia/Shanghai')).toBeNull()
  })
})
