import type { BookingChangeView, BookingState, Purpose, RoomKind, RoomView, TradingCategory } from './bindings'

export const PURPOSES: readonly Purpose[] = [
  'bid_opening', 'evaluation', 'negotiation', 'consultation', 'clarification', 'bidding', 'auction',
]

export const BOOKING_STATES: readonly BookingState[] = ['requested', 'confirmed', 'in_progress', 'completed', 'cancelled']

export const TRADING_CATEGORIES: readonly TradingCategory[] = [
  'construction', 'government_procurement', 'land_use_rights', 'mining_rights', 'state_owned_property', 'other',
]

/** What each kind of change in a booking's history is called (`bookingChange.<change>`). */
export const BOOKING_CHANGES = ['created', 'rescheduled', 'room_changed', 'state_changed', 'cancelled'] as const

/** One colour per purpose, for calendar blocks, the legend and charts. */
export const PURPOSE_COLOR: Record<Purpose, string> = {
  bid_opening: '#409eff',
  evaluation: '#e6a23c',
  negotiation: '#67c23a',
  consultation: '#13a8a8',
  clarification: '#9254de',
  bidding: '#eb2f96',
  auction: '#a0522d',
}

export const STATE_TAG: Record<BookingState, 'primary' | 'success' | 'warning' | 'info' | 'danger'> = {
  requested: 'warning',
  confirmed: 'primary',
  in_progress: 'success',
  completed: 'info',
  cancelled: 'danger',
}

/** Time and room may change only before a booking starts. */
export function isMovable(state: BookingState): boolean {
  return state === 'requested' || state === 'confirmed'
}

/** The state a booking moves on to, if it moves on: requested → confirmed → in progress → completed. */
export function nextState(state: BookingState): BookingState | null {
  const order: BookingState[] = ['requested', 'confirmed', 'in_progress', 'completed']
  const i = order.indexOf(state)
  return i >= 0 && i < order.length - 1 ? order[i + 1] : null
}

/** The purpose a room of this kind is usually booked for. */
export function usualPurpose(kind: RoomKind): Purpose | null {
  if (kind === 'overnight_evaluation') return 'evaluation'
  return PURPOSES.find((p) => p === kind) ?? null
}

/** Bid section codes typed into one field, separated by commas, semicolons (either width), spaces or the ideographic comma. */
export function splitCodes(text: string): string[] {
  return [...new Set(text.split(/[\s,;\uff0c\uff1b\u3001]+/).filter(Boolean))]
}

/** The kind of a room as the venue calls it. */
export function roomKindLabel(room: Pick<RoomView, 'kind' | 'kindName'>, t: (key: string) => string): string {
  return room.kind === 'other' && room.kindName ? room.kindName : t(`roomKind.${room.kind}`)
}

/** The fields of a history entry's before/after that the timeline shows. */
export interface ChangeFields {
  roomId?: string
  start?: string
  end?: string
  state?: BookingState
}

/** Reads the JSON of a history entry; times come as RFC 3339 in venue time and are shown as written. */
function changeFields(json: string | null): ChangeFields {
  if (!json) return {}
  try {
    const v = JSON.parse(json) as Record<string, unknown>
    const text = (x: unknown): string | undefined => (typeof x === 'string' && x ? x : undefined)
    const time = (x: unknown): string | undefined => text(x)?.slice(0, 16)
    return { roomId: text(v.roomId), start: time(v.start), end: time(v.end), state: text(v.state) as BookingState | undefined }
  } catch {
    return {}
  }
}

/** One line per field that differs between before and after: `[field, before, after]`. */
export function changedFields(change: Pick<BookingChangeView, 'before' | 'after'>): [keyof ChangeFields, string | undefined, string][] {
  const before = changeFields(change.before)
  const after = changeFields(change.after)
  const keys: (keyof ChangeFields)[] = ['roomId', 'start', 'end', 'state']
  return keys.filter((k) => after[k] !== undefined && after[k] !== before[k]).map((k) => [k, before[k], after[k]!])
}
