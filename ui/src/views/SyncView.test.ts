import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount, RouterLinkStub } from '@vue/test-utils'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import { invoke } from '@tauri-apps/api/core'
import type { LinkState, ParkedEvent, PlatformInbox, PullReport, SyncStatus } from '../bindings'
import { i18n } from '../i18n'
import { useSessionStore } from '../stores/session'
import { appError, fakeBackend } from '../testing'
import SyncView from './SyncView.vue'

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn(), Channel: class {} }))
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn(async () => () => {}) }))

const SECRET = 'S3cr3t-0123456789-abcdef'

function syncStatus(over: Partial<SyncStatus> = {}): SyncStatus {
  return {
    state: 'up_to_date',
    problem: null,
    baseUrl: 'https://zhfw.example.gov.cn/api',
    plainHttp: false,
    appKey: 'venue-0571-01',
    appKeyHint: null,
    keyring: 'secret-service',
    backlog: 0,
    oldestPendingAgeS: null,
    lastSuccessAt: '2026-11-23T09:15:02+08:00',
    lastAttemptAt: '2026-11-23T09:15:01+08:00',
    retryInS: null,
    sendRatePerS: 0,
    drainTotal: 0,
    drainDone: 0,
    parked: 0,
    lastPullAt: '2026-11-23T09:10:00+08:00',
    pullProblem: null,
    ...over,
  }
}

function parkedEvent(seq: number, over: Partial<ParkedEvent> = {}): ParkedEvent {
  return {
    seq,
    eventId: `evt-${seq}`,
    eventType: 'BOOKING_CREATED',
    occurredAt: '2026-11-23T08:30:00+08:00',
    subject: `booking-${seq}`,
    code: 'invalid_payload',
    reason: 'room_id is not a room of this venue',
    parkedAt: '2026-11-23T08:30:05+08:00',
    attempts: 1,
    ...over,
  }
}

const inbox: PlatformInbox = {
  bookings: [
    { platformBookingId: 'PB-2026-0001', bookingId: 17, state: 'imported', reason: null, receivedAt: '2026-11-23T09:10:00+08:00' },
    { platformBookingId: 'PB-2026-0002', bookingId: null, state: 'refused', reason: 'the room is booked at that time', receivedAt: '2026-11-23T09:10:00+08:00' },
    { platformBookingId: 'PB-2026-0003', bookingId: 12, state: 'cancelled', reason: null, receivedAt: '2026-11-23T09:10:00+08:00' },
  ],
  sessions: [
    { sessionId: 'S-100', bookingId: 17, sessionDate: '2026-11-23', hasRoster: true, rosterState: 'imported', reason: null },
    { sessionId: 'S-101', bookingId: 18, sessionDate: '2026-11-24', hasRoster: false, rosterState: 'none', reason: null },
    { sessionId: 'S-102', bookingId: 19, sessionDate: '2026-11-24', hasRoster: true, rosterState: 'failed', reason: 'roster hash does not match' },
  ],
}

type Handlers = Record<string, (args: Record<string, unknown>) => unknown>

async function mountSync(status: SyncStatus, handlers: Handlers = {}, parked: ParkedEvent[] = []) {
  const state = { status, parked, inbox }
  fakeBackend({
    sync_status: () => state.status,
    sync_parked: () => state.parked,
    sync_platform_inbox: () => state.inbox,
    ...handlers,
  })
  const pinia = createPinia()
  useSessionStore(pinia).signIn({ operatorId: 1, username: 'admin', displayName: 'Admin', role: 'administrator', locked: false, idleLockMinutes: 10 })
  const wrapper = mount(SyncView, {
    global: { plugins: [pinia, i18n, ElementPlus], stubs: { transition: false, RouterLink: RouterLinkStub } },
    attachTo: document.body,
  })
  await flushPromises()
  return { wrapper, state }
}

const $ = (testid: string) => document.querySelector<HTMLElement>(`[data-testid=${testid}]`)
const text = (testid: string) => $(testid)?.textContent ?? ''
const calls = (command: string) => vi.mocked(invoke).mock.calls.filter(([c]) => c === command)

async function type(testid: string, value: string): Promise<void> {
  const input = $(testid) as HTMLInputElement
  expect(input?.tagName, testid).toBe('INPUT')
  input.value = value
  input.dispatchEvent(new Event('input'))
  await flushPromises()
}

async function click(testid: string): Promise<void> {
  $(testid)!.click()
  await flushPromises()
}

/** Lets the screen's own 2 s refresh run. */
async function nextPoll(): Promise<void> {
  await vi.advanceTimersByTimeAsync(2000)
  await flushPromises()
}

