import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import { invoke } from '@tauri-apps/api/core'
import { listen } from '@tauri-apps/api/event'
import type { FrontDeskChanged, LockerBankView } from '../bindings'
import { i18n } from '../i18n'
import { fakeBackend } from '../testing'
import LockersView from './LockersView.vue'

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn(), Channel: class {} }))
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn() }))

const warn = console.warn
vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
  if (!String(args[0]).includes('unexpected width')) warn(...args)
})

const banks: LockerBankView[] = [
  {
    bankId: 'bank-a',
    name: 'Bank A',
    online: true,
    lastError: null,
    lockers: [
      { lockerNo: 1, status: 'free', lock: 'locked', occupantMasked: null, faultReason: null },
      { lockerNo: 2, status: 'assigned', lock: 'unlocked', occupantMasked: '110105********002X', faultReason: null },
      { lockerNo: 3, status: 'occupied', lock: 'locked', occupantMasked: '110105********0037', faultReason: null },
      { lockerNo: 4, status: 'retrieving', lock: 'unlocked', occupantMasked: null, faultReason: null },
      { lockerNo: 5, status: 'fault', lock: null, occupantMasked: null, faultReason: 'Jammed' },
    ],
  },
  { bankId: 'bank-b', name: 'Bank B', online: false, lastError: 'connection refused', lockers: [] },
]

async function mountLockers(handlers: Record<string, (args: Record<string, unknown>) => unknown> = {}) {
  let changed: ((event: { payload: FrontDeskChanged }) => void) | undefined
  vi.mocked(listen).mockImplementation(async (_event, handler) => {
    changed = handler as typeof changed
    return () => {}
  })
  fakeBackend({ list_lockers: () => banks, ...handlers })
  const wrapper = mount(LockersView, { global: { plugins: [createPinia(), i18n, ElementPlus], stubs: { transition: false } }, attachTo: document.body })
  await flushPromises()
  return { wrapper, changed: (payload: FrontDeskChanged) => changed?.({ payload }) }
}

const tile = (bank: string, no: number) => document.querySelector<HTMLElement>(`[data-testid=locker-${bank}-${no}]`)
const lists = () => vi.mocked(invoke).mock.calls.filter(([c]) => c === 'list_lockers').length

describe('LockersView', () => {
  beforeEach(() => {
    i18n.global.locale.value = 'zh-CN'
    vi.mocked(invoke).mockReset()
    document.body.innerHTML = ''
  })

  it('shows every locker with its status in colour, icon and words, and its door', async () => {
    const { wrapper } = await mountLockers()
    const statuses = [1, 2, 3, 4, 5].map((no) => tile('bank-a', no)?.dataset.status)
    expect(statuses).toEqual(['free', 'assigned', 'occupied', 'retrieving', 'fault'])
    expect(tile('bank-a', 1)?.textContent).toContain('01')
    expect(tile('bank-a', 1)?.textContent).toContain('空闲')
    expect(tile('bank-a', 1)?.textContent).toContain('柜门关闭')
    expect(tile('bank-a', 2)?.textContent).toContain('柜门打开')
    expect(tile('bank-a', 5)?.textContent).toContain('故障')
    expect(tile('bank-a', 5)?.classList).toContain('status-fault')
    expect(tile('bank-a', 5)?.querySelector('svg')).not.toBeNull()
    expect(document.querySelector('[data-testid=locker-bank-offline-bank-b]')?.textContent).toContain('connection refused')
    expect(document.querySelector('[data-testid=locker-bank-offline-bank-a]')).toBeNull()
    wrapper.unmount()
  })

  it('opens a locker by hand only with a reason', async () => {
    let opened: unknown
    const { wrapper } = await mountLockers({
      open_locker: (args) => {
        opened = args
        return null
      },
    })
    tile('bank-a', 3)!.click()
    await flushPromises()
    ;(document.querySelector('[data-testid=locker-open]') as HTMLElement).click()
    await flushPromises()
    expect(opened).toBeUndefined()
    expect(document.querySelector('[data-testid=locker-error]')).not.toBeNull()

    const reason = document.querySelector('[data-testid=locker-reason]') as HTMLInputElement
    reason.value = 'Expert forgot the glasses'
    reason.dispatchEvent(new Event('input'))
    ;(document.querySelector('[data-testid=locker-open]') as HTMLElement).click()
    await flushPromises()
    expect(opened).toEqual({ bankId: 'bank-a', lockerNo: 3, reason: 'Expert forgot the glasses' })
    wrapper.unmount()
  })

  it('puts a faulty locker back into service', async () => {
    let fault: unknown
    const { wrapper } = await mountLockers({
      set_locker_fault: (args) => {
        fault = args
        return null
      },
    })
    tile('bank-a', 5)!.click()
    await flushPromises()
    expect(document.querySelector('[data-testid=locker-fault]')).toBeNull()
    const reason = document.querySelector('[data-testid=locker-reason]') as HTMLInputElement
    reason.value = 'Lock replaced'
    reason.dispatchEvent(new Event('input'))
    ;(document.querySelector('[data-testid=locker-restore]') as HTMLElement).click()
    await flushPromises()
    expect(fault).toEqual({ bankId: 'bank-a', lockerNo: 5, faulty: false, reason: 'Lock replaced' })
    wrapper.unmount()
  })

  it('refreshes when the backend says lockers changed, not for other changes', async () => {
    vi.useFakeTimers()
    const { wrapper, changed } = await mountLockers()
    const before = lists()
    changed({ lockers: false, devices: true, rollCall: false })
    await vi.advanceTimersByTimeAsync(500)
    expect(lists()).toBe(before)
    changed({ lockers: true, devices: false, rollCall: false })
    changed({ lockers: true, devices: false, rollCall: true })
    await vi.advanceTimersByTimeAsync(500)
    expect(lists()).toBe(before + 1)
    vi.useRealTimers()
    wrapper.unmount()
  })
})
