import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import { invoke } from '@tauri-apps/api/core'
import type { CameraRecording, StorageView } from '../bindings'
import { i18n } from '../i18n'
import { appError, fakeBackend } from '../testing'
import RecorderView from './RecorderView.vue'

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn(), Channel: class {} }))
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn() }))

const live = { state: 'recording' as const, bitrateKbps: 2048, lastDataMs: 1, segment: 'cam-pb1-a/20261206/1.mkv', segmentStartMs: 1, problem: null, streams: ['video', 'audio'] }
const front: CameraRecording = {
  cameraId: 'cam-pb1-a', name: '第一评标室 A', kind: 'camera', roomId: 'pb-1', roomName: '第一评标室', continuous: false,
  why: { kind: 'session', bookingId: 3, projectCode: 'E3501000001000123001' }, live, lastDataAt: '2026-12-06T10:00:01+08:00', manual: null, manualAt: null,
}
const lost: CameraRecording = {
  ...front, cameraId: 'cam-pb1-b', name: '第一评标室 B',
  live: { ...live, state: 'lost', bitrateKbps: null, segment: null, problem: '5 秒没有收到数据 / no data for 5 s' },
}
const lobby: CameraRecording = { ...front, cameraId: 'cam-lobby', name: '大厅', roomId: null, roomName: null, continuous: true, why: { kind: 'continuous' } }
const storage: StorageView = { path: '/srv/rec', freeBytes: 1 << 30, totalBytes: 4 * (1 << 30), minFreeBytes: 2 * (1 << 30), recordedBytes: 3 << 20, enabled: true }

describe('RecorderView', () => {
  beforeEach(() => {
    i18n.global.locale.value = 'zh-CN'
    vi.mocked(invoke).mockReset()
    document.body.innerHTML = ''
  })

  it('shows each room and public area with state, reason, bitrate and the storage warning', async () => {
    fakeBackend({ recorder_status: () => [front, lost, lobby], recorder_storage: () => storage })
    const wrapper = mount(RecorderView, { global: { plugins: [createPinia(), i18n, ElementPlus] }, attachTo: document.body })
    await flushPromises()
    const room = wrapper.find('[data-testid=recorder-room-pb-1]').text()
    expect(room).toContain('第一评标室')
    expect(room).toContain('录像中')
    expect(room).toContain('视频丢失')
    expect(room).toContain('场次 E3501000001000123001')
    expect(room).toContain('2048 kbps')
    expect(room).toContain('视频 + 音频')
    expect(room).toContain('2026-12-06 10:00:01')
    expect(room).toContain('no data for 5 s')
    const publicArea = wrapper.find('[data-testid=recorder-room-public]').text()
    expect(publicArea).toContain('公共区域')
    expect(publicArea).toContain('连续录像')
    expect(wrapper.find('[data-testid=recorder-storage]').text()).toContain('1.00 GB')
    expect(document.body.textContent).toContain('可用空间低于下限 2.00 GB')
    wrapper.unmount()
  })

  it('stops a room by hand only with a reason, and shows a refusal', async () => {
    let sent: Record<string, unknown> | undefined
    let refuse = true
    fakeBackend({
      recorder_status: () => [front],
      recorder_storage: () => storage,
      recorder_control: (args) => {
        sent = args
        if (refuse) throw appError('PERMISSION_DENIED', '只有监督人员或系统管理员可以手动停止录像。')
        return [{ ...front, live: { ...live, state: 'idle' }, manual: { action: 'stop', by: 'sup', reason: '休会', atMs: 1, scheduled: front.why }, manualAt: '2026-12-06T10:05:00+08:00' }]
      },
    })
    const wrapper = mount(RecorderView, { global: { plugins: [createPinia(), i18n, ElementPlus] }, attachTo: document.body })
    await flushPromises()
    await wrapper.find('[data-testid=recorder-stop-pb-1]').trigger('click')
    await flushPromises()
    const confirm = () => document.querySelector<HTMLButtonElement>('[data-testid=recorder-confirm]')!
    expect(confirm().disabled).toBe(true)
    const input = document.querySelector<HTMLInputElement>('input[data-testid=recorder-reason]')!
    input.value = '休会'
    input.dispatchEvent(new Event('input'))
    await flushPromises()
    expect(confirm().disabled).toBe(false)
    confirm().click()
    await flushPromises()
    expect(sent).toEqual({ target: { kind: 'room', roomId: 'pb-1' }, start: false, reason: '休会' })
    expect(document.body.textContent).toContain('只有监督人员或系统管理员可以手动停止录像')
    refuse = false
    confirm().click()
    await flushPromises()
    expect(wrapper.text()).toContain('sup 于 2026-12-06 10:05:00 手动停止：休会')
    expect(wrapper.text()).toContain('未录像')
    wrapper.unmount()
  })
})
