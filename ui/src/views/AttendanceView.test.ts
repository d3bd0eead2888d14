import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import { invoke } from '@tauri-apps/api/core'
import type { Attendance, AttendanceRow } from '../bindings'
import { i18n } from '../i18n'
import { fakeBackend } from '../testing'
import AttendanceView from './AttendanceView.vue'

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn(), Channel: class {} }))
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn(async () => () => {}) }))

const warn = console.warn
vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
  if (!String(args[0]).includes('unexpected width')) warn(...args)
})

const row: AttendanceRow = {
  entryId: 41, name: 'Zhang Wei', idMasked: '110105********002X', expertType: 'Civil engineering', isChair: true, substitute: false,
  substituteReason: null, status: 'inside', checkInId: 5, checkedInAt: '2026-03-02T08:41:10', checkedOutAt: null, late: false, absent: false,
  locker: { bankId: 'bank-a', bankName: 'A', lockerNo: 7 },
}

const session: Attendance = {
  session: {
    bookingId: 12, roomId: 'eval-1', roomName: 'Evaluation room 1', purpose: 'evaluation', tenderProjectCode: 'E3201000001000001001',
    projectName: 'Road works', bidSectionCodes: [], start: '2026-03-02T09:00', end: '2026-03-02T17:00',
    state: 'confirmed', expectedExperts: 3,
  },
  rows: [
    row,
    { ...row, entryId: 42, name: 'Li Na', status: 'left', checkInId: 6, isChair: false, late: true },
    { ...row, entryId: 43, name: 'Wang Fang', status: 'notArrived', checkInId: null, checkedInAt: null, locker: null, isChair: false, absent: true },
  ],
  expected: 3, checkedIn: 2, late: 1, absent: 1, rosterPurged: false,
}

const el = (testId: string) => document.querySelector<HTMLElement>(`[data-testid=${testId}]`)

function typeInto(testId: string, value: string): void {
  const input = el(testId) as HTMLInputElement
  input.value = value
  input.dispatchEvent(new Event('input'))
}

function mountView() {
  return mount(AttendanceView, { global: { plugins: [createPinia(), i18n, ElementPlus], stubs: { transition: false } }, attachTo: document.body })
}

describe('AttendanceView', () => {
  beforeEach(() => {
    i18n.global.locale.value = 'zh-CN'
    vi.mocked(invoke).mockReset()
    document.body.innerHTML = ''
  })

  it('shows each session with its counts and the status of each expert', async () => {
    fakeBackend({ attendance_today: () => [session] })
    const wrapper = mountView()
    await flushPromises()
    const card = el('attendance-session-12')!
    expect(el('attendance-counts-12')?.textContent).toMatch(/3\s*应到\s*2\s*已签到\s*1\s*迟到\s*1\s*缺席/)
    expect(el('attendance-status-41')?.textContent).toContain('在场')
    expect(el('attendance-status-42')?.textContent).toContain('迟到')
    expect(el('attendance-status-43')?.textContent).toContain('缺席')
    expect(card.textContent).toContain('A 07')
    // Re-entry is for experts who left, only.
    expect(el('attendance-reentry-41')).toBeNull()
    expect(el('attendance-reentry-42')).not.toBeNull()
    wrapper.unmount()
  })

  it('approves re-entry with a reason', async () => {
    let approved: unknown
    fakeBackend({
      attendance_today: () => [session],
      reentry_approve: (args) => {
        approved = args
        return {}
      },
    })
    const wrapper = mountView()
    await flushPromises()
    el('attendance-reentry-42')!.click()
    await flushPromises()
    typeInto('reentry-reason', 'Went to the washroom with staff')
    el('reentry-submit')!.click()
    await flushPromises()
    expect(approved).toEqual({ checkInId: 6, reason: 'Went to the washroom with staff' })
    wrapper.unmount()
  })

  it('adds a substitute expert', async () => {
    let added: Record<string, unknown> | undefined
    fakeBackend({
      attendance_today: () => [session],
      roster_add_substitute: (args) => {
        added = args
        return { ...row, entryId: 44, name: 'Zhao Lei', substitute: true }
      },
    })
    const wrapper = mountView()
    await flushPromises()
    el('attendance-substitute-12')!.click()
    await flushPromises()
    typeInto('substitute-name', 'Zhao Lei')
    typeInto('substitute-id-number', '11010519491231002x')
    typeInto('substitute-expert-type', 'Cost engineering')
    const reason = document.querySelector('[data-testid=substitute-reason]') as HTMLTextAreaElement
    reason.value = 'Drawn expert recused'
    reason.dispatchEvent(new Event('input'))
    el('substitute-submit')!.click()
    await flushPromises()
    expect(added).toEqual({
      bookingId: 12,
      expert: { name: 'Zhao Lei', idNumber: '11010519491231002X', expertType: 'Cost engineering', isChair: false, photoDataUrl: null },
      reason: 'Drawn expert recused',
    })
    wrapper.unmount()
  })

  it('imports a roster file, and lists the rows the backend rejected', async () => {
    let imported: Record<string, unknown> | undefined
    fakeBackend({
      attendance_today: () => [session],
      roster_import: (args) => {
        imported = args
        return { bookingId: 12, rows: 2, imported: 0, errors: [{ row: 2, field: 'idNumber', message: 'bad check digit' }] }
      },
    })
    const wrapper = mountView()
    await flushPromises()
    el('attendance-import-12')!.click()
    await flushPromises()
    const file = new File(['name,idNumber\nZhang Wei,11010519491231002X\n'], 'roster.csv', { type: 'text/csv' })
    const input = el('attendance-import-file') as HTMLInputElement
    Object.defineProperty(input, 'files', { value: [file] })
    input.dispatchEvent(new Event('change'))
    await new Promise((resolve) => setTimeout(resolve, 20))
    await flushPromises()
    el('attendance-import-submit')!.click()
    await flushPromises()
    expect(imported).toEqual({ bookingId: 12, format: 'csv', content: 'name,idNumber\nZhang Wei,11010519491231002X\n' })
    expect(el('attendance-import-errors')?.textContent).toContain('bad check digit')
    wrapper.unmount()
  })

  it('shows the credential reconciliation per device', async () => {
    fakeBackend({
      attendance_today: () => [session],
      reconcile_credentials: () => ({
        at: '2026-03-02T18:00:00',
        devices: [
          { deviceId: 'door-eval', deviceName: 'Evaluation entrance', removed: ['vd-3'], rewritten: [], error: null },
          { deviceId: 'door-back', deviceName: 'Back door', removed: [], rewritten: [], error: 'offline' },
        ],
      }),
    })
    const wrapper = mountView()
    await flushPromises()
    el('attendance-reconcile')!.click()
    await flushPromises()
    const report = el('attendance-reconcile-report')!.textContent
    expect(report).toContain('vd-3')
    expect(report).toContain('offline')
    expect(report).toContain('一致')
    wrapper.unmount()
  })
})
