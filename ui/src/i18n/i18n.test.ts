import { describe, expect, it } from 'vitest'
import zhCN from './zh-CN'
import en from './en'
import { i18n } from '.'

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
    const kinds = [
      'app.started', 'operator.first_admin', 'operator.login', 'operator.logout', 'operator.locked_out',
      'operator.session_locked', 'operator.session_unlocked', 'operator.totp_enrolled', 'operator.password_changed',
      'operator.created', 'operator.disabled', 'operator.enabled', 'operator.password_reset', 'operator.role_changed',
      'operator.totp_reset', 'operator.access_denied', 'journal.verified', 'device.health',
    ]
    for (const kind of kinds) expect(i18n.global.te(`journalKind.${kind}`, 'en'), kind).toBe(true)
    expect(i18n.global.te('journalKind.operator')).toBe(false)
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
