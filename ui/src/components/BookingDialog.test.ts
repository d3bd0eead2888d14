import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import ElementPlus from 'element-plus'
import { invoke } from '@tauri-apps/api/core'
import type { BookingInput } from '../bindings'
import { i18n } from '../i18n'
import { useRoomsStore } from '../stores/rooms'
import { appError, fakeBackend } from '../testing'
import { booking, byTestid, project, room, typeAndEnter } from '../testing-bookings'
import BookingDialog from './BookingDialog.vue'

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn(), Channel: class {} }))

// jsdom does no layout, so the forms' automatic label width measures NaN; nothing else is muted.
const warn = console.warn
vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
  if (!String(args[0]).includes('unexpected width')) warn(...args)
})

const TAKEN = '房间 “开标室一” 在该时段已有预约 #12：E3101000001202611001 大桥（开标，2026-03-02 09:00 至 2026-03-02 11:00）。该房间最早可从 2026-03-02 12:00 起预约同样时长。'

async function openDialog(createBooking: (input: BookingInput) => unknown) {
  const pinia = createPinia()
  setActivePinia(pinia)
  useRoomsStore().rooms = [room('kb1', 'Room 1'), room('kb2', 'Room 2', { kind: 'evaluation', zone: 'evaluation' })]
  fakeBackend({
    list_projects: () => [project],
    create_booking: ({ input }) => createBooking(input as BookingInput),
  })
  const wrapper = mount(BookingDialog, {
    props: { prefill: null },
    global: { plugins: [pinia, i18n, ElementPlus], stubs: { transition: false } },
    attachTo: document.body,
  })
  await wrapper.setProps({ prefill: { roomId: 'kb1', start: '2026-03-02T09:00', end: '2026-03-02T10:00' } })
  await flushPromises()
  byTestid(`booking-project-option-${project.tenderProjectCode}`).click()
  await flushPromises()
  return wrapper
}

async function submit(): Promise<void> {
  byTestid('booking-submit').click()
  await flushPromises()
}

describe('BookingDialog', () => {
  beforeEach(() => {
    i18n.global.locale.value = 'zh-CN'
    vi.mocked(invoke).mockReset()
    document.body.innerHTML = ''
  })

  it('books with typed times, the project sections and the room purpose', async () => {
    let sent: BookingInput | undefined
    const wrapper = await openDialog((input) => {
      sent = input
      return [booking(30, input.start, input.end)]
    })
    typeAndEnter('booking-start', '2026-03-02 13:30')
    typeAndEnter('booking-end', '2026-03-02 15:00')
    await flushPromises()
    byTestid('booking-section-002').click()
    await flushPromises()
    await submit()

    expect(sent).toMatchObject({
      roomId: 'kb1', projectId: project.id, bidSectionCodes: ['001'], purpose: 'bid_opening',
      start: '2026-03-02T13:30', end: '2026-03-02T15:00', setupMin: 30, cleanupMin: 30, days: 1, confirm: true,
    })
    expect(wrapper.emitted('created')?.[0]).toEqual([[booking(30, '2026-03-02T13:30', '2026-03-02T15:00')]])
    wrapper.unmount()
  })

  it('shows a taken slot in booking-error and stays open', async () => {
    const wrapper = await openDialog(() => {
      throw appError('CONFLICT', TAKEN)
    })
    await submit()

    const error = byTestid('booking-error')
    expect(error.textContent).toContain('#12')
    expect(error.textContent).toContain('2026-03-02 12:00')
    expect(wrapper.emitted('created')).toBeUndefined()
    expect(wrapper.emitted('close')).toBeUndefined()
    expect(byTestid('booking-submit')).toBeTruthy()
    wrapper.unmount()
  })

  it('offers the overnight switch for evaluations only', async () => {
    const wrapper = await openDialog(() => [])
    expect(document.querySelector('[data-testid=booking-overnight]')).toBeNull()
    byTestid('booking-purpose-evaluation').click()
    await flushPromises()
    expect(document.querySelector('[data-testid=booking-overnight]')).not.toBeNull()
    wrapper.unmount()
  })
})
