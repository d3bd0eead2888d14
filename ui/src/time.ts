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
