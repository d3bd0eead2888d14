import { onMounted, onUnmounted } from 'vue'
import { events, type AlarmsChanged } from '../bindings'

const EVERYTHING: AlarmsChanged = { alarms: true, gates: true, sound: true }

/**
 * Calls `onChange` when the backend announces that alarms, gates or the alarm sound changed.
 * Announcements come in bursts (a gate detection raises an alarm and moves the gate at once), so
 * those arriving within `delayMs` are merged into one call.
 */
export function useAlarmsChanged(onChange: (change: AlarmsChanged) => void, delayMs = 250): void {
  let unlisten: (() => void) | undefined
  let mounted = false
  let timer: ReturnType<typeof setTimeout> | undefined
  let merged: AlarmsChanged | null = null

  function onEvent(event: { payload?: AlarmsChanged } | undefined): void {
    const p = event?.payload ?? EVERYTHING
    merged = merged ? { alarms: merged.alarms || p.alarms, gates: merged.gates || p.gates, sound: merged.sound || p.sound } : { ...p }
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
      const stop = await events.alarmsChanged.listen(onEvent)
      // The component may have gone while the listener was being registered.
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
