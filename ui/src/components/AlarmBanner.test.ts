import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import { invoke } from '@tauri-apps/api/core'
import { listen } from '@tauri-apps/api/event'
import type { AlarmsChanged, AlarmView, SoundStatus } from '../bindings'
import { i18n } from '../i18n'
import { appError, fakeBackend } from '../testing'
import AlarmBanner from './AlarmBanner.vue'

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn(), Channel: class {} }))
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn() }))

function alarm(id: number, over: Partial<AlarmView> = {}): AlarmView {
  return {
    id,
    kind: 'gateDetection',
    severity: 'major',
    source: 'gate-eval',
    sourceName: 'Evaluation gate',
    roomId: null,
    raisedAt: '2026-11-23T09:15:00',
    state: 'raised',
    active: true,
    acknowledgedBy: null,
    acknowledgedAt: null,
    note: null,
    clearedAt: null,
    message: 'A phone was detected at the gate; the door is held closed.',
    ...over,
  }
}

const soundOk: SoundStatus = { available: true, unavailableReason: null, mutedUntil: null, mutedBy: null }

/** A backend holding `alarms`: acknowledging one changes it there, as the real one does. */
async function mountBanner(alarms: AlarmView[], sound: SoundStatus = soundOk, handlers: Record<string, (args: Record<string, unknown>) => unknown> = {}) {
  let changed: ((event: { payload: AlarmsChanged }) => void) | undefined
  vi.mocked(listen).mockImplementation(async (_event, handler) => {
    changed = handler as typeof changed
    return () => {}
  })
  const state = { alarms, sound }
  fakeBackend({
    list_alarms: () => state.alarms,
    sound_status: () => state.sound,
    acknowledge_alarm: ({ id, note }) => {
      const done = { ...state.alarms.find((a) => a.id === id)!, state: 'acknowledged' as const, acknowledgedBy: 'Wang', acknowledgedAt: '2026-11-23T09:16:00', note: note as string }
      state.alarms = state.alarms.map((a) => (a.id === id ? done : a))
      return done
    },
    ...handlers,
  })
  const wrapper = mount(AlarmBanner, { global: { plugins: [createPinia(), i18n, ElementPlus], stubs: { transition: false } }, attachTo: document.body })
  await flushPromises()
  return { wrapper, state, changed: (payload: AlarmsChanged) => changed?.({ payload }) }
}

const $ = (testid: string) => document.querySelector<HTMLElement>(`[data-testid=${testid}]`)
const calls = (command: string) => vi.mocked(invoke).mock.calls.filter(([c]) => c === command)

async function type(testid: string, text: string): Promise<void> {
  const input = $(testid) as HTMLInputElement
  input.value = text
  input.dispatchEvent(new Event('input'))
  await flushPromises()
}

async function click(testid: string): Promise<void> {
  $(testid)!.click()
  await flushPromises()
}

