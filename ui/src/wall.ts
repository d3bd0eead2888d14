import type { LiveWall, WallCamera, WallSession } from './bindings'

/** The wall's grid sizes: 1, 2×2, 3×3, 4×4 pictures. */
export const GRIDS = [1, 4, 9, 16] as const

/** One picture of the wall: a camera, with the session of its room now if any. */
export interface Tile {
  camera: WallCamera
  session: WallSession | null
}

/**
 * The wall's pictures: every camera of every room in session, in session order; or the picked
 * cameras in the order picked (with their room's session, if one is in progress).
 */
export function tilesOf(wall: LiveWall, source: 'sessions' | 'picked', picked: readonly string[]): Tile[] {
  const byId = new Map(wall.cameras.map((c) => [c.cameraId, c]))
  const sessionOf = (c: WallCamera): WallSession | null => wall.sessions.find((s) => s.roomId === c.roomId) ?? null
  if (source === 'picked') {
    return picked.flatMap((id) => {
      const c = byId.get(id)
      return c ? [{ camera: c, session: sessionOf(c) }] : []
    })
  }
  return wall.sessions.flatMap((s) => s.cameraIds.flatMap((id) => (byId.has(id) ? [{ camera: byId.get(id)!, session: s }] : [])))
}

/** Elapsed time as H:MM:SS (negative: not started yet, shown as 0:00:00). */
export function elapsedText(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = s % 60
  return `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`
}

/** How many distinct main streams play once `adding` is opened, beside the grid's and the enlarged one. */
export function mainStreamsAfter(gridMain: readonly string[], enlargedId: string | null, adding: string): number {
  const ids = new Set(gridMain)
  if (enlargedId) ids.add(enlargedId)
  ids.add(adding)
  return ids.size
}
