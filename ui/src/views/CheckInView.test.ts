import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import { invoke } from '@tauri-apps/api/core'
import type { CheckInCandidate, CheckInRecord, CheckOutProgress, LockerRef } from '../bindings'
import { i18n } from '../i18n'
import { appError, fakeBackend } from '../testing'
import CheckInView from './CheckInView.vue'

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn(), Channel: class {} }))
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn(async () => () => {}) }))

const ID = '11010519491231002X'

const locker: LockerRef = { bankId: 'bank-a', bankName: 'A', lockerNo: 7 }

const candidate: CheckInCandidate = {
  entryId: 41,
  name: 'Zhang Wei',
  idMasked: '110105********002X',
  expertType: 'Civil engineering',
  isChair: true,
  substitute: false,
  photoDataUrl: null,
  session: {
    bookingId: 12,
    roomId: 'eval-1',
    roomName: 'Evaluation room 1',
    purpose: 'evaluation',
    tenderProjectCode: 'E3201000001000001001',
    projectName: 'Road works',
    bidSectionCodes: ['E3201000001000001001001'],
    start: '2026-03-02T09:00',
    end: '2026-03-02T17:00',
    state: 'confirmed',
    expectedExperts: 5,
  },
  status: 'notArrived',
  checkInId: null,
  locker: null,
  late: false,
}

const record: CheckInRecord = {
  checkInId: 5,
  entryId: 41,
  name: 'Zhang Wei',
  idMasked: '110105********002X',
  session: candidate.session,
  locker,
  cardNoMasked: null,
  employeeNo: 'vd-5',
  checkedInAt: '2026-03-02T08:41:10',
  validUntil: '2026-03-02T17:30:00',
  checkedOutAt: null,
  status: 'inside',
  late: false,
  controllers: ['Evaluation area entrance'],
}

/** A promise the test settles when it wants: the backend's long waits (the locker door). */
function deferred<T>() {
  let resolve!: (value: T) => void
  let reject!: (reason: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

function mountView() {
  return mount(CheckInView, { global: { plugins: [createPinia(), i18n, ElementPlus], stubs: { transition: false } }, attachTo: document.body })
}

function el(testId: string): HTMLElement | null {
  return document.querySelector(`[data-testid=${testId}]`)
}

function typeInto(testId: string, value: string): void {
  const input = el(testId) as HTMLInputElement
  expect(input?.tagName, testId).toBe('INPUT')
  input.value = value
  input.dispatchEvent(new Event('input'))
}

function pressEnter(target: EventTarget): void {
  target.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true }))
}

const commandsCalled = () => vi.mocked(invoke).mock.calls.map(([c]) => c)

