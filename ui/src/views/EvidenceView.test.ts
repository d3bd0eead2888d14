import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import { invoke } from '@tauri-apps/api/core'
import type { ExportUpdate, HoldView, Role } from '../bindings'
import { i18n } from '../i18n'
import { useAppStore } from '../stores/app'
import { useSessionStore } from '../stores/session'
import { fakeBackend } from '../testing'
import EvidenceView from './EvidenceView.vue'

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn(), Channel: class { onmessage: (u: unknown) => void = () => {} } }))
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn(async () => () => {}) }))

const warn = console.warn
vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
  if (!String(args[0]).includes('unexpected width')) warn(...args)
})

const CODE = 'E3101000001202611088'
const KEY = 'b1bf8ea8'.repeat(8)

const hold: HoldView = {
  id: 3, scope: { kind: 'project', tenderProjectCode: CODE }, reason: '投诉处理需要', createdBy: 'jiandu01',
  createdAt: '2026-11-24T10:00:00+08:00', active: true, releasedBy: null, releasedAt: null, releaseReason: null,
}

/** The last dropdown option naming the code: the dropdown opened last. */
function lastOption(code: string): HTMLElement {
  const options = [...document.querySelectorAll<HTMLElement>('.el-select-dropdown__item')].filter((o) => o.textContent!.includes(code))
  return options[options.length - 1]
}

const el = (testId: string) => document.querySelector<HTMLElement>(`[data-testid=${testId}]`)

function typeInto(testId: string, value: string): HTMLInputElement {
  // Element Plus puts the test id on the native field itself.
  const field = el(testId)!
  const input = (field.matches('input, textarea') ? field : field.querySelector('input, textarea')) as HTMLInputElement
  input.value = value
  input.dispatchEvent(new Event('input'))
  return input
}

type Calls = Record<string, Record<string, unknown>[]>

async function shown(role: Role, extra: Record<string, (args: Record<string, unknown>) => unknown> = {}) {
  const calls: Calls = {}
  const handlers: Record<string, (args: Record<string, unknown>) => unknown> = {
    list_holds: () => [hold],
    list_projects: () => [{ id: 1, tenderProjectCode: CODE, name: '示范市体育馆维修工程' }],
    export_public_key: () => KEY,
    list_sessions: () => [],
    list_rooms: () => [],
    ...extra,
  }
  fakeBackend(
    Object.fromEntries(
      Object.entries(handlers).map(([k, h]) => [k, (args: Record<string, unknown>) => ((calls[k] ??= []).push(args), h(args))]),
    ),
  )
  const pinia = createPinia()
  useAppStore(pinia).info = { version: '0.1.0', venueCode: 'demo', venueName: 'Demo', timeZone: 'Asia/Shanghai', firstRun: false, startupError: null, demoVenue: true }
  useSessionStore(pinia).signIn({ operatorId: 1, username: 'u', displayName: 'U', role, locked: false, idleLockMinutes: 10 })
  mount(EvidenceView, { global: { plugins: [pinia, i18n, ElementPlus], stubs: { transition: false } }, attachTo: document.body })
  await flushPromises()
  return calls
}

