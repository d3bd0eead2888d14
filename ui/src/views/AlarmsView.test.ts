import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import { invoke } from '@tauri-apps/api/core'
import type { AlarmView, GateView, Role } from '../bindings'
import { i18n } from '../i18n'
import { useSessionStore } from '../stores/session'
import { fakeBackend } from '../testing'
import AlarmsView from './AlarmsView.vue'

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn(), Channel: class {} }))
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn(async () => () => {}) }))

function gate(gateId: string, over: Partial<GateView> = {}): GateView {
  return {
    gateId,
    name: `Gate ${gateId}`,
    phase: 'normal',
    inputActive: false,
    doorId: `door-${gateId}`,
    doorName: `Door ${gateId}`,
    doorMode: 'normal',
    doorError: null,
    alarmId: null,
    awaitingAcknowledgement: false,
    ...over,
  }
}

function alarm(id: number, over: Partial<AlarmView> = {}): AlarmView {
  return {
    id,
    kind: 'gateDetection',
    severity: 'major',
    source: 'gate-a',
    sourceName: 'Gate a',
    roomId: null,
    raisedAt: '2026-11-23T09:15:00',
    state: 'raised',
    active: true,
    acknowledgedBy: null,
    acknowledgedAt: null,
    note: null,
    clearedAt: null,
    message: 'A phone was detected at the gate.',
    ...over,
  }
}

const everyday: GateView[] = [
  gate('a', { phase: 'alarm', inputActive: true, doorMode: 'heldClosed', alarmId: 1 }),
  gate('b', { inputActive: null, doorMode: null, doorError: 'controller did not confirm (timeout)' }),
  gate('c', { phase: 'clearing', doorMode: 'heldClosed', alarmId: 2, awaitingAcknowledgement: true }),
]

const fire: GateView[] = [gate('a', { phase: 'emergency', doorMode: 'released' }), gate('b', { phase: 'emergency', doorMode: 'released' })]

const history: AlarmView[] = [
  alarm(1),
  alarm(2, { raisedAt: '2026-11-23T09:00:00', state: 'acknowledged', acknowledgedBy: 'Wang', acknowledgedAt: '2026-11-23T09:02:00', note: 'Phone in locker 3' }),
  alarm(3, {
    kind: 'deviceOffline', severity: 'minor', source: 'io-1', sourceName: 'I/O module', raisedAt: '2026-11-22T18:00:00', state: 'cleared', active: false, clearedAt: '2026-11-22T18:05:00',
  }),
]

