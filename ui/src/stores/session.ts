import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { call } from '../api'
import { commands, type Role, type SessionView } from '../bindings'

/** The signed-in operator, mirrored from the backend, which owns the session. */
export const useSessionStore = defineStore('session', () => {
  const session = ref<SessionView | null>(null)
  const locked = ref(false)
  let restored = false

  const signedIn = computed(() => session.value !== null)
  const role = computed<Role | null>(() => session.value?.role ?? null)

  function signIn(view: SessionView): void {
    session.value = view
    locked.value = view.locked
  }

  function forget(): void {
    session.value = null
    locked.value = false
  }

  /** Picks up a session the backend still holds, e.g. after the window was reloaded. Runs once. */
  async function restore(): Promise<void> {
    if (restored) return
    restored = true
    try {
      const view = await call(commands.currentSession())
      if (view) signIn(view)
    } catch {
      forget()
    }
  }

  /** Shows the lock screen; the backend is told so that no command runs until the password is given. */
  async function lock(): Promise<void> {
    locked.value = true
    await call(commands.lockSession())
  }

  function markLocked(): void {
    if (session.value) locked.value = true
  }

  async function unlock(password: string): Promise<void> {
    signIn(await call(commands.unlockSession(password)))
  }

  async function logout(): Promise<void> {
    try {
      await call(commands.logout())
    } finally {
      forget()
    }
  }

  return { session, locked, signedIn, role, signIn, forget, restore, lock, markLocked, unlock, logout }
})
