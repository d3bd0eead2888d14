import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import { createMemoryHistory, createRouter } from 'vue-router'
import { invoke } from '@tauri-apps/api/core'
import { i18n } from '../i18n'
import { appError, fakeBackend } from '../testing'
import LoginView from './LoginView.vue'

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn(), Channel: class {} }))

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'

async function mountLogin() {
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/login', name: 'login', component: LoginView },
      { path: '/', name: 'home', component: { template: '<div data-testid="home" />' } },
    ],
  })
  await router.push('/login?username=admin')
  const wrapper = mount(LoginView, { global: { plugins: [createPinia(), i18n, router, ElementPlus], stubs: { transition: false } }, attachTo: document.body })
  return { wrapper, router }
}

async function submitCredentials(wrapper: Awaited<ReturnType<typeof mountLogin>>['wrapper'], password: string) {
  await wrapper.find('[data-testid=login-password]').setValue(password)
  await wrapper.find('form').trigger('submit')
  await flushPromises()
}

describe('LoginView', () => {
  beforeEach(() => {
    i18n.global.locale.value = 'zh-CN'
    vi.mocked(invoke).mockReset()
  })

  it('puts the test ids on the native inputs and prefills the user name', async () => {
    const { wrapper } = await mountLogin()
    const username = wrapper.find('[data-testid=login-username]')
    expect(username.element.tagName).toBe('INPUT')
    expect((username.element as HTMLInputElement).value).toBe('admin')
    expect(wrapper.find('[data-testid=login-password]').element.tagName).toBe('INPUT')
    expect(wrapper.find('[data-testid=login-submit]').element.tagName).toBe('BUTTON')
    wrapper.unmount()
  })

  it('shows the backend message inline and stays on the form', async () => {
    fakeBackend({
      login: () => {
        throw appError('UNAUTHENTICATED', '用户名或密码不正确。')
      },
    })
    const { wrapper, router } = await mountLogin()
    await submitCredentials(wrapper, 'wrong-pass-1')
    expect(wrapper.find('[data-testid=login-error]').text()).toContain('不正确')
    expect(router.currentRoute.value.name).toBe('login')
    wrapper.unmount()
  })

  it('enrols an authenticator: QR, the secret without spaces, then the code', async () => {
    fakeBackend({
      login: () => ({ step: 'enrolment_required', enrolment: { secretBase32: SECRET, otpauthUri: 'otpauth://totp/x', qrSvg: '<svg id="qr"></svg>' } }),
      confirm_enrolment: ({ code }) => {
        expect(code).toBe('123456')
        return { step: 'signed_in', session: { operatorId: 1, username: 'admin', displayName: 'A', role: 'administrator', locked: false, idleLockMinutes: 10 } }
      },
    })
    const { wrapper, router } = await mountLogin()
    await submitCredentials(wrapper, 'Admin-pass-2026')

    expect(wrapper.find('[data-testid=enrol-qr] svg').exists()).toBe(true)
    expect(wrapper.find('[data-testid=enrol-secret]').element.textContent).toBe(SECRET)
    const code = wrapper.find('[data-testid=enrol-code]')
    expect(code.element.tagName).toBe('INPUT')
    await code.setValue('123456')
    await wrapper.find('form').trigger('submit')
    await flushPromises()
    expect(router.currentRoute.value.name).toBe('home')
    wrapper.unmount()
  })

  it('asks for the code of an enrolled authenticator and goes back on a locked account', async () => {
    fakeBackend({
      login: () => ({ step: 'second_factor_required' }),
      verify_second_factor: () => {
        throw appError('ACCOUNT_LOCKED', '账号已锁定至 10:15。')
      },
    })
    const { wrapper } = await mountLogin()
    await submitCredentials(wrapper, 'Admin-pass-2026')
    const code = wrapper.find('[data-testid=login-totp-code]')
    expect(code.element.tagName).toBe('INPUT')
    expect(document.activeElement).toBe(code.element)
    await code.setValue('000000')
    await wrapper.find('form').trigger('submit')
    await flushPromises()
    expect(wrapper.find('[data-testid=login-error]').text()).toContain('锁定')
    expect(wrapper.find('[data-testid=login-password]').exists()).toBe(true)
    wrapper.unmount()
  })
})
