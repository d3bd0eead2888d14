import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import { invoke } from '@tauri-apps/api/core'
import type { BookingSession, Timeline } from '../bindings'
import { i18n } from '../i18n'
import { useAppStore } from '../stores/app'
import { fakeBackend } from '../testing'
import PlaybackView from './PlaybackView.vue'

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn(), Channel: class {} }))
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn(async () => () => {}) }))

const warn = console.warn
vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
  if (!String(args[0]).includes('unexpected width')) warn(...args)
})

// jsdom has no media playback: the elements record what the player asks of them.
const played: string[] = []
Object.defineProperty(HTMLMediaElement.prototype, 'play', {
  configurable: true,
  value(this: HTMLMediaElement) {
    played.push(this.dataset.testid ?? '')
    return Promise.resolve()
  },
})
Object.defineProperty(HTMLMediaElement.prototype, 'pause', { configurable: true, value() {} })
Object.defineProperty(HTMLMediaElement.prototype, 'load', { configurable: true, value() {} })

const T0 = Date.UTC(2026, 10, 24, 1, 0, 0) // 09:00 in Shanghai

const session: BookingSession = {
  bookingId: 7, roomId: 'pb-1', roomName: '第一评标室', purpose: 'evaluation', tenderProjectCode: 'E3101000001202611088',
  projectName: '示范市体育馆维修工程', bidSectionCodes: ['001'], start: '2026-11-24T09:00:00+08:00', end: '2026-11-24T10:00:00+08:00',
  state: 'confirmed', expectedExperts: 7,
}

const url = (id: number) => `http://127.0.0.1:4321/segment/${id}?t=tok`

const timeline: Timeline = {
  roomId: 'pb-1', roomName: '第一评标室', fromMs: T0 - 600_000, toMs: T0 + 4_200_000,
  from: '2026-11-24T08:50:00+08:00', to: '2026-11-24T10:10:00+08:00',
  session: {
    bookingId: 7, tenderProjectCode: 'E3101000001202611088', projectName: '示范市体育馆维修工程', bidSectionCodes: ['001'],
    purpose: 'evaluation', state: 'confirmed', startMs: T0, endMs: T0 + 3_600_000, recordedFromMs: T0 - 600_000, recordedToMs: T0 + 4_200_000,
    start: '2026-11-24T09:00:00+08:00', end: '2026-11-24T10:00:00+08:00',
  },
  sessions: [],
  tracks: [
    {
      deviceId: 'cam-pb1-a', name: '评标室全景', kind: 'camera', gaps: [],
      segments: [
        { id: 1, startMs: T0, endMs: T0 + 60_000, url: url(1), purged: false, recovered: false },
        { id: 2, startMs: T0 + 60_000, endMs: T0 + 120_000, url: url(2), purged: false, recovered: true },
      ],
    },
    {
      deviceId: 'cam-pb1-b', name: '评标桌', kind: 'camera',
      segments: [{ id: 3, startMs: T0, endMs: T0 + 30_000, url: url(3), purged: false, recovered: false }],
      gaps: [{ id: 5, cameraId: 'cam-pb1-b', roomId: 'pb-1', fromMs: T0 + 30_000, toMs: T0 + 600_000, from: '', to: '', reason: '视频丢失' }],
    },
    { deviceId: 'mic-pb1', name: '拾音器', kind: 'microphone', segments: [], gaps: [] },
  ],
}
timeline.sessions = [timeline.session!]

const el = (testId: string) => document.querySelector<HTMLElement>(`[data-testid=${testId}]`)
const video = (cam: string) => el(`playback-video-${cam}`) as HTMLVideoElement

async function shown(queries: unknown[] = []) {
  fakeBackend({
    list_sessions: () => [session],
    list_rooms: () => [],
    recordings_timeline: (args) => {
      queries.push(args.query)
      return timeline
    },
  })
  const pinia = createPinia()
  useAppStore(pinia).info = { version: '0.1.0', venueCode: 'demo', venueName: 'Demo', timeZone: 'Asia/Shanghai', firstRun: false, startupError: null, demoVenue: true }
  const wrapper = mount(PlaybackView, { global: { plugins: [pinia, i18n, ElementPlus], stubs: { transition: false } }, attachTo: document.body })
  await flushPromises()
  el('playback-load')!.click()
  await flushPromises()
  await new Promise((r) => setTimeout(r, 0))
  return wrapper
}

