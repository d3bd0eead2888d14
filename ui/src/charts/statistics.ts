import type { Granularity, OccupancyRow, RoomKind, Statistics } from '../bindings'
import { PURPOSES, PURPOSE_COLOR, TRADING_CATEGORIES } from '../bookings'
import { addDays } from '../calendar/geometry'
import type { ChartOption } from './echarts'

type Translate = (key: string) => string

/** The first and last day of the month `date` (`YYYY-MM-DD`) is in. */
export function monthOf(date: string): [string, string] {
  const [y, m] = date.split('-').map(Number)
  const next = m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`
  return [`${date.slice(0, 7)}-01`, addDays(next, -1)]
}

/** Occupied time (buffers included) within the opening hours over their length, in percent with one decimal. */
export function occupancyPercent(row: Pick<OccupancyRow, 'occupiedMinutes' | 'openMinutes'>): number {
  return row.openMinutes > 0 ? Math.round((row.occupiedMinutes / row.openMinutes) * 1000) / 10 : 0
}

/** How a period (its first day) is labelled on the axis. */
export function periodLabel(period: string, granularity: Granularity): string {
  return granularity === 'month' ? period.slice(0, 7) : period.slice(5)
}

const percent = (v: unknown): string => `${v}%`

/** One group of bars per period, one bar per series, in percent. */
function percentBars(periods: string[], granularity: Granularity, series: { name: string; at: (period: string) => number }[]): ChartOption {
  return {
    tooltip: { trigger: 'axis', valueFormatter: percent },
    legend: { type: 'scroll', top: 0 },
    grid: { left: 48, right: 16, top: 40, bottom: 28 },
    xAxis: { type: 'category', data: periods.map((p) => periodLabel(p, granularity)) },
    yAxis: { type: 'value', axisLabel: { formatter: '{value}%' } },
    series: series.map((s) => ({ type: 'bar', name: s.name, data: periods.map(s.at) })),
  }
}

/** Occupancy per period, one bar per room. */
export function occupancyOption(stats: Statistics, granularity: Granularity): ChartOption {
  const periods = [...new Set(stats.occupancy.map((r) => r.period))].sort()
  const rooms = new Map<string, string>()
  for (const r of stats.occupancy) rooms.set(r.roomId, r.roomName)
  return percentBars(periods, granularity, [...rooms].map(([roomId, name]) => ({
    name,
    at: (p: string) => {
      const row = stats.occupancy.find((r) => r.period === p && r.roomId === roomId)
      return row ? occupancyPercent(row) : 0
    },
  })))
}

/** Occupancy per period, one bar per room kind (all rooms of the kind together). */
export function kindOccupancyOption(stats: Statistics, granularity: Granularity, kindLabel: (kind: RoomKind) => string): ChartOption {
  const periods = [...new Set(stats.occupancyByKind.map((r) => r.period))].sort()
  const kinds = [...new Set(stats.occupancyByKind.map((r) => r.roomKind))]
  return percentBars(periods, granularity, kinds.map((kind) => ({
    name: kindLabel(kind),
    at: (p: string) => {
      const row = stats.occupancyByKind.find((r) => r.period === p && r.roomKind === kind)
      return row ? occupancyPercent(row) : 0
    },
  })))
}

/** Sessions per purpose, stacked by trading category. */
export function sessionsOption(stats: Statistics, t: Translate): ChartOption {
  const count = (purpose: string, category: string): number =>
    stats.byPurposeAndCategory.find((r) => r.purpose === purpose && r.category === category)?.sessions ?? 0
  const categories = TRADING_CATEGORIES.filter((c) => stats.byPurposeAndCategory.some((r) => r.category === c))
  return {
    tooltip: { trigger: 'axis' },
    legend: { type: 'scroll', top: 0 },
    grid: { left: 40, right: 16, top: 40, bottom: 28 },
    xAxis: { type: 'category', data: PURPOSES.map((p) => t(`purpose.${p}`)) },
    yAxis: { type: 'value', minInterval: 1 },
    series: categories.map((c) => ({
      type: 'bar',
      stack: 'sessions',
      name: t(`tradingCategory.${c}`),
      data: PURPOSES.map((p) => count(p, c)),
    })),
  }
}

/** The share of each purpose in all sessions, in the calendar's purpose colours. */
export function purposeShareOption(stats: Statistics, t: Translate): ChartOption {
  const data = PURPOSES.map((p) => ({
    name: t(`purpose.${p}`),
    value: stats.byPurposeAndCategory.filter((r) => r.purpose === p).reduce((sum, r) => sum + r.sessions, 0),
    itemStyle: { color: PURPOSE_COLOR[p] },
  })).filter((d) => d.value > 0)
  return {
    tooltip: { trigger: 'item', formatter: '{b}: {c} ({d}%)' },
    series: [{ type: 'pie', radius: ['35%', '65%'], data, label: { formatter: '{b}\n{d}%' } }],
  }
}
