import { afterEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { i18n } from '../i18n'
import LiveTile from './LiveTile.vue'

describe('LiveTile', () => {
  afterEach(() => vi.useRealTimers())

  it('shows a still picture every 2 s where the window cannot play live video', async () => {
    // jsdom has no MediaSource: the live path is unavailable, as in a webview without MSE.
    expect(typeof (window as { MediaSource?: unknown }).MediaSource).toBe('undefined')
    i18n.global.locale.value = 'zh-CN'
    vi.useFakeTimers()
    // jsdom cannot load media; the player releases its element when it stops.
    vi.spyOn(HTMLMediaElement.prototype, 'load').mockImplementation(() => {})
    const url = 'http://127.0.0.1:4100/live/cam-pb1-a?t=tok&stream=sub&audio=1'
    const wrapper = mount(LiveTile, { props: { url, cameraId: 'cam-pb1-a', audible: false, volume: 50 }, global: { plugins: [i18n] } })
    await flushPromises()
    const img = () => wrapper.find('[data-testid=live-still-cam-pb1-a]')
    expect(img().exists()).toBe(true)
    expect(img().attributes('src')).toBe('http://127.0.0.1:4100/still/cam-pb1-a?t=tok&stream=sub&n=0')
    expect(wrapper.find('[data-testid=live-still-note-cam-pb1-a]').text()).toContain('静态画面，每 2 秒更新')
    await vi.advanceTimersByTimeAsync(2000)
    expect(img().attributes('src')).toContain('&n=1')
    await img().trigger('error')
    expect(wrapper.find('[data-testid=live-still-note-cam-pb1-a]').text()).toContain('暂时取不到画面')
    await img().trigger('load')
    expect(wrapper.find('[data-testid=live-still-note-cam-pb1-a]').text()).toContain('静态画面')
    wrapper.unmount()
  })
})
