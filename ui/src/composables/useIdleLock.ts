import { onMounted, onUnmounted, watch } from 'vue'
import { call } from '../api'
import { commands } from '../bindings'
import { useSessionStore } from '../stores/session'

/** The backend counts idleness from the last command; a heartbeat this often keeps it in step. */
const REPORT_EVERY_MS = 60_000
const CHECK_EVERY_MS = 5_000
const ACTIVITY_EVENTS = ['mousemove', 'mousedown', 'keydown', 'wheel', 'touchstart'] as const

/**
 * Locks the session after the operator's idle time (from the session) without mouse or keyboard
 * activity in the window, and tells the backend about activity at most once a minute.
 */
export function useIdleLock(): void {
  const session = useSessionStore()
  let lastActivity = Date.now()
  let lastReport = Date.now()
  let timer: ReturnType<typeof setInterval> | undefined

  function onActivity(): void {
    if (session.locked) return
    const now = Date.now()
    lastActivity = now
    if (now - lastReport >= REPORT_EVERY_MS) {
      lastReport = now
      // A locked or ended session is handled by the session-problem handler; a failed heartbeat needs nothing else.
      call(commands.reportActivity()).catch(() => {})
    }
  }

  function check(): void {
    const view = session.session
    if (!view || session.locked) return
    if (Date.now() - lastActivity >= view.idleLockMinutes * 60_000) {
      session.lock().catch(() => {})
    }
  }

  watch(
    () => session.locked,
    (locked) => {
      if (!locked) lastActivity = lastReport = Date.now()
    },
  )

  onMounted(() => {
    for (const name of ACTIVITY_EVENTS) window.addEventListener(name, onActivity, { passive: true, capture: true })
    timer = setInterval(check, CHECK_EVERY_MS)
  })

  onUnmounted(() => {
    for (const name of ACTIVITY_EVENTS) window.removeEventListener(name, onActivity, { capture: true })
    clearInterval(timer)
  })
}
