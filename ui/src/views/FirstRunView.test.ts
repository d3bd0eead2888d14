import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import { createMemoryHistory, createRouter } from 'vue-router'
import { invoke } from '@tauri-apps/api/core'
import { i18n } from '../i18n'
import { appError, fakeBackend } from '../testing'
import type { SetupStatus } from '../bindings'
import FirstRunView from './FirstRunView.vue'

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn(), Channel: class {} }))

const VENUE: SetupStatus = {
  venueSetupAvailable: true,
  venueFile: '/home/op/.config/org.venuedesk.desk/venue.toml',
  defaultRecordingsDir: '/home/op/.local/share/org.venuedesk.desk/recordings',
  minFreeMib: 2048,
}

async function mountView() {
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/first-run', name: 'first-run', component: FirstRunView },
      { path: '/login', name: 'login', component: { template: '<div data-testid="login" />' } },
    ],
  })
  await router.push('/first-run')
  const wrapper = mount(FirstRunView, { global: { plugins: [createPinia(), i18n, router, ElementPlus], stubs: { transition: false } }, attachTo: document.body })
  await flushPromises()
  return { wrapper, router }
}

type W = Awaited<ReturnType<typeof mountView>>['wrapper']

async function fillAdmin(wrapper: W) {
  await wrapper.find('[data-testid=first-run-username]').setValue('admin')
  await wrapper.find('[data-testid=first-run-display-name]').setValue('系统管理员')
  await wrapper.find('[data-testid=first-run-password]').setValue('Admin-pass-2026')
  await wrapper.find('[data-testid=first-run-password2]').setValue('Admin-pass-2026')
}

async function submit(wrapper: W) {
  await wrapper.find('form').trigger('submit')
  await flushPromises()
  await new Promise((r) => setTimeout(r, 0))
  await flushPromises()
}

function calls(command: string) {
  return vi.mocked(invoke).mock.calls.filter((c) => c[0] === command)
}

