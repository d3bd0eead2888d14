import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import ElementPlus from 'element-plus'
import { invoke } from '@tauri-apps/api/core'
import type { AlarmView, AppInfo, Role } from '../bindings'
import { i18n } from '../i18n'
import { router } from '../router'
import { fakeBackend } from '../testing'
import App from '../App.vue'

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn(), Channel: class {} }))
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn(async () => () => {}) }))

// The home screen's room table renders its column templates once without a row.
const warn = console.warn
vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
  if (!String(args[0]).includes('.undefined')) warn(...args)
})

const ready: AppInfo = { version: '0.1.0', venueCode: 'demo', venueName: 'Demo', timeZone: 'Asia/Shanghai', firstRun: false, startupError: null, demoVenue: true }

const raised: AlarmView = {
  id: 5, kind: 'gateDetection', severity: 'major', source: 'gate-eval', sourceName: 'Evaluation gate', roomId: null,
  raisedAt: '2026-11-23T09:15:00', state: 'raised', active: true, acknowledgedBy: null, acknowledgedAt: null, note: null,
  clearedAt: null, message: 'A phone was detected at the gate.',
}

async function signedInShell(role: Role) {
  setActivePinia(createPinia())
  fakeBackend({
    set_locale: () => null,
    app_info: () => ready,
    current_session: () => ({ operatorId: 1, username: 'u', displayName: 'U', role, locked: false, idleLockMinutes: 10 }),
    venue_overview: () => ({ rooms: [], deviceCount: 0, outboxPending: 0 }),
    list_alarms: () => [raised],
    sound_status: () => ({ available: true, unavailableReason: null, mutedUntil: null, mutedBy: null }),
    report_activity: () => null,
  })
  await router.push('/')
  const wrapper = mount(App, { global: { plugins: [i18n, router, ElementPlus], stubs: { transition: false } }, attachTo: document.body })
  await flushPromises()
  return wrapper
}

describe('ShellLayout', () => {
  beforeEach(() => {
    i18n.global.locale.value = 'zh-CN'
    vi.mocked(invoke).mockReset()
    document.body.innerHTML = ''
  })

  it('puts the alarm banner above every screen of the desk, and the alarm centre in the menu', async () => {
    const wrapper = await signedInShell('front_desk')
    expect(document.querySelector('[data-testid=nav-alarms]')?.textContent).toContain('报警中心')
    expect(document.querySelector('[data-testid=shortcut-alarms]')).not.toBeNull()
    expect(document.querySelector('[data-testid=alarm-banner-item-5]')).not.toBeNull()
    wrapper.unmount()
  })

  it('keeps the banner from those who do not answer alarms, not the alarm centre', async () => {
    const wrapper = await signedInShell('venue_manager')
    expect(document.querySelector('[data-testid=nav-alarms]')).not.toBeNull()
    expect(document.querySelector('[data-testid=alarm-banner]')).toBeNull()
    expect(vi.mocked(invoke).mock.calls.some(([c]) => c === 'list_alarms')).toBe(false)
    wrapper.unmount()
  })
})