const LABELS: Record<LinkState, string> = {
  not_configured: '尚未配置',
  connecting: '正在连接',
  up_to_date: '已同步',
  sending: '正在发送',
  throttled: '对方限流',
  unreachable: '无法连接',
  retrying: '重试中',
  credentials_rejected: '凭据被拒绝',
  clock_skew: '本机时间不准',
  misconfigured: '配置错误',
}

describe('SyncView', () => {
  beforeEach(() => {
    i18n.global.locale.value = 'zh-CN'
    vi.mocked(invoke).mockReset()
    vi.useFakeTimers()
    document.body.innerHTML = ''
  })

  afterEach(() => {
    vi.useRealTimers()
  })

  it('names every link state in both languages, with what it means and what to do', async () => {
    for (const state of Object.keys(LABELS)) {
      for (const locale of ['zh-CN', 'en'] as const) {
        expect(i18n.global.te(`sync.state.${state}`, locale), `${locale} ${state}`).toBe(true)
        expect(i18n.global.te(`sync.stateHint.${state}`, locale), `${locale} ${state} hint`).toBe(true)
      }
    }

    const { wrapper, state } = await mountSync(syncStatus())
    for (const [linkState, zh] of Object.entries(LABELS) as [LinkState, string][]) {
      state.status = syncStatus({ state: linkState })
      await nextPoll()
      expect($('sync-state')?.dataset.state).toBe(linkState)
      expect(text('sync-state')).toContain(zh)
      expect(text('sync-state-hint').length, linkState).toBeGreaterThan(10)
    }

    state.status = syncStatus({ state: 'credentials_rejected', problem: { code: 'invalid_signature', detail: 'HTTP 401' } })
    await nextPoll()
    expect(text('sync-state-hint')).toContain('拒绝了应用标识或密钥（401）')
    expect(text('sync-state-hint')).toContain('不会反复重试')
    expect(text('sync-problem')).toContain('invalid_signature')
    expect(text('sync-problem')).toContain('HTTP 401')

    state.status = syncStatus({ state: 'clock_skew' })
    await nextPoll()
    expect(text('sync-state-hint')).toContain('NTP')
    expect($('sync-problem')).toBeNull()

    state.status = syncStatus({ state: 'unreachable', problem: { code: 'unreachable', detail: 'connection refused' } })
    await nextPoll()
    expect(text('sync-state-hint')).toContain('VPN')
    expect(text('sync-state-hint')).toContain('自动补发')
    wrapper.unmount()
  })

  it('refreshes the link every 2 seconds and counts down to the next retry', async () => {
    const { wrapper, state } = await mountSync(
      syncStatus({ state: 'unreachable', retryInS: 30, baseUrl: 'http://10.0.0.8:8080', plainHttp: true, keyring: 'kernel', appKey: null, appKeyHint: 'hint-key' }),
    )
    expect(calls('sync_status')).toHaveLength(1)
    expect(text('sync-retry-in')).toContain('30 秒后重试')
    await vi.advanceTimersByTimeAsync(1000)
    expect(text('sync-retry-in')).toContain('29 秒后重试')
    expect(text('sync-base-url')).toBe('http://10.0.0.8:8080')
    expect(text('sync-plain-http')).toContain('明文 HTTP，仅限实验环境')
    expect(text('sync-keyring')).toContain('Linux 内核密钥环')
    expect(text('sync-app-key')).toContain('未设置')

    state.status = syncStatus({ state: 'up_to_date' })
    await nextPoll()
    expect(calls('sync_status')).toHaveLength(2)
    expect($('sync-retry-in')).toBeNull()
    expect($('sync-plain-http')).toBeNull()
    expect(text('sync-app-key')).toContain('venue-0571-01')
    expect(text('sync-keyring')).toContain('Secret Service')

    // A manual refresh reads everything at once and keeps to one round of polling.
    const parkedReads = calls('sync_parked').length
    await click('sync-refresh')
    expect(calls('sync_status')).toHaveLength(3)
    expect(calls('sync_parked')).toHaveLength(parkedReads + 1)
    await nextPoll()
    await nextPoll()
    expect(calls('sync_status')).toHaveLength(5)

    wrapper.unmount()
    await vi.advanceTimersByTimeAsync(10_000)
    expect(calls('sync_status')).toHaveLength(5)
  })

  it('stops asking once the backend refuses the role', async () => {
    const { wrapper } = await mountSync(syncStatus(), { sync_status: () => { throw appError('PERMISSION_DENIED', 'Administrators only') } })
    expect(text('sync-status-error')).toContain('Administrators only')
    await vi.advanceTimersByTimeAsync(10_000)
    expect(calls('sync_status')).toHaveLength(1)
    wrapper.unmount()
  })

  it('shows the backlog, its age, and the progress of a drain', async () => {
    const { wrapper, state } = await mountSync(syncStatus())
    expect(text('sync-backlog-count')).toBe('0')
    expect(text('sync-oldest')).toContain('无')
    expect(text('sync-last-success')).toContain('2026-11-23 09:15:02')
    expect(text('sync-last-attempt')).toContain('2026-11-23 09:15:01')
    expect($('sync-drain')).toBeNull()

    state.status = syncStatus({ state: 'sending', backlog: 120, oldestPendingAgeS: 180, drainTotal: 400, drainDone: 280, sendRatePerS: 12.5, parked: 2 })
    await nextPoll()
    expect(text('sync-backlog-count')).toBe('120')
    expect(text('sync-parked-count')).toBe('2')
    expect(text('sync-oldest')).toBe('3 分钟')
    expect($('sync-drain')).not.toBeNull()
    expect(text('sync-drain-progress')).toContain('70%')
    expect(text('sync-drain-done')).toContain('已发送 280 / 400 条')
    expect(text('sync-rate')).toContain('12.5 条/秒')
    expect(text('sync-eta')).toContain('预计还需 10 秒')

    state.status = syncStatus({ state: 'unreachable', backlog: 120, oldestPendingAgeS: 7200, drainTotal: 400, drainDone: 280, sendRatePerS: 0 })
    await nextPoll()
    expect(text('sync-oldest')).toBe('2 小时')
    expect(text('sync-eta')).toContain('正在估算')

    state.status = syncStatus({ state: 'unreachable', backlog: 5000, oldestPendingAgeS: 100_800 })
    await nextPoll()
    expect(text('sync-oldest')).toBe('1 天 4 小时')
    expect($('sync-drain')).toBeNull()
    wrapper.unmount()
  })

  it('checks the credentials before saving them, and never shows the secret again', async () => {
    let saved: unknown
    const { wrapper, state } = await mountSync(syncStatus({ state: 'not_configured', appKey: null, appKeyHint: 'venue-hint-01' }), {
      sync_set_credentials: (args) => {
        saved = args
        state.status = syncStatus({ state: 'connecting', appKey: args.appKey as string })
        return null
      },
    })
    const secretInput = $('sync-app-secret-input') as HTMLInputElement
    expect(secretInput.type).toBe('password')
    expect(($('sync-app-key-input') as HTMLInputElement).value).toBe('venue-hint-01')
    expect(text('sync-credentials')).toContain('venue-hint-01')

    await click('sync-credentials-save')
    await vi.advanceTimersByTimeAsync(200)
    expect(text('sync-app-secret-item')).toContain('请填写应用密钥')

    await type('sync-app-secret-input', 'too-short')
    await click('sync-credentials-save')
    await vi.advanceTimersByTimeAsync(200)
    expect(text('sync-app-secret-item')).toContain('至少 16 个字符')

    await type('sync-app-key-input', '  ')
    await type('sync-app-secret-input', SECRET)
    await click('sync-credentials-save')
    await vi.advanceTimersByTimeAsync(200)
    expect(text('sync-app-key-item')).toContain('请填写应用标识')
    expect(text('sync-app-secret-item')).not.toContain('至少 16 个字符')
    expect(calls('sync_set_credentials')).toHaveLength(0)
    expect(saved).toBeUndefined()

    await type('sync-app-key-input', ' venue-0571-02 ')
    await click('sync-credentials-save')
    expect(saved).toEqual({ appKey: 'venue-0571-02', appSecret: SECRET })
    expect(($('sync-app-secret-input') as HTMLInputElement).value).toBe('')
    expect(document.body.textContent).toContain('凭据已保存到系统密钥环')
    expect(text('sync-app-key')).toContain('venue-0571-02')
    expect(document.body.innerHTML).not.toContain(SECRET)
    expect(document.body.textContent).not.toContain(SECRET)

    await nextPoll()
    expect(document.body.innerHTML).not.toContain(SECRET)
    wrapper.unmount()
  })

  it('shows what the backend says when it refuses the credentials', async () => {
    const { wrapper } = await mountSync(syncStatus({ state: 'credentials_rejected' }), {
      sync_set_credentials: () => {
        throw appError('UNAVAILABLE', 'The keyring is locked; unlock the desktop keyring and try again.')
      },
    })
    expect(($('sync-app-key-input') as HTMLInputElement).value).toBe('venue-0571-01')
    await type('sync-app-secret-input', SECRET)
    await click('sync-credentials-save')
    expect(calls('sync_set_credentials')).toHaveLength(1)
    expect(text('sync-credentials-error')).toContain('The keyring is locked')
    wrapper.unmount()
  })

  it('lists the parked events and sends one again', async () => {
    let retried: unknown
    const { wrapper, state } = await mountSync(
      syncStatus({ parked: 2 }),
      {
        sync_retry_parked: (args) => {
          retried = args
          state.parked = state.parked.filter((p) => p.seq !== args.seq)
          return null
        },
      },
      [parkedEvent(41), parkedEvent(42, { eventType: 'CHECKIN_COMPLETED', code: 'unknown_expert', reason: 'expert is not on the roster', attempts: 3 })],
    )
    const table = text('sync-parked-table')
    expect(table).toContain('BOOKING_CREATED')
    expect(table).toContain('CHECKIN_COMPLETED')
    expect(table).toContain('unknown_expert')
    expect(table).toContain('expert is not on the roster')
    expect(table).toContain('booking-42')
    expect(table).toContain('08:30:05')
    expect(text('sync-parked')).toContain('不会阻塞其他事件')
    const listed = calls('sync_parked').length

    await click('sync-retry-42')
    expect(retried).toEqual({ seq: 42 })
    expect(calls('sync_parked').length).toBeGreaterThan(listed)
    expect($('sync-parked-42')).toBeNull()
    expect($('sync-parked-41')).not.toBeNull()
    expect(document.body.textContent).toContain('第 42 号事件已重新排队发送')
    wrapper.unmount()
  })

  it('says when nothing is parked, and shows a failed retry', async () => {
    const { wrapper, state } = await mountSync(syncStatus({ parked: 1 }), {
      sync_retry_parked: () => {
        state.parked = []
        throw appError('NOT_FOUND', 'Event 7 is not parked (perhaps it was already retried). Refresh the list.')
      },
    }, [parkedEvent(7)])
    await click('sync-retry-7')
    expect(text('sync-retry-error')).toContain('Event 7 is not parked')
    expect($('sync-parked-7')).toBeNull()
    expect(text('sync-parked-table')).toContain('没有搁置的事件')
    wrapper.unmount()
  })

  it('shows what the platform sent, and pulls on demand', async () => {
    const report: PullReport = { bookingRequests: 2, bookingCancellations: 1, refused: 1, sessions: 3, rostersImported: 2, problems: ['session S-102: roster hash does not match'] }
    const { wrapper, state } = await mountSync(syncStatus({ pullProblem: 'booking PB-9: unknown room' }), {
      sync_pull_now: () => {
        state.status = syncStatus({ lastPullAt: '2026-11-23T09:20:00+08:00', pullProblem: report.problems[0] })
        return report
      },
    })
    expect(text('sync-last-pull')).toContain('最近拉取：2026-11-23 09:10:00')
    expect(text('sync-pull-problem')).toContain('booking PB-9: unknown room')

    const bookings = text('sync-inbox-bookings')
    expect(bookings).toContain('PB-2026-0001')
    expect(bookings).toContain('已导入待审批')
    expect(bookings).toContain('请场地管理员在预约列表中确认')
    expect(bookings).toContain('已拒绝')
    expect(bookings).toContain('the room is booked at that time')
    expect(bookings).toContain('已撤销')
    expect(wrapper.findComponent(RouterLinkStub).props('to')).toEqual({ name: 'bookings' })

    const sessions = text('sync-inbox-sessions')
    expect(sessions).toContain('S-100')
    expect(sessions).toContain('2026-11-24')
    expect(sessions).toContain('已导入')
    expect(sessions).toContain('未下发')
    expect(sessions).toContain('导入失败')
    expect(sessions).toContain('roster hash does not match')

    const inboxReads = calls('sync_platform_inbox').length
    await click('sync-pull-now')
    expect(calls('sync_pull_now')).toHaveLength(1)
    const shown = text('sync-pull-report')
    expect(shown).toContain('预约申请 2 条，撤销 1 条，拒收 1 条，场次 3 个，导入名单 2 份')
    expect(shown).toContain('有 1 项未能处理')
    expect(shown).toContain('session S-102: roster hash does not match')
    expect($('sync-pull-problem')).toBeNull()
    expect(calls('sync_platform_inbox').length).toBeGreaterThan(inboxReads)
    expect(text('sync-last-pull')).toContain('2026-11-23 09:20:00')
    wrapper.unmount()
  })

  it('shows a failed pull the usual way', async () => {
    const { wrapper } = await mountSync(syncStatus({ lastPullAt: null }), {
      sync_pull_now: () => {
        throw appError('UNAVAILABLE', 'The service system cannot be reached.')
      },
    })
    expect(text('sync-last-pull')).toContain('尚未拉取')
    await click('sync-pull-now')
    expect(text('sync-pull-error')).toContain('The service system cannot be reached.')
    expect($('sync-pull-report')).toBeNull()
    wrapper.unmount()
  })
})
