/**
 * Live video for the supervision wall: a camera's fragmented MP4 from the loopback media server
 * (`/live/{camera}`), fetched as a stream and fed to Media Source Extensions. WebKitGTK has no
 * WebRTC and its media player cannot play an endless HTTP MP4; MSE decodes through GStreamer
 * (docs/decisions.md, "Live wall: MSE fed with fragmented MP4").
 *
 * A player keeps close to the live edge (it jumps forward when more than `MAX_BEHIND_S` is
 * buffered ahead of what is shown), drops what it has shown, and when the stream ends or fails it
 * says so (`lost`) and asks again by itself.
 */

export type LiveState = 'connecting' | 'playing' | 'lost' | 'refused' | 'unsupported'

/** Seconds of buffered video ahead of the picture before the player jumps to the live edge. */
export const MAX_BEHIND_S = 0.5
/** Where the jump lands, behind the newest frame (a little room for the next fragment). */
const EDGE_S = 0.15
/** Buffered seconds before the first seek and play. */
const START_S = 0.2
/** Shown video kept behind the picture; older is removed to keep memory flat. */
const KEEP_S = 10
/** Reconnection delays: first, growing to at most the last. */
export const RETRY_MS = [1000, 2000, 4000, 5000]
/** No new data for this long while "playing" counts as lost (the server ends a stalled stream at 5 s). */
const SILENT_MS = 7000

export interface LiveCallbacks {
  state(state: LiveState, detail: string): void
}

/** Whether this window can play live video at all. */
export function mseAvailable(): boolean {
  return typeof window !== 'undefined' && typeof window.MediaSource !== 'undefined'
}

/** The media type the server answered with, if MSE can play it. */
export function playableType(contentType: string | null): boolean {
  return !!contentType && mseAvailable() && MediaSource.isTypeSupported(contentType)
}

/** The delay before reconnection attempt `n` (0-based). */
export function retryDelay(n: number): number {
  return RETRY_MS[Math.min(n, RETRY_MS.length - 1)]
}

/**
 * Plays `url` in `video` until `stop()`. Reports its state through `cb`; `refused` (the server said
 * no: too many main streams) and `unsupported` (the window cannot decode the camera) are not
 * retried; `lost` is.
 */
export class LivePlayer {
  private abort: AbortController | null = null
  private timer: ReturnType<typeof setTimeout> | null = null
  private watchdog: ReturnType<typeof setInterval> | null = null
  private stopped = false
  private attempts = 0
  private lastDataAt = 0
  private objectUrl = ''
  state: LiveState = 'connecting'

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly url: string,
    private readonly cb: LiveCallbacks,
  ) {}

  start(): void {
    this.stopped = false
    void this.connect()
    this.watchdog = setInterval(() => {
      if (this.state === 'playing' && Date.now() - this.lastDataAt > SILENT_MS) this.lose('no data')
    }, 1000)
  }

  stop(): void {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    if (this.watchdog) clearInterval(this.watchdog)
    this.abort?.abort()
    this.release()
  }

  private set(state: LiveState, detail = ''): void {
    this.state = state
    this.cb.state(state, detail)
  }

  private release(): void {
    this.video.removeAttribute('src')
    try {
      this.video.load()
    } catch {
      // A detached element: nothing to reset.
    }
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl)
    this.objectUrl = ''
  }

  private lose(detail: string): void {
    if (this.stopped) return
    this.abort?.abort()
    this.release()
    this.set('lost', detail)
    const delay = retryDelay(this.attempts++)
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => void this.connect(), delay)
  }

  private async connect(): Promise<void> {
    if (this.stopped) return
    if (!mseAvailable()) {
      this.set('unsupported', 'MediaSource')
      return
    }
    this.set(this.attempts === 0 ? 'connecting' : 'lost', '')
    const abort = new AbortController()
    this.abort = abort
    let response: Response
    try {
      response = await fetch(this.url, { signal: abort.signal, cache: 'no-store' })
    } catch (e) {
      if (!abort.signal.aborted) this.lose(String(e))
      return
    }
    if (response.status === 409) {
      this.set('refused', (await response.text()).split('\n')[0])
      return
    }
    if (!response.ok || !response.body) {
      this.lose((await response.text().catch(() => '')).split('\n')[0] || `HTTP ${response.status}`)
      return
    }
    const type = response.headers.get('content-type')
    if (!playableType(type)) {
      abort.abort()
      this.set('unsupported', type ?? '')
      return
    }
    const ms = new MediaSource()
    this.objectUrl = URL.createObjectURL(ms)
    this.video.src = this.objectUrl
    await new Promise((ok) => ms.addEventListener('sourceopen', ok, { once: true }))
    if (abort.signal.aborted) return
    let sb: SourceBuffer
    try {
      sb = ms.addSourceBuffer(type!)
      sb.mode = 'segments'
    } catch (e) {
      abort.abort()
      this.set('unsupported', String(e))
      return
    }
    const queue: Uint8Array[] = []
    const pump = (): void => {
      if (sb.updating || !queue.length || ms.readyState !== 'open') return
      try {
        sb.appendBuffer(queue.shift()! as BufferSource)
      } catch (e) {
        // QuotaExceeded or a detached buffer: start over rather than stall.
        this.lose(String(e))
      }
    }
    sb.addEventListener('updateend', () => {
      const v = this.video
      if (sb.buffered.length) {
        const start = sb.buffered.start(0)
        const end = sb.buffered.end(sb.buffered.length - 1)
        // Nothing is seeked or played before a little video is there: WebKit fails the element
        // (MEDIA_ERR_SRC_NOT_SUPPORTED) when asked to seek and play into a single frame.
        if (end - start >= START_S) {
          // A stream that starts later than 0 (a feed already running) or a picture that fell
          // behind: to the live edge. A start a few ms after 0 is within WebKit's tolerance.
          if (v.currentTime < start - 0.1 || end - v.currentTime > MAX_BEHIND_S) v.currentTime = Math.max(start, end - EDGE_S)
          if (v.paused) void v.play().catch(() => {})
        }
        if (v.currentTime - start > KEEP_S * 2 && !sb.updating) {
          sb.remove(start, v.currentTime - KEEP_S)
          return
        }
      }
      pump()
    })
    sb.addEventListener('error', () => this.lose('SourceBuffer error'))
    this.video.onerror = () => this.lose(`media error ${this.video.error?.code ?? ''}`)
    const reader = response.body.getReader()
    this.lastDataAt = Date.now()
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        this.lastDataAt = Date.now()
        queue.push(value)
        pump()
        if (this.state !== 'playing' && this.video.readyState >= 2) {
          this.attempts = 0
          this.set('playing')
        }
      }
    } catch (e) {
      if (abort.signal.aborted) return
      this.lose(String(e))
      return
    }
    // The server ended the stream: the camera dropped.
    this.lose('ended')
  }
}
