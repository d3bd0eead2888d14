import type { GapView, Timeline, TimelineSegment, Track } from './bindings'
import { venueFormatter } from './time'

/** The speeds the player offers. */
export const SPEEDS = [0.5, 1, 2, 4] as const

/** Where a track is at an instant: the segment playing and the offset into it, or nothing. */
export type TrackPosition =
  | { kind: 'segment'; segment: TimelineSegment; offsetS: number }
  | { kind: 'purged'; segment: TimelineSegment }
  | { kind: 'gap'; gap: GapView }
  | { kind: 'none' }

/** The segment of a track that covers `atMs` (half-open: a segment's end is the next one's start). */
export function positionOf(track: Track, atMs: number): TrackPosition {
  const seg = track.segments.find((s) => s.startMs <= atMs && atMs < s.endMs)
  if (seg) return seg.purged || !seg.url ? { kind: 'purged', segment: seg } : { kind: 'segment', segment: seg, offsetS: (atMs - seg.startMs) / 1000 }
  const gap = track.gaps.find((g) => g.fromMs <= atMs && (g.toMs === null || atMs < g.toMs))
  if (gap) return { kind: 'gap', gap }
  return { kind: 'none' }
}

/** The first instant at or after `atMs` where any track has something to play, or null. */
export function nextPlayable(tracks: Track[], atMs: number): number | null {
  let best: number | null = null
  for (const t of tracks) {
    for (const s of t.segments) {
      if (s.purged || !s.url || s.endMs <= atMs) continue
      const at = Math.max(s.startMs, atMs)
      if (best === null || at < best) best = at
    }
  }
  return best
}

/** The first recorded instant of the timeline (where the player starts), or its start. */
export function firstRecorded(tl: Timeline): number {
  return nextPlayable(tl.tracks, tl.fromMs) ?? tl.fromMs
}

/** A span of the timeline as left offset and width in percent, clipped to the timeline. */
export function spanStyle(tl: Pick<Timeline, 'fromMs' | 'toMs'>, fromMs: number, toMs: number): { left: string; width: string } {
  const total = tl.toMs - tl.fromMs
  const a = Math.max(fromMs, tl.fromMs)
  const z = Math.min(toMs, tl.toMs)
  const left = ((a - tl.fromMs) / total) * 100
  const width = Math.max(0, ((z - a) / total) * 100)
  return { left: `${left.toFixed(4)}%`, width: `${width.toFixed(4)}%` }
}

/** The instant under a click at `x` pixels into a bar `width` pixels wide. */
export function instantAt(tl: Pick<Timeline, 'fromMs' | 'toMs'>, x: number, width: number): number {
  const f = Math.min(1, Math.max(0, width > 0 ? x / width : 0))
  return Math.round(tl.fromMs + f * (tl.toMs - tl.fromMs))
}

/** Tick marks for the time axis: a round step giving about six to twelve ticks. */
export function ticks(tl: Pick<Timeline, 'fromMs' | 'toMs'>): number[] {
  const span = tl.toMs - tl.fromMs
  const steps = [1, 5, 10, 15, 30, 60, 120, 180, 360].map((m) => m * 60_000)
  const step = steps.find((s) => span / s <= 12) ?? steps[steps.length - 1]
  const out: number[] = []
  for (let t = Math.ceil(tl.fromMs / step) * step; t <= tl.toMs; t += step) out.push(t)
  return out
}

/** An instant as the venue's wall clock, `HH:mm:ss` (or `HH:mm`). */
export function clockText(ms: number, timeZone: string | undefined, seconds = true): string {
  return venueFormatter('en-GB', timeZone, {
    hour: '2-digit', minute: '2-digit', ...(seconds ? { second: '2-digit' } : {}), hourCycle: 'h23',
  }).format(new Date(ms))
}

/**
 * How far a media element may drift from the shared clock before it is set back in step. Below this,
 * correcting would only make the picture stutter.
 */
export const DRIFT_S = 0.35

/** The UTC offset (ms) of the venue's zone at an instant. */
function zoneOffset(ms: number, timeZone: string | undefined): number {
  const parts = venueFormatter('en-GB', timeZone, {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  }).formatToParts(new Date(ms))
  const n = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value ?? 0)
  const wall = Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second'))
  return wall - Math.floor(ms / 1000) * 1000
}

/**
 * A venue wall time (`YYYY-MM-DDTHH:mm`) as UTC epoch ms, whatever zone this computer is in; null
 * when the text is not such a time.
 */
export function venueWallToMs(wall: string, timeZone: string | undefined): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(wall)
  if (!m) return null
  const asUtc = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5])
  // The offset at the guess, then again at the corrected instant (right across a DST change).
  const first = asUtc - zoneOffset(asUtc, timeZone)
  return asUtc - zoneOffset(first, timeZone)
}
