import type { Router } from 'vue-router'
import { onSessionProblem } from './api'
import { useSessionStore } from './stores/session'

/**
 * Any command may find the session locked (idle timeout) or gone. Only a signed-in window reacts,
 * so that a wrong password on the login screen stays an inline error there.
 */
export function installSessionProblemHandler(router: Router, session: ReturnType<typeof useSessionStore>): void {
  onSessionProblem((code) => {
    if (!session.signedIn) return
    if (code === 'SESSION_LOCKED') {
      session.markLocked()
    } else {
      session.forget()
      void router.push({ name: 'login' })
    }
  })
}
