import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import { invoke } from '@tauri-apps/api/core'
import type { IncidentView } from '../bindings'
import { i18n } from '../i18n'
import { useAppStore } from '../stores/app'
import { fakeBackend } from '../testing'
import IncidentsView from './IncidentsView.vue'
import IncidentDialog from '../components/IncidentDialog.vue'

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn() }))
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn(async () => () => {}) }))
vi.mock('vue-router', () => ({ useRouter: () => ({ push: vi.fn() }), useRoute: () => ({ query: {} }) }))

const incident: IncidentView = {
  id: 4, category: 'private_contact', description: '投标人代表与专家交谈', roomId: 'pb-1', roomName: '第一评标室', bookingId: 7,
  tenderProjectCode: 'E3101000001202611088', atMs: 1_796_000_000_000, at: '2026-12-06T10:00:00',
  people: [{ role: 'bidder', name: '王五', identityMasked: null }, { role: 'expert', name: null, identityMasked: '110105********123X' }],
  holdId: 12, holdActive: true, bookmarkId: 3, recordedBy: 'jiandu01', recordedAt: '2026-12-06T10:01:00+08:00',
}

const el = (testId: string) => document.querySelector<HTMLElement>(`[data-testid=${testId}]`)

function setup(handlers: Record<string, (args: Record<string, unknown>) => unknown>) {
  const calls: Record<string, Record<string, unknown>[]> = {}
  fakeBackend(Object.fromEntries(Object.entries(handlers).map(([k, h]) => [k, (a: Record<string, unknown>) => ((calls[k] ??= []).push(a), h(a))])))
  const pinia = createPinia()
  useAppStore(pinia).info = { version: '0.1.0', venueCode: 'demo', venueName: 'Demo', timeZone: 'Asia/Shanghai', firstRun: false, startupError: null, demoVenue: true }
  return { pinia, calls }
}

describe('IncidentsView', () => {
  beforeEach(() => {
    i18n.global.locale.value = 'zh-CN'
    vi.mocked(invoke).mockReset()
    document.body.innerHTML = ''
  })

  it('lists incidents with category, people (experts masked) and the hold', async () => {
    const { pinia, calls } = setup({ list_incidents: () => [incident], list_rooms: () => [] })
    mount(IncidentsView, { global: { plugins: [pinia, i18n, ElementPlus] }, attachTo: document.body })
    await flushPromises()
    expect(el('incident-row-category-4')!.textContent).toContain('私下接触或违规通讯')
    expect(el('incident-row-hold-4')!.textContent).toContain('保全中 #12')
    const table = el('incidents-table')!.textContent!
    expect(table).toContain('投标人 王五; 评标专家 110105********123X')
    // Today, in venue time, as a half-open day.
    const filter = calls.list_incidents[0].filter as { fromMs: number; toMs: number; roomId: null; category: null }
    expect(filter.toMs - filter.fromMs).toBe(86_400_000)
    expect(filter.roomId).toBeNull()
  })
})

describe('IncidentDialog', () => {
  beforeEach(() => {
    i18n.global.locale.value = 'zh-CN'
    vi.mocked(invoke).mockReset()
    document.body.innerHTML = ''
  })

  it('asks for a category before sending, then sends the incident', async () => {
    const { pinia, calls } = setup({ record_incident: () => incident, list_rooms: () => [] })
    mount(IncidentDialog, { props: { open: true, roomId: 'pb-1', atMs: 1_796_000_000_000 }, global: { plugins: [pinia, i18n, ElementPlus], stubs: { transition: false } }, attachTo: document.body })
    await flushPromises()
    el('incident-submit')!.click()
    await flushPromises()
    expect(el('incident-error')!.textContent).toContain('请选择事件类别')
    expect(calls.record_incident).toBeUndefined()
  })
})
