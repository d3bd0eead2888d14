/**
 * The backend renders instants in venue time (RFC 3339 with the venue's offset), so the wall time
 * is the text itself: no conversion through the computer's own time zone.
 */
export function venueWallTime(rfc3339: string, precision: 'minute' | 'second' = 'second'): string {
  return rfc3339.slice(0, precision === 'second' ? 19 : 16).replace('T', ' ')
}

/** A formatter for the venue's time zone; an unknown zone name falls back to the computer's. */
export function venueFormatter(locale: string, timeZone: string | undefined, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  try {
    return new Intl.DateTimeFormat(locale, { ...options, timeZone })
  } catch {
    return new Intl.DateTimeFormat(locale, options)
  }
}

/** The venue's wall clock now, as the backend writes local times: `YYYY-MM-DDTHH:mm`. */
export function venueNow(timeZone: string | undefined, now = new Date()): string {
  const parts = venueFormatter('en-GB', timeZone, {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(now)
  const part = (type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? ''
  return `${part('year')}-${part('month')}-${part('day')}T${part('hour')}:${part('minute')}`
}

/** A `YYYY-MM-DD` day in words (weekday, month…), read as the calendar date it is, in no time zone. */
export function dateLabel(date: string, locale: string, options: Intl.DateTimeFormatOptions): string {
  return new Intl.DateTimeFormat(locale, { ...options, timeZone: 'UTC' }).format(new Date(`${date}T00:00:00Z`))
}
