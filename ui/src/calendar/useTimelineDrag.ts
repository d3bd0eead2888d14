import { onBeforeUnmount, ref } from 'vue'
import type { BookingView } from '../bindings'
import {
  DEFAULT_BUFFER_MIN,
  VENUE_DAY,
  bookingSpan,
  collision,
  dragged,
  swept,
  timeAt,
  type DragMode,
  type Span,
} from './geometry'

/** One row (day view: a room) or column (week view: a day) of the calendar. */
export interface Lane {
  roomId: string
  date: string
}

/** A booking being drawn or dragged, or waiting for its move to be confirmed. */
export interface Ghost {
  roomId: string
  span: Span
  setupMin: number
  cleanupMin: number
  /** The booking being moved; null while a new one is drawn. */
  bookingId: number | null
  /** Overlaps another booking of the room, buffers included (the backend has the last word). */
  collides: boolean
}

export interface DragOptions {
  lanes: () => readonly Lane[]
  /** Every booking loaded, for the collision check in whichever room the pointer is over. */
  bookings: () => readonly BookingView[]
  /** The time tracks of the lanes, in the lanes' order. */
  tracks: () => readonly (HTMLElement | undefined)[]
  horizontal: () => boolean
  pxPerMin: () => number
  onCreate: (roomId: string, span: Span) => void
  onMove: (booking: BookingView, roomId: string, span: Span) => void
}

/** Pixels the pointer travels before a press on a booking becomes a drag rather than a click. */
const DRAG_THRESHOLD_PX = 4
/** A click on free time, without dragging, proposes an hour. */
const CLICK_LENGTH_MIN = 60

type Gesture =
  | { kind: 'create'; lane: Lane; anchor: number; moved: boolean }
  | { kind: DragMode; booking: BookingView; from: number; x: number; y: number; started: boolean }

/**
 * Drawing new bookings and dragging existing ones with pointer events: the ghost follows the
 * pointer in quarter hours and turns red when it would collide with a loaded booking.
 */
export function useTimelineDrag(options: DragOptions) {
  const ghost = ref<Ghost | null>(null)
  let gesture: Gesture | null = null
  /** The click that ends a drag must not open the booking. */
  let swallowClick = false

  /** The lane under the pointer (the nearest one when outside) and the time under it. */
  function locate(ev: PointerEvent): { lane: Lane; minute: number } | null {
    const lanes = options.lanes()
    const rects = options.tracks().map((el) => el?.getBoundingClientRect())
    const horizontal = options.horizontal()
    const cross = horizontal ? ev.clientY : ev.clientX
    // Lanes are in order: the first that ends beyond the pointer is under it (or nearest to it).
    const found = rects.findIndex((r) => r !== undefined && cross < (horizontal ? r.bottom : r.right))
    const index = found < 0 ? rects.length - 1 : found
    const rect = rects[index]
    if (!rect || !lanes[index]) return null
    return { lane: lanes[index], minute: minuteIn(lanes[index], rect, ev) }
  }

  function minuteIn(lane: Lane, rect: DOMRect, ev: PointerEvent): number {
    const px = options.horizontal() ? ev.clientX - rect.left : ev.clientY - rect.top
    return timeAt(px, lane.date, VENUE_DAY, options.pxPerMin())
  }

  function collides(roomId: string, span: Span, buffers: { setupMin: number; cleanupMin: number }, exceptId?: number): boolean {
    return collision(roomId, span, buffers, options.bookings(), exceptId) !== undefined
  }

  function showCreate(lane: Lane, span: Span): void {
    const buffers = { setupMin: DEFAULT_BUFFER_MIN, cleanupMin: DEFAULT_BUFFER_MIN }
    ghost.value = { roomId: lane.roomId, span, ...buffers, bookingId: null, collides: collides(lane.roomId, span, buffers) }
  }

  /** A press on free time in a lane starts drawing a new booking there. */
  function pressLane(laneIndex: number, ev: PointerEvent): void {
    const lane = options.lanes()[laneIndex]
    const track = options.tracks()[laneIndex]
    if (ev.button !== 0 || !lane || !track) return
    ev.preventDefault()
    swallowClick = false
    const anchor = minuteIn(lane, track.getBoundingClientRect(), ev)
    gesture = { kind: 'create', lane, anchor, moved: false }
    showCreate(lane, swept(anchor, anchor))
    listen()
  }

  /** A press on a booking (its body, or one of its ends) may become a drag. */
  function pressBooking(booking: BookingView, mode: DragMode, ev: PointerEvent): void {
    if (ev.button !== 0) return
    const at = locate(ev)
    if (!at) return
    ev.preventDefault()
    swallowClick = false
    gesture = { kind: mode, booking, from: at.minute, x: ev.clientX, y: ev.clientY, started: false }
    listen()
  }

  function onMove(ev: PointerEvent): void {
    const g = gesture
    if (!g) return
    if (g.kind === 'create') {
      const track = options.tracks()[options.lanes().indexOf(g.lane)]
      if (!track) return
      const minute = minuteIn(g.lane, track.getBoundingClientRect(), ev)
      g.moved ||= minute !== g.anchor
      showCreate(g.lane, swept(g.anchor, minute))
      return
    }
    if (!g.started && Math.hypot(ev.clientX - g.x, ev.clientY - g.y) < DRAG_THRESHOLD_PX) return
    g.started = true
    const at = locate(ev)
    if (!at) return
    const b = g.booking
    const roomId = g.kind === 'move' ? at.lane.roomId : b.roomId
    const span = dragged(bookingSpan(b), g.kind, at.minute - g.from)
    ghost.value = { roomId, span, setupMin: b.setupMin, cleanupMin: b.cleanupMin, bookingId: b.id, collides: collides(roomId, span, b, b.id) }
  }

  function onUp(): void {
    const g = gesture
    const shown = ghost.value
    stop()
    if (!g || !shown) return
    if (g.kind === 'create') {
      const span = g.moved ? shown.span : { start: g.anchor, end: g.anchor + CLICK_LENGTH_MIN }
      options.onCreate(shown.roomId, span)
      return
    }
    swallowClick = true
    const original = bookingSpan(g.booking)
    const unchanged = shown.roomId === g.booking.roomId && shown.span.start === original.start && shown.span.end === original.end
    if (!unchanged) options.onMove(g.booking, shown.roomId, shown.span)
  }

  function onKey(ev: KeyboardEvent): void {
    if (ev.key === 'Escape') stop()
  }

  function listen(): void {
    window.addEventListener('pointermove', onMove)
    window.addEventListener('pointerup', onUp)
    window.addEventListener('pointercancel', stop)
    window.addEventListener('keydown', onKey)
  }

  function stop(): void {
    gesture = null
    ghost.value = null
    window.removeEventListener('pointermove', onMove)
    window.removeEventListener('pointerup', onUp)
    window.removeEventListener('pointercancel', stop)
    window.removeEventListener('keydown', onKey)
  }

  /** False for the click that ends a drag, which must not open the booking. */
  function clickOpens(): boolean {
    const opens = !swallowClick
    swallowClick = false
    return opens
  }

  onBeforeUnmount(stop)

  return { ghost, pressLane, pressBooking, clickOpens }
}
