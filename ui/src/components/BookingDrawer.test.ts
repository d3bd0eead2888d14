import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import ElementPlus from 'element-plus'
import { invoke } from '@tauri-apps/api/core'
import type { BookingChangeView, BookingView } from '../bindings'
import { i18n } from '../i18n'
import { useRoomsStore } from '../stores/rooms'
import { fakeBackend } from '../testing'
import { booking, byTestid, room } from '../testing-bookings'
import BookingDrawer from './BookingDrawer.vue'

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn(), Channel: class {} }))

// jsdom does no layout, so the forms' automatic label width measures NaN; nothing else is muted.
const warn = console.warn
vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
  if (!String(args[0]).includes('unexpected width')) warn(...args)
})

const moved: BookingChangeView = {
  at: '2026-03-02 08:12:40', actor: 'changdi01', change: 'room_changed', reason: 'Projector broken',
  before: JSON.stringify({ roomId: 'kb1', start: '2026-03-02T09:00:00+08:00', end: '2026-03-02T10:00:00+08:00', state: 'requested' }),
  after: JSON.stringify({ roomId: 'kb2', start: '2026-03-02T09:00:00+08:00', end: '2026-03-02T10:00:00+08:00', state: 'requested' }),
}

async function openDrawer(shown: BookingView, editable: boolean, handlers: Record<string, (args: Record<string, unknown>) => unknown> = {}) {
  const pinia = createPinia()
  setActivePinia(pinia)
  useRoomsStore().rooms = [room('kb1', 'Room 1'), room('kb2', 'Room 2')]
  fakeBackend({ booking_history: () => [moved], ...handlers })
  const wrapper = mount(BookingDrawer, {
    props: { booking: shown, editable },
    global: { plugins: [pinia, i18n, ElementPlus], stubs: { transition: false } },
    attachTo: document.body,
  })
  await flushPromises()
  return wrapper
}

describe('BookingDrawer', () => {
  beforeEach(() => {
    i18n.global.locale.value = 'zh-CN'
    vi.mocked(invoke).mockReset()
    document.body.innerHTML = ''
  })

  it('lists the history with who, why, and what moved', async () => {
    const wrapper = await openDrawer(booking(1, '2026-03-02T09:00', '2026-03-02T10:00', { state: 'requested' }), true)
    const history = byTestid('booking-history').textContent!
    expect(history).toContain('更换房间')
    expect(history).toContain('changdi01')
    expect(history).toContain('Projector broken')
    expect(history).toContain('Room 1 → Room 2')
    expect(history).not.toContain('09:00 →')
    wrapper.unmount()
  })

  it('offers the next step of a requested booking and sends it', async () => {
    let sent: unknown
    const wrapper = await openDrawer(booking(1, '2026-03-02T09:00', '2026-03-02T10:00', { state: 'requested' }), true, {
      set_booking_state: (args) => {
        sent = args
        return booking(1, '2026-03-02T09:00', '2026-03-02T10:00', { state: 'confirmed', version: 2 })
      },
    })
    expect(document.querySelector('[data-testid=booking-start-session]')).toBeNull()
    byTestid('booking-confirm').click()
    await flushPromises()
    expect(sent).toEqual({ id: 1, version: 1, next: 'confirmed', reason: '' })
    expect(wrapper.emitted('updated')?.[0]?.[0]).toMatchObject({ state: 'confirmed', version: 2 })
    wrapper.unmount()
  })

  it('asks for a reason before cancelling', async () => {
    let sent: unknown
    const wrapper = await openDrawer(booking(1, '2026-03-02T09:00', '2026-03-02T10:00'), true, {
      set_booking_state: (args) => {
        sent = args
        return booking(1, '2026-03-02T09:00', '2026-03-02T10:00', { state: 'cancelled', version: 2 })
      },
    })
    byTestid('booking-cancel').click()
    await flushPromises()
    const reason = byTestid('booking-cancel-reason') as HTMLInputElement
    reason.value = 'Tender withdrawn'
    reason.dispatchEvent(new Event('input'))
    byTestid('booking-cancel-submit').click()
    await flushPromises()
    expect(sent).toEqual({ id: 1, version: 1, next: 'cancelled', reason: 'Tender withdrawn' })
    wrapper.unmount()
  })

  it('has no actions for a booking that is over', async () => {
    const wrapper = await openDrawer(booking(1, '2026-03-02T09:00', '2026-03-02T10:00', { state: 'completed' }), true)
    for (const id of ['booking-confirm', 'booking-start-session', 'booking-complete', 'booking-change', 'booking-cancel']) {
      expect(document.querySelector(`[data-testid=${id}]`), id).toBeNull()
    }
    wrapper.unmount()
  })
})
