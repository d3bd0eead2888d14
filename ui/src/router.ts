import { createRouter, createWebHashHistory, type RouteLocationRaw } from 'vue-router'
import type { Role } from './bindings'
import { useAppStore } from './stores/app'
import { useSessionStore } from './stores/session'
import StartupErrorView from './views/StartupErrorView.vue'
import FirstRunView from './views/FirstRunView.vue'
import LoginView from './views/LoginView.vue'
import ShellLayout from './views/ShellLayout.vue'
import HomeView from './views/HomeView.vue'
import AccountView from './views/AccountView.vue'
import OperatorsView from './views/OperatorsView.vue'
import JournalView from './views/JournalView.vue'
import CalendarView from './views/CalendarView.vue'
import BookingsView from './views/BookingsView.vue'
import ProjectsView from './views/ProjectsView.vue'
import RoomsView from './views/RoomsView.vue'
import CheckInView from './views/CheckInView.vue'
import LockersView from './views/LockersView.vue'
import RollCallView from './views/RollCallView.vue'
import AttendanceView from './views/AttendanceView.vue'
import DevicesView from './views/DevicesView.vue'
import AlarmsView from './views/AlarmsView.vue'
import SyncView from './views/SyncView.vue'
import RecorderView from './views/RecorderView.vue'
import PlaybackView from './views/PlaybackView.vue'
import EvidenceView from './views/EvidenceView.vue'
import LiveWallView from './views/LiveWallView.vue'
import IncidentsView from './views/IncidentsView.vue'

declare module 'vue-router' {
  interface RouteMeta {
    /** Reachable without signing in. */
    public?: boolean
    /** Only these roles see the screen; absent means every role. */
    roles?: Role[]
  }
}

/** Who runs the calendar, and who watches it (read only). */
const BOOKING_READERS: Role[] = ['venue_manager', 'supervisor', 'administrator']
/** Who works at the entrance of the evaluation area, or oversees it. */
const FRONT_DESK: Role[] = ['front_desk', 'supervisor', 'administrator']
/** Who oversees the experts' attendance. */
const SUPERVISION: Role[] = ['supervisor', 'administrator']

export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/startup-error', name: 'startup-error', component: StartupErrorView, meta: { public: true } },
    { path: '/first-run', name: 'first-run', component: FirstRunView, meta: { public: true } },
    { path: '/login', name: 'login', component: LoginView, meta: { public: true } },
    {
      path: '/',
      component: ShellLayout,
      children: [
        { path: '', name: 'home', component: HomeView },
        { path: 'account', name: 'account', component: AccountView },
        { path: 'operators', name: 'operators', component: OperatorsView, meta: { roles: ['administrator'] } },
        { path: 'journal', name: 'journal', component: JournalView, meta: { roles: ['administrator'] } },
        { path: 'calendar', name: 'calendar', component: CalendarView, meta: { roles: BOOKING_READERS } },
        { path: 'bookings', name: 'bookings', component: BookingsView, meta: { roles: BOOKING_READERS } },
        { path: 'projects', name: 'projects', component: ProjectsView, meta: { roles: ['venue_manager'] } },
        { path: 'rooms', name: 'rooms', component: RoomsView, meta: { roles: ['venue_manager'] } },
        { path: 'checkin', name: 'checkin', component: CheckInView, meta: { roles: FRONT_DESK } },
        { path: 'lockers', name: 'lockers', component: LockersView, meta: { roles: FRONT_DESK } },
        { path: 'roll-call', name: 'roll-call', component: RollCallView, meta: { roles: FRONT_DESK } },
        { path: 'attendance', name: 'attendance', component: AttendanceView, meta: { roles: SUPERVISION } },
        { path: 'devices', name: 'devices', component: DevicesView },
        { path: 'alarms', name: 'alarms', component: AlarmsView },
        { path: 'sync', name: 'sync', component: SyncView, meta: { roles: ['administrator'] } },
        { path: 'recording', name: 'recording', component: RecorderView, meta: { roles: SUPERVISION } },
        { path: 'playback', name: 'playback', component: PlaybackView, meta: { roles: SUPERVISION } },
        { path: 'evidence', name: 'evidence', component: EvidenceView, meta: { roles: SUPERVISION } },
        { path: 'live', name: 'live', component: LiveWallView, meta: { roles: SUPERVISION } },
        { path: 'incidents', name: 'incidents', component: IncidentsView, meta: { roles: SUPERVISION } },
        {
          path: 'statistics',
          name: 'statistics',
          // Loaded on first visit: it brings the charting library.
          component: () => import('./views/StatisticsView.vue'),
          meta: { roles: ['venue_manager', 'administrator'] },
        },
      ],
    },
    { path: '/:rest(.*)', redirect: { name: 'home' } },
  ],
})

/** Start-up error, then first run, then sign-in come before everything else, in that order. */
router.beforeEach(async (to): Promise<true | RouteLocationRaw> => {
  const app = useAppStore()
  await app.load()
  if (app.startupError) return to.name === 'startup-error' || { name: 'startup-error' }
  if (app.firstRun) return to.name === 'first-run' || { name: 'first-run' }
  if (to.name === 'startup-error' || to.name === 'first-run') return { name: 'login' }

  const session = useSessionStore()
  await session.restore()
  if (to.meta.public) return !session.signedIn || { name: 'home' }
  if (!session.signedIn) return { name: 'login' }
  if (to.meta.roles && !to.meta.roles.includes(session.role!)) return { name: 'home' }
  return true
})