describe('EvidenceView', () => {
  beforeEach(() => {
    i18n.global.locale.value = 'zh-CN'
    vi.mocked(invoke).mockReset()
    document.body.innerHTML = ''
  })

  it('lists the active holds, the public key and how to verify', async () => {
    await shown('supervisor')
    const table = el('holds-table')!.textContent!
    expect(table).toContain(`项目 ${CODE} 示范市体育馆维修工程`)
    expect(table).toContain('投诉处理需要')
    expect(table).toContain('保全中')
    expect(el('export-public-key')!.textContent).toBe(KEY)
    expect(document.body.textContent).toContain(`venue-desk verify-export <导出目录> --key ${KEY}`)
  })

  it('lets only an administrator release a hold, and only with a reason', async () => {
    await shown('supervisor')
    expect(el('hold-release-3')).toBeNull()
    document.body.innerHTML = ''
    const calls = await shown('administrator', { release_hold: () => ({ ...hold, active: false }) })
    el('hold-release-3')!.click()
    await flushPromises()
    const submit = el('release-submit') as HTMLButtonElement
    expect(submit.disabled).toBe(true)
    typeInto('release-reason', '调查结束')
    await flushPromises()
    expect(submit.disabled).toBe(false)
    submit.click()
    await flushPromises()
    expect(calls.release_hold).toEqual([{ holdId: 3, reason: '调查结束' }])
  })

  it('places a hold on a project with a reason', async () => {
    const calls = await shown('supervisor', { place_hold: () => hold })
    el('hold-place')!.click()
    await flushPromises()
    const submit = el('hold-submit') as HTMLButtonElement
    expect(submit.disabled).toBe(true)
    // The project code may be typed: the select allows a code that is not in the list.
    typeInto('hold-reason', '举报核查')
    await flushPromises()
    expect(submit.disabled).toBe(true)
    ;(el('hold-project')!.querySelector('input') as HTMLInputElement).click()
    await flushPromises()
    lastOption(CODE).click()
    await flushPromises()
    expect(submit.disabled).toBe(false)
    submit.click()
    await flushPromises()
    expect(calls.place_hold).toEqual([{ scope: { kind: 'project', tenderProjectCode: CODE }, reason: '举报核查' }])
  })

  it('places a hold on a time range of a room, read in the venue’s time zone', async () => {
    const calls = await shown('supervisor', {
      place_hold: () => hold,
      list_rooms: () => [{ id: 'pb-1', name: '第一评标室', active: true }],
    })
    el('hold-place')!.click()
    await flushPromises()
    el('hold-kind-range')!.querySelector('input')!.click()
    await flushPromises()
    ;(el('hold-room')!.querySelector('input') as HTMLInputElement).click()
    await flushPromises()
    el('hold-room-pb-1')!.click()
    for (const [id, text] of [['hold-from', '2026-11-24 09:00'], ['hold-to', '2026-11-24 08:00']]) {
      typeInto(id, text).dispatchEvent(new Event('change'))
    }
    typeInto('hold-reason', '举报核查')
    await flushPromises()
    const submit = el('hold-submit') as HTMLButtonElement
    expect(submit.disabled).toBe(true) // the end before the start
    typeInto('hold-to', '2026-11-24 12:30').dispatchEvent(new Event('change'))
    await flushPromises()
    expect(submit.disabled).toBe(false)
    submit.click()
    await flushPromises()
    // 09:00 and 12:30 in Shanghai, whatever zone the test machine is in.
    expect(calls.place_hold).toEqual([
      { scope: { kind: 'range', roomId: 'pb-1', fromMs: Date.UTC(2026, 10, 24, 1, 0), toMs: Date.UTC(2026, 10, 24, 4, 30) }, reason: '举报核查' },
    ])
  })

  it('shows an export’s progress from its channel, and cancels it', async () => {
    let channel: { onmessage: (u: ExportUpdate) => void } | null = null
    const calls = await shown('supervisor', {
      export_start: (args) => {
        channel = args.onUpdate as typeof channel
        return { jobId: 4, dir: '/media/usb/recordings-x' }
      },
      export_cancel: () => true,
    })
    const exportSelect = el('export-project')!.querySelector('input') as HTMLInputElement
    exportSelect.click()
    await flushPromises()
    lastOption(CODE).click()
    typeInto('export-parent', '/media/usb')
    await flushPromises()
    el('export-start')!.click()
    await flushPromises()
    expect(calls.export_start[0]).toMatchObject({ projectCode: CODE, parentDir: '/media/usb' })
    const update = (over: Partial<ExportUpdate>): ExportUpdate => ({
      jobId: 4, projectCode: CODE, dir: '/media/usb/recordings-x', state: 'running',
      progress: { filesDone: 3, filesTotal: 10, bytesDone: 25 << 20, bytesTotal: 100 << 20 }, report: null, error: null, ...over,
    })
    channel!.onmessage(update({}))
    await flushPromises()
    expect(el('export-progress')!.textContent).toContain('已完成 3/10 个文件，25.0 MB/100.0 MB')
    expect(el('export-progress')!.querySelector('.el-progress')!.getAttribute('aria-valuenow')).toBe('25')
    el('export-cancel')!.click()
    await flushPromises()
    expect(calls.export_cancel).toEqual([{ jobId: 4 }])
    channel!.onmessage(update({ state: 'cancelled' }))
    await flushPromises()
    expect(el('export-cancelled')).not.toBeNull()
    expect(el('export-cancel')).toBeNull()
  })

  it('shows a finished export with its problems, and a failed one with the reason', async () => {
    let channel: { onmessage: (u: ExportUpdate) => void } | null = null
    await shown('administrator', {
      export_start: (args) => {
        channel = args.onUpdate as typeof channel
        return { jobId: 5, dir: '/data/exports/recordings-x' }
      },
    })
    const exportSelect = el('export-project')!.querySelector('input') as HTMLInputElement
    exportSelect.click()
    await flushPromises()
    lastOption(CODE).click()
    await flushPromises()
    el('export-start')!.click()
    await flushPromises()
    const progress = { filesDone: 10, filesTotal: 10, bytesDone: 100, bytesTotal: 100 }
    channel!.onmessage({
      jobId: 5, projectCode: CODE, dir: '/data/exports/recordings-x', state: 'done', progress, error: null,
      report: { dir: '/data/exports/recordings-x', sessions: 1, segments: 4, files: 10, bytes: 100, manifestSha256: 'ab', publicKey: KEY, problems: ['segments/cam-a/1.mkv: the recorded file is missing'] },
    })
    await flushPromises()
    expect(el('export-done')!.textContent).toContain('导出完成：/data/exports/recordings-x（4 段录像）')
    expect(el('export-problems')!.textContent).toContain('segments/cam-a/1.mkv: the recorded file is missing')
    channel!.onmessage({ jobId: 5, projectCode: CODE, dir: '', state: 'failed', progress, report: null, error: '导出目录不可写，请换一个位置。' })
    await flushPromises()
    expect(el('export-error')!.textContent).toContain('导出目录不可写，请换一个位置。')
  })
})