describe('PlaybackView', () => {
  beforeEach(() => {
    i18n.global.locale.value = 'zh-CN'
    vi.mocked(invoke).mockReset()
    document.body.innerHTML = ''
    played.length = 0
  })

  it('loads the chosen session and shows each camera with its first segment, the first one heard', async () => {
    const queries: unknown[] = []
    await shown(queries)
    expect(queries).toEqual([{ kind: 'session', bookingId: 7 }])
    expect(el('playback-session-line')!.textContent).toContain('示范市体育馆维修工程')
    expect(el('playback-tile-cam-pb1-a')!.textContent).toContain('评标室全景')
    expect(video('cam-pb1-a').src).toBe(url(1))
    expect(video('cam-pb1-b').src).toBe(url(3))
    expect(video('cam-pb1-a').muted).toBe(false)
    expect(video('cam-pb1-b').muted).toBe(true)
    expect(el('playback-clock')!.textContent).toBe('09:00:00')
  })

  it('draws the gaps on the timeline in their own colour', async () => {
    await shown()
    const gap = el('playback-gap-5')!
    expect(gap.classList.contains('gap')).toBe(true)
    expect(gap.getAttribute('title')).toBe('视频丢失')
    // 09:00:30 to 09:10 of 08:50 to 10:10.
    expect(gap.style.left).toBe('13.125%')
    expect(gap.style.width).toBe('11.875%')
  })

  it('seeks where the timeline is clicked: a camera in its gap says so, another moves to its next segment', async () => {
    await shown()
    const bar = el('playback-bar-cam-pb1-a')!
    bar.getBoundingClientRect = () => ({ left: 0, width: 800, top: 0, height: 16, right: 800, bottom: 16, x: 0, y: 0, toJSON: () => ({}) })
    // 09:01:30 is 11.5 of the 80 minutes: x = 115 px of 800.
    bar.dispatchEvent(new MouseEvent('click', { clientX: 115, bubbles: true }))
    await flushPromises()
    expect(el('playback-clock')!.textContent).toBe('09:01:30')
    expect(video('cam-pb1-a').src).toBe(url(2))
    expect(el('playback-note-cam-pb1-b')!.textContent).toContain('录像缺口 09:00:30 – 09:10:00：视频丢失')
    expect(el('playback-tile-cam-pb1-a')!.textContent).toContain('异常退出后恢复')
  })

  it('plays every camera at the chosen speed, and the sound follows the chosen camera', async () => {
    await shown()
    el('playback-speed-2')!.querySelector('input')!.click()
    await flushPromises()
    el('playback-play')!.click()
    await flushPromises()
    for (const cam of ['cam-pb1-a', 'cam-pb1-b']) video(cam).dispatchEvent(new Event('loadedmetadata'))
    expect(played).toEqual(expect.arrayContaining(['playback-video-cam-pb1-a', 'playback-video-cam-pb1-b']))
    expect(video('cam-pb1-a').playbackRate).toBe(2)
    el('playback-sound-cam-pb1-b')!.click()
    await flushPromises()
    expect(video('cam-pb1-a').muted).toBe(true)
    expect(video('cam-pb1-b').muted).toBe(false)
    el('playback-pause')!.click()
    await flushPromises()
    expect(el('playback-play')).not.toBeNull()
  })

  it('shows the backend refusal as it is', async () => {
    fakeBackend({
      list_sessions: () => [session],
      list_rooms: () => [],
      recordings_timeline: () => {
        throw { code: 'PERMISSION_DENIED', message: '只有监督人员和系统管理员可以回放录像。' }
      },
    })
    mount(PlaybackView, { global: { plugins: [createPinia(), i18n, ElementPlus] }, attachTo: document.body })
    await flushPromises()
    el('playback-load')!.click()
    await flushPromises()
    expect(el('playback-error')!.textContent).toContain('只有监督人员和系统管理员可以回放录像。')
  })
})
