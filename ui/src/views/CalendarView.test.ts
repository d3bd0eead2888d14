import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import ElementPlus from 'element-plus'
import { invoke } from '@tauri-apps/api/core'
import type { BookingChangeInput, Role } from '../bindings'
import { i18n } from '../i18n'
import { useAppStore } from '../stores/app'
import { useSessionStore } from '../stores/session'
import { appError, fakeBackend } from '../testing'
import { booking, byTestid, project, room } from '../testing-bookings'
import CalendarView from './CalendarView.vue'

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn(), Channel: class {} }))

// jsdom does no layout, so the forms' automatic label width measures NaN; nothing else is muted.
const warn = console.warn
vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
  if (!String(args[0]).includes('unexpected width')) warn(...args)
})

const DAY = '2026-03-02'
const ROW_HEIGHT = 60
/** 09:00–10:00 in room kb1, with half an hour of set-up and of clean-up. */
const nine = booking(1, `${DAY}T09:00`, `${DAY}T10:00`)

async function mountCalendar(role: Role, handlers: Record<string, (args: Record<string, unknown>) => unknown> = {}) {
  const pinia = createPinia()
  setActivePinia(pinia)
  useAppStore().info = { version: '0.1.0', venueCode: 'demo', venueName: 'Demo', timeZone: 'Asia/Shanghai', firstRun: false, startupError: null, demoVenue: true }
  useSessionStore().signIn({ operatorId: 2, username: 'u', displayName: 'U', role, locked: false, idleLockMinutes: 10 })
  fakeBackend({
    list_rooms: () => [room('kb1', 'Room 1'), room('kb2', 'Room 2')],
    list_bookings: () => [nine],
    list_projects: () => [project],
    booking_history: () => [],
    ...handlers,
  })
  const wrapper = mount(CalendarView, { global: { plugins: [pinia, i18n, ElementPlus], stubs: { transition: false } }, attachTo: document.body })
  await flushPromises()
  // jsdom does no layout: each room's time track is one 960 px row (15 hours of 64 px), stacked.
  ;['kb1', 'kb2'].forEach((id, i) => {
    const track = byTestid(`lane-${id}`).querySelector<HTMLElement>('.track')!
    track.getBoundingClientRect = () => new DOMRect(0, i * ROW_HEIGHT, 960, ROW_HEIGHT)
  })
  return wrapper
}

/** jsdom has no PointerEvent; the calendar reads only what a MouseEvent has too. */
function pointer(target: EventTarget, type: string, x: number, y: number): void {
  target.dispatchEvent(new MouseEvent(type, { clientX: x, clientY: y, button: 0, bubbles: true, cancelable: true }))
}

const track = (roomId: string) => byTestid(`lane-${roomId}`).querySelector<HTMLElement>('.track')!
const listed = () => vi.mocked(invoke).mock.calls.filter(([c]) => c === 'list_bookings').length