async function mountAlarms(role: Role, gates: GateView[], handlers: Record<string, (args: Record<string, unknown>) => unknown> = {}) {
  const state = { gates, alarms: history }
  fakeBackend({ gate_status: () => state.gates, list_alarms: () => state.alarms, ...handlers })
  const pinia = createPinia()
  useSessionStore(pinia).signIn({ operatorId: 1, username: 'u', displayName: 'U', role, locked: false, idleLockMinutes: 10 })
  const wrapper = mount(AlarmsView, { global: { plugins: [pinia, i18n, ElementPlus], stubs: { transition: false } }, attachTo: document.body })
  await flushPromises()
  return { wrapper, state }
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

describe('AlarmsView', () => {
  beforeEach(() => {
    i18n.global.locale.value = 'zh-CN'
    vi.mocked(invoke).mockReset()
    document.body.innerHTML = ''
  })

  it('shows each gate: its phase, its input, its door and whether the door is confirmed', async () => {
    const { wrapper } = await mountAlarms('front_desk', everyday)
    expect(['a', 'b', 'c'].map((id) => $(`gate-card-${id}`)?.dataset.phase)).toEqual(['alarm', 'normal', 'clearing'])
    expect($('gate-card-a')?.textContent).toContain('报警')
    expect($('gate-card-a')?.textContent).toContain('检测到通讯设备')
    expect($('gate-card-a')?.textContent).toContain('Door a')
    expect($('gate-door-mode-a')?.dataset.mode).toBe('heldClosed')
    expect($('gate-door-mode-a')?.textContent).toContain('保持关闭')

    expect($('gate-door-mode-b')?.dataset.mode).toBe('unknown')
    expect($('gate-door-mode-b')?.textContent).toContain('状态未确认')
    expect($('gate-door-mode-b')?.classList).toContain('mode-unknown')
    expect($('gate-card-b')?.textContent).toContain('controller did not confirm (timeout)')
    expect($('gate-card-b')?.textContent).toContain('未知')

    expect($('gate-awaiting-ack-c')?.textContent).toContain('确认报警后恢复正常通行')
    expect($('gate-awaiting-ack-a')).toBeNull()
    expect($('gate-open-once-a')).not.toBeNull()
    expect($('gate-open-once-c')).not.toBeNull()
    expect($('gate-open-once-b')).toBeNull()
    expect($('emergency-banner')).toBeNull()
    wrapper.unmount()
  })

  it('lets one person through a gate in alarm only with a reason', async () => {
    let opened: unknown
    const { wrapper } = await mountAlarms('front_desk', everyday, {
      gate_open_once: (args) => {
        opened = args
        return { ...everyday[0], phase: 'overrideOnce' }
      },
    })
    await click('gate-open-once-a')
    await click('gate-reason-submit')
    expect(opened).toBeUndefined()
    expect($('gate-reason-error')?.textContent).toContain('放行原因')
    await type('gate-reason', ' x ')
    await click('gate-reason-submit')
    expect(opened).toBeUndefined()

    await type('gate-reason', 'Verified hearing aid')
    await click('gate-reason-submit')
    expect(opened).toEqual({ gateId: 'a', reason: 'Verified hearing aid' })
    expect($('gate-card-a')?.dataset.phase).toBe('overrideOnce')
    expect($('gate-open-once-a')).toBeNull()
    wrapper.unmount()
  })

  it('does not offer open once to those who do not answer alarms', async () => {
    const { wrapper } = await mountAlarms('venue_manager', everyday)
    expect($('gate-card-a')).not.toBeNull()
    expect($('gate-open-once-a')).toBeNull()
    expect($('alarm-row-1')).not.toBeNull()
    expect($('alarm-row-ack-1')).toBeNull()
    wrapper.unmount()
  })

  it('shows the fire alarm release to everyone, and lets only an administrator restore', async () => {
    const supervisor = await mountAlarms('supervisor', fire)
    expect($('emergency-banner')?.textContent).toContain('火警联动：评标区所有门已释放')
    expect($('gate-card-a')?.dataset.phase).toBe('emergency')
    expect($('gate-door-mode-a')?.dataset.mode).toBe('released')
    expect($('emergency-restore')).toBeNull()
    supervisor.wrapper.unmount()

    document.body.innerHTML = ''
    let restored: unknown
    const admin = await mountAlarms('administrator', fire, {
      restore_from_emergency: (args) => {
        restored = args
        return fire.map((g) => ({ ...g, phase: 'normal', doorMode: 'normal' }))
      },
    })
    expect($('emergency-banner')).not.toBeNull()
    await click('emergency-restore')
    await click('emergency-restore-submit')
    expect(restored).toBeUndefined()
    expect($('emergency-error')?.textContent).toContain('恢复原因')

    await type('emergency-reason', 'Fire brigade confirmed a false alarm')
    await click('emergency-restore-submit')
    expect(restored).toEqual({ reason: 'Fire brigade confirmed a false alarm' })
    expect($('emergency-banner')).toBeNull()
    expect($('gate-card-a')?.dataset.phase).toBe('normal')
    admin.wrapper.unmount()
  })

  it('lists the alarms with their state and answer, open ones or all', async () => {
    const { wrapper } = await mountAlarms('front_desk', everyday)
    expect(calls('list_alarms')[0][1]).toEqual({ filter: { openOnly: true, limit: null } })
    const table = $('alarms-table')!
    expect(table.textContent).toContain('通讯检测门报警')
    expect(table.textContent).toContain('设备离线')
    expect(['1', '2', '3'].map((id) => $(`alarm-row-${id}`)?.dataset.state)).toEqual(['raised', 'acknowledged', 'cleared'])
    expect($('alarm-row-2')?.textContent).toContain('Wang')
    expect($('alarm-row-2')?.textContent).toContain('Phone in locker 3')
    expect($('alarm-row-3')?.textContent).toContain('18:05:00')
    expect($('alarm-row-1')?.textContent).toContain('仍在持续')
    expect($('alarm-row-ack-1')).not.toBeNull()
    expect($('alarm-row-ack-2')).toBeNull()

    await click('alarms-filter-all')
    expect(calls('list_alarms').slice(-1)[0][1]).toEqual({ filter: { openOnly: false, limit: 200 } })
    wrapper.unmount()
  })

  it('acknowledges a raised alarm from the list with a note', async () => {
    let acked: unknown
    const { wrapper, state } = await mountAlarms('front_desk', everyday, {
      acknowledge_alarm: (args) => {
        acked = args
        const done = { ...history[0], state: 'acknowledged' as const, acknowledgedBy: 'U', note: args.note as string }
        state.alarms = [done, ...history.slice(1)]
        return done
      },
    })
    await click('alarm-row-ack-1')
    await click('alarm-ack-submit')
    expect(acked).toBeUndefined()
    await type('alarm-ack-note', 'Expert left the phone outside')
    await click('alarm-ack-submit')
    expect(acked).toEqual({ id: 1, note: 'Expert left the phone outside' })
    expect($('alarm-row-1')?.dataset.state).toBe('acknowledged')
    wrapper.unmount()
  })
})
