import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import type { Router } from 'vue-router'
import { call } from './api'
import type { AppError, Result } from './bindings'
import { installSessionProblemHandler } from './session-problems'
import { useSessionStore } from './stores/session'
import type { SessionView } from './bindings'

const view: SessionView = { operatorId: 1, username: 'admin', displayName: 'Admin', role: 'administrator', locked: false, idleLockMinutes: 10 }
const failed = (code: AppError['code']): Promise<Result<null, AppError>> => Promise.resolve({ status: 'error', error: { code, message: code } })

describe('session problems from any command', () => {
  let router: { push: ReturnType<typeof vi.fn> }
  let session: ReturnType<typeof useSessionStore>

  beforeEach(() => {
    setActivePinia(createPinia())
    session = useSessionStore()
    router = { push: vi.fn() }
    installSessionProblemHandler(router as unknown as Router, session)
  })

  it('SESSION_LOCKED shows the lock screen', async () => {
    session.signIn(view)
    await call(failed('SESSION_LOCKED')).catch(() => {})
    expect(session.locked).toBe(true)
    expect(session.signedIn).toBe(true)
  })

  it('UNAUTHENTICATED while signed in goes back to the login screen', async () => {
    session.signIn(view)
    await call(failed('UNAUTHENTICATED')).catch(() => {})
    expect(session.signedIn).toBe(false)
    expect(router.push).toHaveBeenCalledWith({ name: 'login' })
  })

  it('is ignored before sign-in, where the login screen shows the error itself', async () => {
    await call(failed('UNAUTHENTICATED')).catch(() => {})
    await call(failed('SESSION_LOCKED')).catch(() => {})
    expect(session.locked).toBe(false)
    expect(router.push).not.toHaveBeenCalled()
  })
})
