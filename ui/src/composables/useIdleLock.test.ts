import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { defineComponent, h } from 'vue'
import { mount, type VueWrapper } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { invoke } from '@tauri-apps/api/core'
import { useSessionStore } from '../stores/session'
import { fakeBackend } from '../testing'
import { useIdleLock } from './useIdleLock'

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn(), Channel: class {} }))

const Host = defineComponent({
  setup() {
    useIdleLock()
    return () => h('div')
  },
})

function calls(command: string): number {
  return vi.mocked(invoke).mock.calls.filter(([c]) => c === command).length
}

describe('useIdleLock', () => {
  let wrapper: VueWrapper
  let session: ReturnType<typeof useSessionStore>

  beforeEach(() => {
    vi.useFakeTimers()
    vi.mocked(invoke).mockReset()
    fakeBackend({ lock_session: () => null, report_activity: () => null })
    const pinia = createPinia()
    setActivePinia(pinia)
    session = useSessionStore()
    session.signIn({ operatorId: 1, username: 'u', displayName: 'U', role: 'front_desk', locked: false, idleLockMinutes: 2 })
    wrapper = mount(Host, { global: { plugins: [pinia] } })
  })

  afterEach(() => {
    wrapper.unmount()
    vi.useRealTimers()
  })

  it('locks after the idle time without activity', async () => {
    await vi.advanceTimersByTimeAsync(115_000)
    expect(session.locked).toBe(false)
    await vi.advanceTimersByTimeAsync(10_000)
    expect(session.locked).toBe(true)
    expect(calls('lock_session')).toBe(1)
  })

  it('counts mouse and keyboard activity, reporting it at most once a minute', async () => {
    await vi.advanceTimersByTimeAsync(61_000)
    window.dispatchEvent(new MouseEvent('mousemove'))
    window.dispatchEvent(new KeyboardEvent('keydown'))
    expect(calls('report_activity')).toBe(1)
    await vi.advanceTimersByTimeAsync(30_000)
    window.dispatchEvent(new KeyboardEvent('keydown'))
    expect(calls('report_activity')).toBe(1)
    await vi.advanceTimersByTimeAsync(110_000)
    expect(session.locked).toBe(false)
    await vi.advanceTimersByTimeAsync(15_000)
    expect(session.locked).toBe(true)
  })
})
