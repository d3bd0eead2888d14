import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import { invoke } from '@tauri-apps/api/core'
import { listen } from '@tauri-apps/api/event'
import type { FrontDeskChanged, RollCall, RollCallRow } from '../bindings'
import { i18n } from '../i18n'
import { fakeBackend } from '../testing'
import RollCallView from './RollCallView.vue'

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn(), Channel: class {} }))
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn() }))

const row: RollCallRow = {
  checkInId: 5, name: 'Zhang Wei', idMasked: '110105********002X', roomName: 'Evaluation room 1',
  tenderProjectCode: 'E3201000001000001001', checkedInAt: '2026-03-02T08:41:10', lastMovementAt: '2026-03-02T10:02:33', status: 'inside',
}

describe('RollCallView', () => {
  beforeEach(() => {
    i18n.global.locale.value = 'zh-CN'
    vi.mocked(invoke).mockReset()
    document.body.innerHTML = ''
  })

  it('lists who is inside and who went out, counts them, exports, and follows changes', async () => {
    vi.useFakeTimers()
    let changed: ((event: { payload: FrontDeskChanged }) => void) | undefined
    vi.mocked(listen).mockImplementation(async (_event, handler) => {
      changed = handler as typeof changed
      return () => {}
    })
    let call: RollCall = { at: '2026-03-02T10:30:00', inside: [row, { ...row, checkInId: 6, name: 'Li Na' }], outside: [{ ...row, checkInId: 7, name: 'Wang Fang', status: 'left' }] }
    fakeBackend({ roll_call: () => call, roll_call_export: () => '/data/exports/roll-call-20260302-1030.csv' })
    const wrapper = mount(RollCallView, { global: { plugins: [createPinia(), i18n, ElementPlus] }, attachTo: document.body })
    await flushPromises()

    expect(wrapper.find('[data-testid=rollcall-inside-count]').text()).toBe('2')
    expect(wrapper.find('[data-testid=rollcall-inside]').text()).toContain('110105********002X')
    expect(wrapper.find('[data-testid=rollcall-inside]').text()).toContain('08:41:10')
    expect(wrapper.find('[data-testid=rollcall-outside]').text()).toContain('Wang Fang')
    expect(wrapper.find('[data-testid=rollcall-outside]').text()).toContain('已离场')

    await wrapper.find('[data-testid=rollcall-export]').trigger('click')
    await flushPromises()
    expect(wrapper.find('[data-testid=rollcall-exported]').text()).toContain('/data/exports/roll-call-20260302-1030.csv')

    call = { ...call, inside: [row] }
    changed?.({ payload: { lockers: false, devices: false, rollCall: true } })
    await vi.advanceTimersByTimeAsync(500)
    expect(wrapper.find('[data-testid=rollcall-inside-count]').text()).toBe('1')
    vi.useRealTimers()
    wrapper.unmount()
  })
})
