import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import { invoke } from '@tauri-apps/api/core'
import type { NewOperatorInput, OperatorView } from '../bindings'
import { i18n } from '../i18n'
import { fakeBackend } from '../testing'
import OperatorsView from './OperatorsView.vue'

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn(), Channel: class {} }))

// jsdom does no layout, so the forms' automatic label width measures NaN; nothing else is muted.
const warn = console.warn
vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
  if (!String(args[0]).includes('unexpected width')) warn(...args)
})

const admin: OperatorView = {
  id: 1, username: 'admin', displayName: 'Admin', role: 'administrator', disabled: false,
  lockedUntil: null, secondFactorEnrolled: true, createdAt: '2026-03-01T09:12:00+08:00',
}

function input(testId: string): HTMLInputElement {
  const el = document.querySelector(`[data-testid=${testId}]`)
  expect(el?.tagName, testId).toBe('INPUT')
  return el as HTMLInputElement
}

function type(testId: string, value: string): void {
  const el = input(testId)
  el.value = value
  el.dispatchEvent(new Event('input'))
}

describe('OperatorsView', () => {
  beforeEach(() => {
    i18n.global.locale.value = 'zh-CN'
    vi.mocked(invoke).mockReset()
    document.body.innerHTML = ''
  })

  it('creates an operator through the dialog and lists it', async () => {
    let created: NewOperatorInput | undefined
    fakeBackend({
      list_operators: () => [admin],
      create_operator: ({ input }) => {
        created = input as NewOperatorInput
        return { ...admin, id: 2, username: created.username, displayName: created.displayName, role: created.role, secondFactorEnrolled: false }
      },
    })
    const wrapper = mount(OperatorsView, { global: { plugins: [createPinia(), i18n, ElementPlus] }, attachTo: document.body })
    await flushPromises()
    expect(document.querySelector('[data-testid=operator-row-admin]')).not.toBeNull()

    await wrapper.find('[data-testid=operators-create]').trigger('click')
    await flushPromises()
    type('op-username', 'jiandu01')
    type('op-display-name', 'Supervisor Li')
    type('op-password', 'Jiandu-2026-a')
    ;(document.querySelector('[data-testid=op-role-supervisor]') as HTMLElement).click()
    await flushPromises()
    ;(document.querySelector('[data-testid=op-submit]') as HTMLButtonElement).click()
    await flushPromises()

    expect(created).toEqual({ username: 'jiandu01', displayName: 'Supervisor Li', role: 'supervisor', password: 'Jiandu-2026-a' })
    expect(document.querySelector('[data-testid=operator-row-jiandu01]')).not.toBeNull()
    wrapper.unmount()
  })

  it('shows a lock time in venue time while the lock lasts', async () => {
    fakeBackend({ list_operators: () => [{ ...admin, lockedUntil: '2099-03-02T10:15:00+08:00' }] })
    const wrapper = mount(OperatorsView, { global: { plugins: [createPinia(), i18n, ElementPlus] }, attachTo: document.body })
    await flushPromises()
    expect(wrapper.text()).toContain('锁定至 10:15')
    wrapper.unmount()
  })
})
