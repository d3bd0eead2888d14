import { describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import type { AppInfo, Role, SessionView } from './bindings'
import { router } from './router'
import { fakeBackend } from './testing'

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn(), Channel: class {} }))

const ready: AppInfo = { version: '0.1.0', venueCode: 'demo', venueName: 'Demo', timeZone: 'Asia/Shanghai', firstRun: false, startupError: null, demoVenue: true }

function signedInAs(role: Role): SessionView {
  return { operatorId: 1, username: 'u', displayName: 'U', role, locked: false, idleLockMinutes: 10 }
}

/** A fresh window (stores) in front of a backend in the given state. */
function backend(info: AppInfo, session: SessionView | null = null): void {
  setActivePinia(createPinia())
  fakeBackend({ set_locale: () => null, app_info: () => info, current_session: () => session })
}

async function landing(path: string): Promise<string | undefined> {
  await router.push(path)
  return router.currentRoute.value.name?.toString()
}

describe('navigation guard', () => {
  it('shows only the start-up error when the app could not start', async () => {
    backend({ ...ready, startupError: { code: 'FAILED_PRECONDITION', message: 'venue.toml: bad' } })
    expect(await landing('/')).toBe('startup-error')
    expect(await landing('/login')).toBe('startup-error')
  })

  it('asks for the first administrator on first run', async () => {
    backend({ ...ready, firstRun: true })
    expect(await landing('/login')).toBe('first-run')
  })

  it('sends a visitor who is not signed in to the login screen', async () => {
    backend(ready)
    expect(await landing('/journal')).toBe('login')
  })

  it('keeps administration screens from other roles', async () => {
    backend(ready, signedInAs('front_desk'))
    expect(await landing('/operators')).toBe('home')
    expect(await landing('/account')).toBe('account')
  })

  it('opens the booking screens to the roles that use them', async () => {
    backend(ready, signedInAs('front_desk'))
    expect(await landing('/calendar')).toBe('home')
    expect(await landing('/bookings')).toBe('home')

    backend(ready, signedInAs('supervisor'))
    expect(await landing('/calendar')).toBe('calendar')
    expect(await landing('/bookings')).toBe('bookings')
    expect(await landing('/projects')).toBe('home')
    expect(await landing('/statistics')).toBe('home')

    backend(ready, signedInAs('administrator'))
    expect(await landing('/statistics')).toBe('statistics')
    expect(await landing('/rooms')).toBe('home')

    backend(ready, signedInAs('venue_manager'))
    for (const screen of ['calendar', 'bookings', 'projects', 'rooms', 'statistics']) expect(await landing(`/${screen}`)).toBe(screen)
    expect(await landing('/operators')).toBe('home')
  })

  it('opens the front-desk screens to the desk and those who oversee it', async () => {
    for (const role of ['front_desk', 'supervisor', 'administrator'] as const) {
      backend(ready, signedInAs(role))
      for (const screen of ['checkin', 'lockers', 'roll-call', 'devices']) expect(await landing(`/${screen}`), `${role} ${screen}`).toBe(screen)
    }
    backend(ready, signedInAs('venue_manager'))
    for (const screen of ['checkin', 'lockers', 'roll-call', 'attendance']) expect(await landing(`/${screen}`), screen).toBe('home')
    expect(await landing('/devices')).toBe('devices')
  })

  it('keeps attendance, rosters and re-entry approval to supervision', async () => {
    backend(ready, signedInAs('front_desk'))
    expect(await landing('/attendance')).toBe('home')

    backend(ready, signedInAs('supervisor'))
    expect(await landing('/attendance')).toBe('attendance')

    backend(ready, signedInAs('administrator'))
    expect(await landing('/attendance')).toBe('attendance')
  })

  it('opens the alarm centre to every role', async () => {
    backend(ready)
    expect(await landing('/alarms')).toBe('login')
    for (const role of ['front_desk', 'supervisor', 'venue_manager', 'administrator'] as const) {
      backend(ready, signedInAs(role))
      expect(await landing('/account'), role).toBe('account')
      expect(await landing('/alarms'), role).toBe('alarms')
    }
  })

  it('keeps the data sync screen to administrators', async () => {
    backend(ready)
    expect(await landing('/sync')).toBe('login')
    for (const role of ['front_desk', 'supervisor', 'venue_manager'] as const) {
      backend(ready, signedInAs(role))
      expect(await landing('/sync'), role).toBe('home')
    }
    backend(ready, signedInAs('administrator'))
    expect(await landing('/sync')).toBe('sync')
  })

  it('lets an administrator in, and away from the login screen', async () => {
    backend(ready, signedInAs('administrator'))
    expect(await landing('/journal')).toBe('journal')
    expect(await landing('/login')).toBe('home')
  })
})
