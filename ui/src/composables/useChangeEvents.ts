import { onMounted, onUnmounted } from 'vue'
import { events, type AlarmsChanged, type FrontDeskChanged } from '../bindings'

type Flags = Record<string, boolean>
type Listen<T> = (handler: (event: { payload?: T } | undefined) => void) => Promise<(() => void) | undefined>

/**
 * Calls `onChange` when the backend announces what changed. Announcements come in bursts (a check-in
 * moves a locker and the roll call at once; a detection raises an alarm and moves the gate), so those
 * arriving within `delayMs` are merged into one call, each flag set if any announcement set it.
 */
function useMergedEvent<T extends Flags>(listen: Listen<T>, everything: T, onChange: (change: T) => void, delayMs: number): void {
  let unlisten: (() => void) | undefined
  let mounted = false
  let timer: ReturnType<typeof setTimeout> | undefined
  let merged: T | null = null

  function onEvent(event: { payload?: T } | undefined): void {
    const p = event?.payload ?? everything
    const next = { ...p }
    if (merged) for (const key of Object.keys(next) as (keyof T)[]) next[key] = (merged[key] || p[key]) as T[keyof T]
    merged = next
    clearTimeout(timer)
    timer = setTimeout(() => {
      const change = merged ?? everything
      merged = null
      onChange(change)
    }, delayMs)
  }

  onMounted(async () => {
    mounted = true
    try {
      const stop = await listen(onEvent)
      // The screen may have been left while the listener was being registered.
      if (mounted) unlisten = stop
      else stop?.()
    } catch {
      // Without the announcements the screen still has its refresh button.
    }
  })

  onUnmounted(() => {
    mounted = false
    unlisten?.()
    clearTimeout(timer)
  })
}

/** Lockers, devices or the roll call changed. */
export function useFrontDeskChanged(onChange: (change: FrontDeskChanged) => void, delayMs = 250): void {
  useMergedEvent<FrontDeskChanged>(
    (h) => events.frontDeskChanged.listen(h),
    { lockers: true, devices: true, rollCall: true },
    onChange,
    delayMs,
  )
}

/** Alarms, gates or the alarm sound changed. */
export function useAlarmsChanged(onChange: (change: AlarmsChanged) => void, delayMs = 250): void {
  useMergedEvent<AlarmsChanged>((h) => events.alarmsChanged.listen(h), { alarms: true, gates: true, sound: true }, onChange, delayMs)
}
