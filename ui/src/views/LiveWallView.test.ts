import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import { invoke } from '@tauri-apps/api/core'
import type { AlarmView, LiveWall, WallCamera } from '../bindings'
import { i18n } from '../i18n'
import { useAppStore } from '../stores/app'
import { useSessionStore } from '../stores/session'
import { fakeBackend } from '../testing'
import LiveWallView from './LiveWallView.vue'

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn() }))
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn(async () => () => {}) }))

const CODE = 'E3101000001202611088'

function cam(id: string, roomId: string | null, recording = true): WallCamera {
  return { cameraId: id, name: `摄像机 ${id}`, roomId, roomName: roomId ? '第一评标室' : null, subUrl: `http://x/live/${id}?stream=sub`, mainUrl: `http://x/live/${id}?stream=main`, recording }
}

const ids = ['c1', 'c2', 'c3', 'c4', 'c5']
const wall: LiveWall = {
  nowMs: Date.now(),
  insideEvaluationArea: 5,
  maxMainStreams: 4,
  cameras: [...ids.map((id, i) => cam(id, 'pb-1', i > 0)), cam('lobby', null, false)],
  sessions: [
    { bookingId: 7, roomId: 'pb-1', roomName: '第一评标室', tenderProjectCode: CODE, purpose: 'evaluation', startMs: Date.now() - 3_600_000, endMs: Date.now() + 3_600_000, cameraIds: ids, inside: 3 },
  ],
}

const alarm: AlarmView = {
  id: 9, kind: 'videoLoss', severity: 'major', source: 'c1', sourceName: '第一评标室 摄像机', roomId: 'pb-1', raisedAt: '2026-12-06T10:00:00',
  state: 'raised', active: true, acknowledgedBy: null, acknowledgedAt: null, note: null, clearedAt: null, message: '视频丢失',
}

const el = (testId: string) => document.querySelector<HTMLElement>(`[data-testid=${testId}]`)

async function shown(alarms: AlarmView[] = []) {
  fakeBackend({ live_wall: () => wall, list_alarms: () => alarms, list_rooms: () => [] })
  const pinia = createPinia()
  useAppStore(pinia).info = { version: '0.1.0', venueCode: 'demo', venueName: 'Demo', timeZone: 'Asia/Shanghai', firstRun: false, startupError: null, demoVenue: true }
  useSessionStore(pinia).signIn({ operatorId: 1, username: 'u', displayName: 'U', role: 'supervisor', locked: false, idleLockMinutes: 10 })
  mount(LiveWallView, { global: { plugins: [pinia, i18n, ElementPlus], stubs: { transition: false } }, attachTo: document.body })
  await flushPromises()
}

describe('LiveWallView', () => {
  beforeEach(() => {
    i18n.global.locale.value = 'zh-CN'
    vi.mocked(invoke).mockReset()
    document.body.innerHTML = ''
  })

  it('shows a tile per camera of the rooms in session with the overlay, and says where MSE is missing', async () => {
    await shown()
    expect(el('live-tile-c1')).not.toBeNull()
    expect(el('live-tile-lobby')).toBeNull()
    const info = el('live-info-c1')!.textContent!
    expect(info).toContain(CODE)
    expect(info).toContain('评标')
    expect(info).toContain('已进行 1:00:0')
    expect(info).toContain('在场 3 人')
    expect(el('live-rec-c1')!.textContent).toContain('未录像')
    expect(el('live-rec-c2')!.textContent).toContain('录像中')
    expect(el('live-inside-area')!.textContent).toContain('评标区在场 5 人')
    // jsdom has no MediaSource: the wall says so instead of showing black tiles.
    expect(el('live-mse-missing')!.textContent).toContain('Media Source Extensions')
  })

  it('highlights the tiles of an alarm’s room and lists the alarm beside the wall', async () => {
    await shown([alarm])
    expect(el('live-tile-c1')!.classList.contains('alarm')).toBe(true)
    expect(el('live-alarm-9')!.textContent).toContain('视频丢失')
  })

  it('makes one room audible at a time and says which', async () => {
    await shown()
    expect(el('live-audible')!.textContent).toContain('未监听')
    el('live-listen-c1')!.click()
    await flushPromises()
    expect(el('live-audible')!.textContent).toContain('正在监听：第一评标室 摄像机 c1')
    el('live-listen-c2')!.click()
    await flushPromises()
    expect(el('live-audible')!.textContent).toContain('摄像机 c2')
    expect(el('live-tile-c1')!.classList.contains('audible')).toBe(false)
    expect(el('live-tile-c2')!.classList.contains('audible')).toBe(true)
  })

  it('refuses a fifth main stream with a message', async () => {
    await shown()
    ;(el('live-grid-9')!.querySelector('input') ?? el('live-grid-9')!).click()
    await flushPromises()
    for (const id of ['c1', 'c2', 'c3', 'c4']) el(`live-main-${id}`)!.click()
    await flushPromises()
    expect(document.body.textContent).not.toContain('同时最多播放')
    el('live-main-c5')!.click()
    await flushPromises()
    expect(document.body.textContent).toContain('同时最多播放 4 路主码流')
    expect(el('live-main-c5')!.classList.contains('el-button--primary')).toBe(false)
  })
})
