import { describe, expect, it } from 'vitest'
import zhCN from './zh-CN'
import en from './en'
import { i18n } from '.'
import { JOURNAL_KINDS } from '../bindings'
import { BOOKING_CHANGES, BOOKING_STATES, PURPOSES, TRADING_CATEGORIES } from '../bookings'
import { ALARM_KINDS, ALARM_STATES, DOOR_MODES, GATE_PHASES, SEVERITIES } from '../alarms'

type Tree = { [key: string]: string | Tree }

function keys(tree: Tree, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([k, v]) => (typeof v === 'string' ? [prefix + k] : keys(v, `${prefix}${k}.`)))
}

const zhKeys = keys(zhCN)
const sources = import.meta.glob(['../**/*.vue', '../**/*.ts', '!../**/*.test.ts', '!../i18n/**', '!../bindings.ts'], {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>

describe('locale files', () => {
  it('have the same keys', () => {
    expect(keys(en).sort()).toEqual([...zhKeys].sort())
  })

  it('have no empty messages', () => {
    const empty = [...keys(zhCN), ...keys(en)].filter((k) => !i18n.global.t(k))
    expect(empty).toEqual([])
  })

  it('define every literal key the sources use', () => {
    const used = Object.values(sources).flatMap((text) => [...text.matchAll(/\bte?\(\s*'([\w.-]+)'/g)].map((m) => m[1]))
    const missing = used.filter((k) => !zhKeys.includes(k))
    expect(used.length).toBeGreaterThan(50)
    expect(missing).toEqual([])
  })

  it('label every journal event kind the backend records', () => {
    for (const kind of JOURNAL_KINDS) expect(i18n.global.te(`journalKind.${kind}`, 'en'), kind).toBe(true)
    expect(i18n.global.te('journalKind.operator')).toBe(false)
  })

  it('label every value of the booking enums in both languages', () => {
    const enums: [string, readonly string[]][] = [
      ['purpose', PURPOSES],
      ['bookingState', BOOKING_STATES],
      ['tradingCategory', TRADING_CATEGORIES],
      ['bookingChange', BOOKING_CHANGES],
      ['roomKind', ['bid_opening', 'evaluation', 'negotiation', 'consultation', 'clarification', 'bidding', 'auction', 'overnight_evaluation', 'other']],
      ['zone', ['public_service', 'transaction', 'evaluation']],
    ]
    for (const [prefix, values] of enums) {
      for (const value of values) {
        for (const locale of ['zh-CN', 'en'] as const) expect(i18n.global.te(`${prefix}.${value}`, locale), `${locale} ${prefix}.${value}`).toBe(true)
      }
    }
    expect(i18n.global.t('purpose.clarification')).toBe('询标')
    expect(i18n.global.t('bookingState.in_progress')).toBe('进行中')
    expect(i18n.global.t('tradingCategory.state_owned_property')).toBe('国有产权')
  })
})

describe('alarm labels', () => {
  it('name every value of the alarm and gate enums in both languages', () => {
    const enums: [string, readonly string[]][] = [
      ['alarmKind', ALARM_KINDS],
      ['severity', SEVERITIES],
      ['alarmState', ALARM_STATES],
      ['gatePhase', GATE_PHASES],
      ['doorMode', DOOR_MODES],
    ]
    for (const [prefix, values] of enums) {
      for (const value of values) {
        for (const locale of ['zh-CN', 'en'] as const) expect(i18n.global.te(`${prefix}.${value}`, locale), `${locale} ${prefix}.${value}`).toBe(true)
      }
    }
    expect(i18n.global.t('alarmKind.gateDetection')).toBe('通讯检测门报警')
    expect(i18n.global.t('alarms.sound.unavailable')).toBe('本机没有可用的音频输出，报警只能看到、听不到')
    expect(i18n.global.t('alarms.banner.summary', { count: 3 })).toBe('3 条报警未处理')
  })
})

describe('sources outside the locale files', () => {
  it('contain no Chinese text', () => {
    const cjk = /[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]/
    const offenders = Object.entries(sources)
      .filter(([, text]) => cjk.test(text))
      .map(([path]) => path)
    expect(Object.keys(sources).some((p) => p.endsWith('.vue'))).toBe(true)
    expect(offenders).toEqual([])
  })
})
