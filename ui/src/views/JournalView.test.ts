import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import { invoke } from '@tauri-apps/api/core'
import { listen } from '@tauri-apps/api/event'
import type { JournalRecordView, VerifyReport } from '../bindings'
import { i18n } from '../i18n'
import { fakeBackend } from '../testing'
import JournalView from './JournalView.vue'

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn(), Channel: class {} }))
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn() }))

const record: JournalRecordView = {
  seq: 7, recordedAt: '2026-03-02T10:15:30+08:00', actor: 'admin', actorRole: 'administrator', kind: 'operator.created',
  subject: 'qiantai01', outcome: 'ok', detail: '{"role":"front_desk"}', hash: 'ab'.repeat(32),
}

async function mountJournal(report: VerifyReport) {
  let appended: (() => void) | undefined
  vi.mocked(listen).mockImplementation(async (_event, handler) => {
    appended = handler as () => void
    return () => {}
  })
  fakeBackend({
    query_journal: () => ({ records: [record, { ...record, seq: 6, kind: 'vendor.custom', outcome: 'denied' }], total: 2, nextBeforeSeq: null }),
    journal_filter_choices: () => ({ kinds: ['operator.created'], actors: ['admin'] }),
    verify_journal: () => report,
  })
  const wrapper = mount(JournalView, { global: { plugins: [createPinia(), i18n, ElementPlus], stubs: { transition: false } }, attachTo: document.body })
  await flushPromises()
  return { wrapper, append: () => appended?.() }
}

const queries = () => vi.mocked(invoke).mock.calls.filter(([c]) => c === 'query_journal').length

describe('JournalView', () => {
  beforeEach(() => {
    i18n.global.locale.value = 'zh-CN'
    vi.mocked(invoke).mockReset()
  })

  it('labels known kinds, shows unknown ones as they are, and venue wall time', async () => {
    const { wrapper } = await mountJournal({ ok: true, count: 2, headHash: 'ff'.repeat(32), brokenAtSeq: null, breakKind: null })
    expect(wrapper.text()).toContain('新建操作员')
    expect(wrapper.text()).toContain('vendor.custom')
    expect(wrapper.text()).toContain('2026-03-02 10:15:30')
    expect(wrapper.text()).toContain('admin (系统管理员)')
    wrapper.unmount()
  })

  it('reports an intact chain with its count and short head hash', async () => {
    const { wrapper } = await mountJournal({ ok: true, count: 2, headHash: '0123456789abcdef', brokenAtSeq: null, breakKind: null })
    await wrapper.find('[data-testid=journal-verify]').trigger('click')
    await flushPromises()
    const result = wrapper.find('[data-testid=journal-verify-result]')
    expect(result.text()).toContain('2 条')
    expect(result.text()).toContain('0123456789ab')
    expect(result.classes()).toContain('el-alert--success')
    wrapper.unmount()
  })

  it('reports where a broken chain breaks and why', async () => {
    const { wrapper } = await mountJournal({ ok: false, count: 4, headHash: null, brokenAtSeq: 5, breakKind: 'content_altered' })
    await wrapper.find('[data-testid=journal-verify]').trigger('click')
    await flushPromises()
    const result = wrapper.find('[data-testid=journal-verify-result]')
    expect(result.text()).toContain('第 5 条')
    expect(result.text()).toContain('被修改过')
    expect(result.classes()).toContain('el-alert--error')
    wrapper.unmount()
  })

  it('follows new records while on the first page', async () => {
    vi.useFakeTimers()
    const { wrapper, append } = await mountJournal({ ok: true, count: 2, headHash: null, brokenAtSeq: null, breakKind: null })
    const before = queries()
    append()
    append()
    await vi.advanceTimersByTimeAsync(600)
    expect(queries()).toBe(before + 1)
    vi.useRealTimers()
    wrapper.unmount()
  })
})