describe('AlarmBanner', () => {
  beforeEach(() => {
    i18n.global.locale.value = 'zh-CN'
    vi.mocked(invoke).mockReset()
    document.body.innerHTML = ''
  })

  it('shows every raised alarm, highest severity first, and leaves the answered ones out', async () => {
    const { wrapper } = await mountBanner([
      alarm(1, { kind: 'doorHeldOpen', severity: 'minor', sourceName: 'Store room door', message: 'Door open for 3 minutes' }),
      alarm(2, { kind: 'fireAlarm', severity: 'critical', sourceName: 'Fire panel', message: 'Fire alarm: doors released' }),
      alarm(3, { state: 'acknowledged', acknowledgedBy: 'Li' }),
    ])
    expect(calls('list_alarms')[0][1]).toEqual({ filter: { openOnly: true, limit: null } })
    expect($('alarm-banner')).not.toBeNull()
    const items = [...document.querySelectorAll<HTMLElement>('[data-testid^=alarm-banner-item-]')]
    expect(items.map((i) => i.dataset.testid)).toEqual(['alarm-banner-item-2', 'alarm-banner-item-1'])
    expect(items.map((i) => i.dataset.severity)).toEqual(['critical', 'minor'])
    expect(items[0].classList).toContain('sev-critical')
    expect(items[0].textContent).toContain('火警联动')
    expect(items[0].textContent).toContain('Fire panel')
    expect(items[0].textContent).toContain('09:15:00')
    expect(items[0].textContent).toContain('Fire alarm: doors released')
    expect(items[1].textContent).toContain('门长时间未关')
    expect($('alarm-banner-item-3')).toBeNull()
    expect($('alarm-banner-summary')?.textContent).toContain('2 条报警未处理')
    expect($('alarm-ack-2')).not.toBeNull()
    wrapper.unmount()
  })

  it('stays until the alarm is acknowledged with a note, then goes', async () => {
    const { wrapper } = await mountBanner([alarm(7)])
    await click('alarm-ack-7')
    expect($('alarm-ack-note')).not.toBeNull()

    await click('alarm-ack-submit')
    expect(calls('acknowledge_alarm')).toHaveLength(0)
    expect($('alarm-ack-error')?.textContent).toContain('处置说明')
    await type('alarm-ack-note', ' x ')
    await click('alarm-ack-submit')
    expect(calls('acknowledge_alarm')).toHaveLength(0)
    expect($('alarm-banner')).not.toBeNull()

    await type('alarm-ack-note', 'Phone put in locker 12')
    await click('alarm-ack-submit')
    expect(calls('acknowledge_alarm')[0][1]).toEqual({ id: 7, note: 'Phone put in locker 12' })
    expect($('alarm-banner')).toBeNull()
    expect($('alarm-banner-item-7')).toBeNull()
    wrapper.unmount()
  })

  it('shows why the backend refused an acknowledgement', async () => {
    const { wrapper } = await mountBanner([alarm(8)], soundOk, {
      acknowledge_alarm: () => {
        throw appError('FAILED_PRECONDITION', 'Already acknowledged by Li at 09:16')
      },
    })
    await click('alarm-ack-8')
    await type('alarm-ack-note', 'Checked')
    await click('alarm-ack-submit')
    expect($('alarm-ack-error')?.textContent).toContain('Already acknowledged by Li at 09:16')
    expect($('alarm-banner-item-8')).not.toBeNull()
    wrapper.unmount()
  })

  it('says when this computer cannot play the alarm sound, alarms or not', async () => {
    const { wrapper } = await mountBanner([], { ...soundOk, available: false, unavailableReason: 'no default output device' })
    expect($('alarm-banner')).toBeNull()
    expect($('sound-unavailable')?.textContent).toContain('本机没有可用的音频输出，报警只能看到、听不到')
    wrapper.unmount()

    document.body.innerHTML = ''
    const quiet = await mountBanner([])
    expect($('sound-unavailable')).toBeNull()
    expect(quiet.wrapper.find('.alarm-bar').classes()).toContain('empty')
    quiet.wrapper.unmount()
  })

  it('mutes the sound for a while with a reason, shows until when, and unmutes', async () => {
    let muted: unknown
    const { wrapper } = await mountBanner([alarm(1)], soundOk, {
      mute_alarms: (args) => {
        muted = args
        return { ...soundOk, mutedUntil: '2026-11-23T09:45:00', mutedBy: 'Wang' }
      },
      unmute_alarms: () => soundOk,
    })
    expect($('alarm-unmute')).toBeNull()
    await click('alarm-mute')
    await click('alarm-mute-submit')
    expect(muted).toBeUndefined()
    expect($('alarm-mute-error')?.textContent).toContain('静音原因')
    await type('alarm-mute-reason', 'x')
    await click('alarm-mute-submit')
    expect(muted).toBeUndefined()

    await click('alarm-mute-minutes-15')
    await type('alarm-mute-reason', 'Gate maintenance')
    await click('alarm-mute-submit')
    expect(muted).toEqual({ minutes: 15, reason: 'Gate maintenance' })
    expect($('alarm-muted')?.textContent).toContain('静音至 09:45')
    expect($('alarm-mute')).toBeNull()

    await click('alarm-unmute')
    expect(calls('unmute_alarms')).toHaveLength(1)
    expect($('alarm-muted')).toBeNull()
    expect($('alarm-mute')).not.toBeNull()
    wrapper.unmount()
  })

  it('collapses more than two alarms into one summary line', async () => {
    const { wrapper } = await mountBanner([alarm(1), alarm(2, { severity: 'critical', kind: 'fireAlarm' }), alarm(3, { severity: 'minor' })])
    expect($('alarm-banner-summary')?.textContent).toContain('3 条报警未处理')
    expect($('alarm-banner')?.textContent).toContain('紧急 1')
    expect(document.querySelectorAll('[data-testid^=alarm-banner-item-]')).toHaveLength(0)
    await click('alarm-banner-toggle')
    expect(document.querySelectorAll('[data-testid^=alarm-banner-item-]')).toHaveLength(3)
    await click('alarm-banner-toggle')
    expect(document.querySelectorAll('[data-testid^=alarm-banner-item-]')).toHaveLength(0)
    wrapper.unmount()
  })

  it('follows the backend: a new alarm appears without a refresh', async () => {
    vi.useFakeTimers()
    const { wrapper, state, changed } = await mountBanner([])
    expect($('alarm-banner')).toBeNull()
    state.alarms = [alarm(11, { kind: 'doorForced' })]
    changed({ alarms: false, gates: true, sound: false })
    await vi.advanceTimersByTimeAsync(500)
    expect($('alarm-banner')).toBeNull()
    changed({ alarms: true, gates: true, sound: false })
    await vi.advanceTimersByTimeAsync(500)
    expect($('alarm-banner-item-11')?.textContent).toContain('门被强行打开')
    vi.useRealTimers()
    wrapper.unmount()
  })
})
