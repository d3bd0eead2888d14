import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import { invoke } from '@tauri-apps/api/core'
import { listen } from '@tauri-apps/api/event'
import type { DeviceHealthView, FrontDeskChanged } from '../bindings'
import { i18n } from '../i18n'
import { fakeBackend } from '../testing'
import DevicesView from './DevicesView.vue'

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn(), Channel: class {} }))
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn() }))

const door: DeviceHealthView = {
  id: 'door-eval', name: 'Evaluation entrance', kind: 'door_controller', driver: 'hik_isapi', address: '192.168.10.21',
  state: 'online', lastContactAt: '2026-03-02T10:29:58', lastError: null, detail: 'DS-K1T671M V3.2.30',
}

describe('DevicesView', () => {
  beforeEach(() => {
    i18n.global.locale.value = 'zh-CN'
    vi.mocked(invoke).mockReset()
    document.body.innerHTML = ''
  })

  it('shows each device with its state and follows changes', async () => {
    vi.useFakeTimers()
    let changed: ((event: { payload: FrontDeskChanged }) => void) | undefined
    vi.mocked(listen).mockImplementation(async (_event, handler) => {
      changed = handler as typeof changed
      return () => {}
    })
    let devices: DeviceHealthView[] = [
      door,
      { ...door, id: 'lockers-a', name: 'Lockers A', kind: 'lock_board', driver: 'lockboard_tcp', state: 'offline', lastError: 'connection refused', detail: null },
      { ...door, id: 'cam-1', name: 'Camera 1', kind: 'camera', driver: 'rtsp', state: 'unsupported', lastContactAt: null, detail: null },
    ]
    fakeBackend({ device_health: () => devices })
    const wrapper = mount(DevicesView, { global: { plugins: [createPinia(), i18n, ElementPlus] }, attachTo: document.body })
    await flushPromises()

    const table = wrapper.find('[data-testid=devices-table]').text()
    expect(table).toContain('门禁控制器')
    expect(table).toContain('储物柜锁控板')
    expect(table).toContain('DS-K1T671M V3.2.30')
    expect(table).toContain('2026-03-02 10:29:58')
    expect(table).toContain('connection refused')
    expect(table).toContain('离线')
    expect(table).toContain('尚未通信')

    devices = [{ ...door, state: 'fault', lastError: 'tamper alarm' }]
    changed?.({ payload: { lockers: false, devices: true, rollCall: false } })
    await vi.advanceTimersByTimeAsync(500)
    expect(wrapper.find('[data-testid=devices-table]').text()).toContain('tamper alarm')
    vi.useRealTimers()
    wrapper.unmount()
  })
})