describe('CalendarView', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(new Date(`${DAY}T02:00:00Z`)) // 10:00 at the venue
    i18n.global.locale.value = 'zh-CN'
    vi.mocked(invoke).mockReset()
    document.body.innerHTML = ''
  })

  afterEach(() => vi.useRealTimers())

  it('draws a booking from its times, with its buffers, on its room row, and asks for the venue day', async () => {
    const wrapper = await mountCalendar('venue_manager')
    expect(vi.mocked(invoke).mock.calls.find(([c]) => c === 'list_bookings')?.[1]).toEqual({
      filter: { fromDate: '2026-03-01', toDate: '2026-03-03', roomId: null, projectCode: null, state: null },
    })
    const block = byTestid('booking-block-1')
    expect(byTestid('lane-kb1').contains(block)).toBe(true)
    // 08:30 (set-up) is 90 minutes after 07:00; to 10:30 (clean-up) is two hours: 64 px an hour.
    expect(block.style.left).toBe('96px')
    expect(block.style.width).toBe('128px')
    expect(block.textContent).toContain(project.tenderProjectCode)
    expect(block.textContent).toContain('开标')
    expect(wrapper.find('.now').exists()).toBe(true)
    wrapper.unmount()
  })

  it.each(['supervisor', 'administrator'] as const)('is read only for a %s', async (role) => {
    const wrapper = await mountCalendar(role)
    expect(document.querySelector('[data-testid=booking-new]')).toBeNull()
    expect(byTestid('booking-block-1')).toBeTruthy()
    pointer(track('kb1'), 'pointerdown', 320, 30)
    pointer(window, 'pointermove', 448, 30)
    pointer(window, 'pointerup', 448, 30)
    await flushPromises()
    expect(document.querySelector('[data-testid=calendar-ghost]')).toBeNull()
    expect(document.querySelector('[data-testid=booking-submit]')).toBeNull()

    byTestid('booking-block-1').click()
    await flushPromises()
    expect(byTestid('booking-drawer').textContent).toContain(project.name)
    expect(document.querySelector('[data-testid=booking-change]')).toBeNull()
    expect(document.querySelector('[data-testid=booking-cancel]')).toBeNull()
    wrapper.unmount()
  })

  it('opens the new-booking dialog for the time drawn on a room row, red over a taken slot', async () => {
    const wrapper = await mountCalendar('venue_manager')
    // 11:00–13:00 in the empty room is free; Escape drops it.
    pointer(track('kb2'), 'pointerdown', 384, 90)
    pointer(window, 'pointermove', 256, 90)
    await flushPromises()
    expect(byTestid('calendar-ghost').classList).toContain('free')
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }))
    await flushPromises()
    expect(document.querySelector('[data-testid=calendar-ghost]')).toBeNull()

    // From 13:00 back to 10:30 reaches, with its set-up, into booking 1's clean-up; from 11:00 it only touches it.
    pointer(track('kb1'), 'pointerdown', 384, 30)
    pointer(window, 'pointermove', 224, 30)
    await flushPromises()
    expect(byTestid('calendar-ghost').classList).toContain('clash')
    pointer(window, 'pointermove', 256, 30)
    await flushPromises()
    expect(byTestid('calendar-ghost').classList).toContain('free')
    pointer(window, 'pointerup', 256, 30)
    await flushPromises()

    expect((byTestid('booking-start') as HTMLInputElement).value).toBe('2026-03-02 11:00')
    expect((byTestid('booking-end') as HTMLInputElement).value).toBe('2026-03-02 13:00')
    expect(byTestid('booking-room').textContent).toContain('Room 1')
    wrapper.unmount()
  })

  it('moves a block to another room with a reason, and snaps back when the backend refuses', async () => {
    let sent: BookingChangeInput | undefined
    const wrapper = await mountCalendar('venue_manager', {
      change_booking: ({ input }) => {
        sent = input as BookingChangeInput
        throw appError('CONFLICT', 'taken by booking #9')
      },
    })
    pointer(byTestid('booking-block-1'), 'pointerdown', 150, 30)
    pointer(window, 'pointermove', 150 + 64, 30 + ROW_HEIGHT)
    await flushPromises()
    expect(byTestid('lane-kb2').querySelector('[data-testid=calendar-ghost]')?.textContent).toContain('10:00–11:00')
    pointer(window, 'pointerup', 150 + 64, 30 + ROW_HEIGHT)
    await flushPromises()

    const reason = byTestid('booking-change-reason') as HTMLInputElement
    reason.value = 'Panel asked for a bigger room'
    reason.dispatchEvent(new Event('input'))
    const before = listed()
    byTestid('booking-change-submit').click()
    await flushPromises()

    expect(sent).toEqual({ id: 1, version: 1, roomId: 'kb2', start: `${DAY}T10:00`, end: `${DAY}T11:00`, reason: 'Panel asked for a bigger room' })
    expect(byTestid('booking-change-error').textContent).toContain('#9')
    expect(document.querySelector('[data-testid=calendar-ghost]')).toBeNull()
    expect(byTestid('lane-kb1').contains(byTestid('booking-block-1'))).toBe(true)
    expect(listed()).toBe(before + 1)
    wrapper.unmount()
  })
})