describe('FirstRunView', () => {
  beforeEach(() => {
    i18n.global.locale.value = 'zh-CN'
    vi.mocked(invoke).mockReset()
  })

  it('with a venue file already in use, creates only the administrator', async () => {
    fakeBackend({
      setup_status: () => ({ ...VENUE, venueSetupAvailable: false }),
      setup_first_administrator: () => null,
    })
    const { wrapper, router } = await mountView()
    expect(wrapper.find('[data-testid=first-run-venue-code]').exists()).toBe(false)
    await fillAdmin(wrapper)
    await submit(wrapper)
    expect(calls('setup_first_administrator')).toHaveLength(1)
    expect(calls('setup_venue')).toHaveLength(0)
    expect(router.currentRoute.value.name).toBe('login')
    wrapper.unmount()
  })

  it.each([
    ['a venue code in the wrong format', 'INVALID_ARGUMENT', '场所编码“广州 01”格式不对：须为 1–32 位英文字母、数字、“-”或“_”，例如 GZ-JYZX-01。', '广州 01', '广州市公共资源交易中心', '格式不对'],
    ['a nearly full disk', 'FAILED_PRECONDITION', '录像存储路径 /srv/rec 所在磁盘只剩 100 MiB 可用，至少需要 2048 MiB。', 'GZ-01', '广州', '只剩 100 MiB'],
  ] as const)('shows the backend refusal (%s) and keeps what was typed', async (_case, code, message, venueCode, venueName, shown) => {
    fakeBackend({
      setup_status: () => VENUE,
      setup_venue: () => {
        throw appError(code, message)
      },
    })
    const { wrapper } = await mountView()
    await fillAdmin(wrapper)
    await wrapper.find('[data-testid=first-run-venue-code]').setValue(venueCode)
    await wrapper.find('[data-testid=first-run-venue-name]').setValue(venueName)
    await submit(wrapper)
    expect(wrapper.find('[data-testid=first-run-error]').text()).toContain(shown)
    expect(wrapper.find('[data-testid=first-run-done]').exists()).toBe(false)
    expect((wrapper.find('[data-testid=first-run-venue-code]').element as HTMLInputElement).value).toBe(venueCode)
    expect((wrapper.find('[data-testid=first-run-venue-name]').element as HTMLInputElement).value).toBe(venueName)
    wrapper.unmount()
  })

  it('shows the free space of a good path and the reason for a bad one', async () => {
    let readOnly = false
    fakeBackend({
      setup_status: () => VENUE,
      setup_check_storage: (args) => {
        if (readOnly) throw appError('FAILED_PRECONDITION', `录像存储路径 ${args.path} 无法写入（Read-only file system）。`)
        return { path: args.path, freeMib: 512000, totalMib: 1024000 }
      },
    })
    const { wrapper } = await mountView()
    const dir = wrapper.find('[data-testid=first-run-recordings-dir]')
    expect((dir.element as HTMLInputElement).value).toBe(VENUE.defaultRecordingsDir)
    await wrapper.find('[data-testid=first-run-check-storage]').trigger('click')
    await flushPromises()
    expect(wrapper.find('[data-testid=first-run-storage-result]').text()).toContain('500.00 GB')
    readOnly = true
    await dir.setValue('/media/cdrom/rec')
    await wrapper.find('[data-testid=first-run-check-storage]').trigger('click')
    await flushPromises()
    expect(wrapper.find('[data-testid=first-run-storage-result]').exists()).toBe(false)
    expect(wrapper.find('[data-testid=first-run-storage-error]').text()).toContain('无法写入')
    wrapper.unmount()
  })

  it('sends the whole set-up, shows where the file went, and restarts on request', async () => {
    fakeBackend({
      setup_status: () => VENUE,
      setup_venue: () => ({ venueFile: VENUE.venueFile, venueCode: 'GZ-01', credentialsStored: true }),
      setup_restart: () => null,
    })
    const { wrapper } = await mountView()
    await fillAdmin(wrapper)
    await wrapper.find('[data-testid=first-run-venue-code]').setValue(' GZ-01 ')
    await wrapper.find('[data-testid=first-run-venue-name]').setValue('广州市公共资源交易中心')
    await wrapper.find('[data-testid=first-run-service-url]').setValue('https://fw.example.cn/api')
    await wrapper.find('[data-testid=first-run-service-key]').setValue('gz-01')
    await wrapper.find('[data-testid=first-run-service-secret]').setValue('s'.repeat(20))
    await submit(wrapper)
    const [[, args]] = calls('setup_venue') as [[string, { input: Record<string, unknown> }]]
    expect(args.input).toMatchObject({
      username: 'admin',
      venueCode: 'GZ-01',
      venueName: '广州市公共资源交易中心',
      recordingsDir: VENUE.defaultRecordingsDir,
      serviceBaseUrl: 'https://fw.example.cn/api',
      serviceAppKey: 'gz-01',
    })
    const done = wrapper.find('[data-testid=first-run-done]')
    expect(done.text()).toContain(VENUE.venueFile)
    expect(done.text()).toContain('密钥环')
    await wrapper.find('[data-testid=first-run-restart]').trigger('click')
    await flushPromises()
    expect(calls('setup_restart')).toHaveLength(1)
    wrapper.unmount()
  })

  it('offers the demo venue for training: then only the administrator is created', async () => {
    fakeBackend({ setup_status: () => VENUE, setup_first_administrator: () => null })
    const { wrapper, router } = await mountView()
    await wrapper.find('[data-testid=first-run-mode-demo] input').setValue(true)
    await flushPromises()
    expect(wrapper.find('[data-testid=first-run-venue-code]').exists()).toBe(false)
    await fillAdmin(wrapper)
    await submit(wrapper)
    expect(calls('setup_first_administrator')).toHaveLength(1)
    expect(calls('setup_venue')).toHaveLength(0)
    expect(router.currentRoute.value.name).toBe('login')
    wrapper.unmount()
  })
})
