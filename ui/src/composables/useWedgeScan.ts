import { onMounted, onUnmounted } from 'vue'

/** Keys from a keyboard-wedge reader or scanner come closer together than any person types. */
export const SCAN_GAP_MS = 35
/** Shorter bursts are taken for typing (a quick double key press), not a scan. */
export const SCAN_MIN_LENGTH = 6

export interface EnterPress {
  event: KeyboardEvent
  target: HTMLElement | null
  /** The characters of a scan that this Enter ends, or null when it was typed or pressed alone. */
  scanned: string | null
}

/** A text control, where keys belong to whoever is typing (a dialog's reason field, a filter…). */
export function isEditable(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false
  const tag = target.tagName
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || target.isContentEditable
}

/**
 * Watches every key press on the page (capture phase, so nothing in between can swallow them) and
 * reports each Enter, saying whether it ended a scan: characters less than SCAN_GAP_MS apart.
 * The characters themselves are left alone: they reach whatever has focus as usual.
 */
export function useWedgeScan(onEnter: (press: EnterPress) => void, now: () => number = () => performance.now()): void {
  let burst = ''
  let lastAt = -Infinity

  function onKeydown(event: KeyboardEvent): void {
    const at = now()
    const fast = at - lastAt < SCAN_GAP_MS
    lastAt = at
    if (event.ctrlKey || event.metaKey || event.altKey) {
      burst = ''
      return
    }
    if (event.key === 'Enter') {
      const scanned = fast && burst.length >= SCAN_MIN_LENGTH ? burst : null
      burst = ''
      onEnter({ event, target: event.target instanceof HTMLElement ? event.target : null, scanned })
      return
    }
    if (event.key.length === 1) burst = fast ? burst + event.key : event.key
    else if (event.key !== 'Shift') burst = ''
  }

  onMounted(() => document.addEventListener('keydown', onKeydown, true))
  onUnmounted(() => document.removeEventListener('keydown', onKeydown, true))
}
