import { onMounted, onUnmounted } from 'vue'
import { events, type FrontDeskChanged } from '../bindings'

const EVERYTHING: FrontDeskChanged = { lockers: true, devices: true, rollCall: true }

/**
 * Calls `onChange` when the backend announces that lockers, devices or the roll call changed.
 * Announcements come in bursts (a check-in moves a locker and the roll call at once), so those
 * arriving within `delayMs` are merged into one call.
 */
export function useFrontDeskChanged(onChange: (change: FrontDeskChanged) => void, delayMs = 250): void {
  let unlisten: (() => void) | undefined
  let mounted = false
  let timer: ReturnType<typeof setTimeout> | undefined
  let merged: FrontDeskChanged | null = null

  function onEvent(event: { payload?: FrontDeskChanged } | undefined): void {
    const p = event?.payload ?? EVERYTHING
    merged = merged
      ? { lockers: merged.lockers || p.lockers, devices: merged.devices || p.devices, rollCall: merged.rollCall || p.rollCall }
      : { ...p }
    clearTimeout(timer)
    timer = setTimeout(() => {
      const change = merged ?? EVERYTHING
      merged = null
      onChange(change)
    }, delayMs)
  }

  onMounted(async () => {
    mounted = true
    try {
      const stop = await events.frontDeskChanged.listen(onEvent)
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