describe('CheckInView', () => {
  beforeEach(() => {
    i18n.global.locale.value = 'zh-CN'
    vi.mocked(invoke).mockReset()
    document.body.innerHTML = ''
  })

  it('finds the expert from a reader that types into the page while nothing is focused', async () => {
    fakeBackend({ checkin_find: () => candidate })
    const wrapper = mountView()
    await flushPromises()
    ;(document.activeElement as HTMLElement | null)?.blur()

    for (const key of ID) document.body.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true }))
    pressEnter(document.body)
    await flushPromises()

    expect(vi.mocked(invoke)).toHaveBeenCalledWith('checkin_find', { idNumber: ID })
    expect(el('checkin-scanned')).not.toBeNull()
    const shown = el('checkin-candidate')!.textContent
    expect(shown).toContain('Zhang Wei')
    expect(shown).toContain('110105********002X')
    expect((el('checkin-id-input') as HTMLInputElement).value).toBe(ID)
    wrapper.unmount()
  })

  it('takes the whole number from the field when a busy machine split a scan into it', async () => {
    fakeBackend({ checkin_find: () => candidate })
    const wrapper = mountView()
    await flushPromises()
    const input = el('checkin-id-input') as HTMLInputElement
    input.focus()
    // All 18 characters reached the field, but a pause left only the last six in the fast burst.
    typeInto('checkin-id-input', ID)
    for (const key of ID.slice(-6)) input.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true }))
    pressEnter(input)
    await flushPromises()
    expect(vi.mocked(invoke)).toHaveBeenCalledWith('checkin_find', { idNumber: ID })
    wrapper.unmount()
  })

  it('takes only the new number when a scan was typed after old text in the field', async () => {
    fakeBackend({ checkin_find: () => candidate })
    const wrapper = mountView()
    await flushPromises()
    const input = el('checkin-id-input') as HTMLInputElement
    input.focus()
    typeInto('checkin-id-input', `1234${ID}`)
    for (const key of ID) input.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true }))
    pressEnter(input)
    await flushPromises()
    expect(vi.mocked(invoke)).toHaveBeenCalledWith('checkin_find', { idNumber: ID })
    wrapper.unmount()
  })

  it('does not take keys typed into another field for a scan', async () => {
    fakeBackend({ checkin_find: () => candidate })
    const wrapper = mountView()
    await flushPromises()
    const other = document.createElement('textarea')
    document.body.appendChild(other)
    for (const key of ID) other.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true }))
    pressEnter(other)
    await flushPromises()
    expect(commandsCalled()).not.toContain('checkin_find')
    wrapper.unmount()
  })

  it('checks an expert in: identity, locker, door closed, credential, done', async () => {
    const door = deferred<LockerRef>()
    fakeBackend({
      checkin_find: () => candidate,
      checkin_begin: () => locker,
      checkin_await_deposit: () => door.promise,
      checkin_complete: ({ cardNo }) => ({ ...record, cardNoMasked: cardNo ? '****1234' : null }),
    })
    const wrapper = mountView()
    await flushPromises()
    expect(document.activeElement).toBe(el('checkin-id-input'))

    // Typed by hand, then Enter: find; Enter again: identity confirmed.
    typeInto('checkin-id-input', ID.toLowerCase())
    pressEnter(el('checkin-id-input')!)
    await flushPromises()
    expect(el('checkin-candidate')?.textContent).toContain('Zhang Wei')
    expect(el('checkin-scanned')).toBeNull()
    pressEnter(el('checkin-id-input')!)
    await flushPromises()

    // The locker is open while the backend waits for its door.
    expect(commandsCalled()).toEqual(['checkin_find', 'checkin_begin', 'checkin_await_deposit'])
    expect(el('checkin-locker')?.textContent).toContain('A 07')
    expect(el('checkin-locker')?.textContent).toContain('储物柜 A 07 已打开，请专家存放手机等通讯设备并关好柜门')
    expect(el('checkin-deposit-status')?.dataset.state).toBe('waiting')
    expect(el('checkin-card-input')).toBeNull()

    door.resolve(locker)
    await flushPromises()
    expect(el('checkin-deposit-status')?.dataset.state).toBe('closed')
    expect(document.activeElement).toBe(el('checkin-card-input'))
    typeInto('checkin-card-input', ' 00A11234 ')
    el('checkin-complete')!.click()
    await flushPromises()

    expect(commandsCalled()).toEqual(['checkin_find', 'checkin_begin', 'checkin_await_deposit', 'checkin_complete'])
    expect(vi.mocked(invoke)).toHaveBeenLastCalledWith('checkin_complete', { entryId: 41, cardNo: '00A11234' })
    expect(el('checkin-done')?.textContent).toContain('Zhang Wei')
    expect(el('checkin-valid-until')?.textContent).toBe('2026-03-02 17:30')
    expect(el('checkin-done')?.textContent).toContain('Evaluation area entrance')

    el('checkin-new')!.click()
    await flushPromises()
    expect(el('checkin-candidate')).toBeNull()
    expect((el('checkin-id-input') as HTMLInputElement).value).toBe('')
    wrapper.unmount()
  })

  it('issues the ID card itself as the credential when the ID card is read at the card step', async () => {
    fakeBackend({
      checkin_find: () => candidate,
      checkin_begin: () => locker,
      checkin_await_deposit: () => locker,
      checkin_complete: () => record,
    })
    const wrapper = mountView()
    await flushPromises()
    typeInto('checkin-id-input', ID)
    el('checkin-find')!.click()
    await flushPromises()
    el('checkin-confirm-identity')!.click()
    await flushPromises()
    // The expert's ID card read again at the card step: no separate card.
    const card = el('checkin-card-input')!
    for (const key of ID) card.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true }))
    pressEnter(card)
    await flushPromises()
    expect(vi.mocked(invoke)).toHaveBeenLastCalledWith('checkin_complete', { entryId: 41, cardNo: null })
    expect(el('checkin-done')?.textContent).toContain('本人身份证')
    wrapper.unmount()
  })

  it('takes a card read from anywhere at the card step as the card number', async () => {
    fakeBackend({
      checkin_find: () => candidate,
      checkin_begin: () => locker,
      checkin_await_deposit: () => locker,
      checkin_complete: () => record,
    })
    const wrapper = mountView()
    await flushPromises()
    typeInto('checkin-id-input', ID)
    el('checkin-find')!.click()
    await flushPromises()
    el('checkin-confirm-identity')!.click()
    await flushPromises()
    ;(document.activeElement as HTMLElement | null)?.blur()
    for (const key of '3141592653') document.body.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true }))
    pressEnter(document.body)
    await flushPromises()
    expect((el('checkin-card-input') as HTMLInputElement).value).toBe('3141592653')
    expect(commandsCalled()).not.toContain('checkin_complete')
    pressEnter(el('checkin-card-input')!)
    await flushPromises()
    expect(vi.mocked(invoke)).toHaveBeenLastCalledWith('checkin_complete', { entryId: 41, cardNo: '3141592653' })
    wrapper.unmount()
  })

  it('shows the backend message and the way forward when the ID number is not on a roster', async () => {
    fakeBackend({ checkin_find: () => Promise.reject(appError('NOT_FOUND', '今日评标名单中没有该身份证号')) })
    const wrapper = mountView()
    await flushPromises()
    typeInto('checkin-id-input', ID)
    el('checkin-find')!.click()
    await flushPromises()
    const alert = el('checkin-error')
    expect(alert?.textContent).toContain('今日评标名单中没有该身份证号')
    expect(alert?.textContent).toContain('补抽')
    expect(el('checkin-candidate')).toBeNull()
    wrapper.unmount()
  })

  it('checks the format before asking the backend', async () => {
    fakeBackend({})
    const wrapper = mountView()
    await flushPromises()
    typeInto('checkin-id-input', '1101051949')
    pressEnter(el('checkin-id-input')!)
    await flushPromises()
    expect(vi.mocked(invoke)).not.toHaveBeenCalled()
    expect(el('checkin-error')?.textContent).toContain('18 位')
    wrapper.unmount()
  })

  it('offers to wait again, reopen or cancel when the door is not closed in time', async () => {
    let waits = 0
    let cancelled: unknown
    fakeBackend({
      checkin_find: () => candidate,
      checkin_begin: () => locker,
      checkin_await_deposit: () => (++waits === 1 ? Promise.reject(appError('FAILED_PRECONDITION', '储物柜 A 07 的柜门仍未关闭')) : locker),
      checkin_cancel: (args) => {
        cancelled = args
        return null
      },
    })
    const wrapper = mountView()
    await flushPromises()
    typeInto('checkin-id-input', ID)
    el('checkin-find')!.click()
    await flushPromises()
    el('checkin-confirm-identity')!.click()
    await flushPromises()

    expect(el('checkin-error')?.textContent).toContain('柜门仍未关闭')
    expect(el('checkin-deposit-status')?.dataset.state).toBe('stalled')
    expect(el('checkin-reopen')).not.toBeNull()
    el('checkin-wait-again')!.click()
    await flushPromises()
    expect(waits).toBe(2)
    expect(el('checkin-error')).toBeNull()
    expect(el('checkin-card-input')).not.toBeNull()

    // The expert changes their mind at the card step.
    el('checkin-cancel')!.click()
    await flushPromises()
    typeInto('checkin-cancel-reason', 'Declined to hand in the phone')
    el('checkin-cancel-submit')!.click()
    await flushPromises()
    expect(cancelled).toEqual({ entryId: 41, reason: 'Declined to hand in the phone' })
    expect(el('checkin-locker')?.textContent).toContain('已取消 Zhang Wei 的签到')
    expect(el('checkin-new')).not.toBeNull()
    wrapper.unmount()
  })

  it('will not start another expert while a locker is open for this one', async () => {
    const door = deferred<LockerRef>()
    fakeBackend({ checkin_find: () => candidate, checkin_begin: () => locker, checkin_await_deposit: () => door.promise })
    const wrapper = mountView()
    await flushPromises()
    typeInto('checkin-id-input', ID)
    el('checkin-find')!.click()
    await flushPromises()
    el('checkin-confirm-identity')!.click()
    await flushPromises()
    typeInto('checkin-id-input', '110105194912310037')
    el('checkin-find')!.click()
    await flushPromises()
    expect(commandsCalled().filter((c) => c === 'checkin_find')).toHaveLength(1)
    expect(el('checkin-notice')).not.toBeNull()
    wrapper.unmount()
  })

  it('checks an expert out: revoke, locker opened, door closed, done', async () => {
    const door = deferred<CheckInRecord>()
    const progress: CheckOutProgress = { checkInId: 5, locker, revoked: ['Evaluation area entrance'], pending: ['Back door'] }
    fakeBackend({
      checkin_find: () => ({ ...candidate, status: 'inside', checkInId: 5, locker }),
      checkout_begin: () => progress,
      checkout_finish: () => door.promise,
    })
    const wrapper = mountView()
    await flushPromises()
    typeInto('checkin-id-input', ID)
    el('checkin-find')!.click()
    await flushPromises()
    expect(el('checkin-candidate')?.textContent).toContain('在场')
    expect(el('checkin-confirm-identity')).toBeNull()

    el('checkout-begin')!.click()
    await flushPromises()
    expect(commandsCalled()).toEqual(['checkin_find', 'checkout_begin', 'checkout_finish'])
    expect(vi.mocked(invoke)).toHaveBeenCalledWith('checkout_begin', { checkInId: 5 })
    expect(el('checkin-locker')?.textContent).toContain('请取回物品并关好柜门')
    expect(el('checkout-pending')?.textContent).toContain('Back door')

    door.resolve({ ...record, status: 'checkedOut', checkedOutAt: '2026-03-02T17:05:00' })
    await flushPromises()
    expect(el('checkout-done')?.textContent).toContain('2026-03-02 17:05:00')
    expect(el('checkout-done')?.textContent).toContain('Zhang Wei')
    wrapper.unmount()
  })

  it('finishes a check-out whose locker did not open, once it has been opened by hand', async () => {
    let checkedOut = false
    fakeBackend({
      checkin_find: () => ({ ...candidate, status: checkedOut ? 'checkedOut' : 'inside', checkInId: 5, locker }),
      checkout_begin: () => {
        checkedOut = true
        return Promise.reject(appError('UNAVAILABLE', '已签退、门禁已撤销，但储物柜没有打开：锁控板离线。'))
      },
      checkout_finish: () => ({ ...record, status: 'checkedOut', checkedOutAt: '2026-03-02T17:05:00' }),
    })
    const wrapper = mountView()
    await flushPromises()
    typeInto('checkin-id-input', ID)
    el('checkin-find')!.click()
    await flushPromises()
    el('checkout-begin')!.click()
    await flushPromises()
    expect(el('checkin-error')?.textContent).toContain('储物柜没有打开')
    expect(el('checkin-error')?.textContent).toContain('手动开柜')
    expect(el('checkout-begin')).toBeNull()

    pressEnter(el('checkin-id-input')!)
    await flushPromises()
    expect(commandsCalled()).toEqual(['checkin_find', 'checkout_begin', 'checkin_find', 'checkout_finish'])
    expect(el('checkout-done')).not.toBeNull()
    wrapper.unmount()
  })
})
