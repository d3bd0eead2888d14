import { describe, expect, it } from 'vitest'
import type { LiveWall, WallCamera } from './bindings'
import { elapsedText, mainStreamsAfter, tilesOf } from './wall'

function cam(id: string, roomId: string | null): WallCamera {
  return { cameraId: id, name: id, roomId, roomName: roomId, subUrl: `s/${id}`, mainUrl: `m/${id}`, recording: false }
}

const wall: LiveWall = {
  nowMs: 0,
  insideEvaluationArea: 3,
  maxMainStreams: 4,
  cameras: [cam('a1', 'pb-1'), cam('a2', 'pb-1'), cam('k1', 'kb-1'), cam('lobby', null)],
  sessions: [
    { bookingId: 7, roomId: 'pb-1', roomName: 'pb-1', tenderProjectCode: 'P1', purpose: 'evaluation', startMs: 0, endMs: 1, cameraIds: ['a1', 'a2'], inside: 2 },
  ],
}

describe('wall tiles', () => {
  it('show every camera of the rooms in session', () => {
    expect(tilesOf(wall, 'sessions', []).map((t) => t.camera.cameraId)).toEqual(['a1', 'a2'])
    expect(tilesOf(wall, 'sessions', [])[0].session?.bookingId).toBe(7)
  })

  it('show picked cameras in the order picked, with their room’s session', () => {
    const tiles = tilesOf(wall, 'picked', ['lobby', 'a2', 'gone'])
    expect(tiles.map((t) => t.camera.cameraId)).toEqual(['lobby', 'a2'])
    expect(tiles[0].session).toBeNull()
    expect(tiles[1].session?.tenderProjectCode).toBe('P1')
  })
})

describe('main streams', () => {
  it('count the grid’s, the enlarged one and the new one once each', () => {
    expect(mainStreamsAfter(['a', 'b'], 'c', 'd')).toBe(4)
    expect(mainStreamsAfter(['a', 'b', 'c', 'd'], null, 'e')).toBe(5)
    expect(mainStreamsAfter(['a'], 'a', 'a')).toBe(1)
  })
})

describe('elapsed time', () => {
  it('reads H:MM:SS and never goes negative', () => {
    expect(elapsedText(3_723_000)).toBe('1:02:03')
    expect(elapsedText(-5000)).toBe('0:00:00')
  })
})
