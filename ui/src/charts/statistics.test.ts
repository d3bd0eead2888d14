import { describe, expect, it } from 'vitest'
import type { Statistics } from '../bindings'
import { kindOccupancyOption, monthOf, occupancyOption, occupancyPercent, periodLabel, purposeShareOption, sessionsOption } from './statistics'

const stats: Statistics = {
  occupancy: [
    { period: '2026-03-02', roomId: 'kb1', roomName: 'Room 1', roomKind: 'bid_opening', occupiedMinutes: 150, openMinutes: 600 },
    { period: '2026-03-02', roomId: 'kb2', roomName: 'Room 2', roomKind: 'bid_opening', occupiedMinutes: 0, openMinutes: 600 },
    { period: '2026-03-03', roomId: 'kb1', roomName: 'Room 1', roomKind: 'bid_opening', occupiedMinutes: 540, openMinutes: 600 },
    { period: '2026-03-03', roomId: 'kb2', roomName: 'Room 2', roomKind: 'bid_opening', occupiedMinutes: 200, openMinutes: 600 },
  ],
  occupancyByKind: [
    { period: '2026-03-02', roomKind: 'bid_opening', rooms: 2, occupiedMinutes: 150, openMinutes: 1200 },
    { period: '2026-03-03', roomKind: 'bid_opening', rooms: 2, occupiedMinutes: 740, openMinutes: 1200 },
    { period: '2026-03-03', roomKind: 'evaluation', rooms: 1, occupiedMinutes: 300, openMinutes: 600 },
  ],
  byPurposeAndCategory: [
    { purpose: 'bid_opening', category: 'construction', sessions: 3 },
    { purpose: 'evaluation', category: 'construction', sessions: 2 },
    { purpose: 'evaluation', category: 'government_procurement', sessions: 1 },
  ],
  openMinutesPerDay: 600,
}

const t = (key: string) => key

describe('statistics', () => {
  it('defaults to the month of a day', () => {
    expect(monthOf('2026-03-17')).toEqual(['2026-03-01', '2026-03-31'])
    expect(monthOf('2028-02-10')).toEqual(['2028-02-01', '2028-02-29'])
    expect(monthOf('2026-12-31')).toEqual(['2026-12-01', '2026-12-31'])
  })

  it('gives occupancy in percent with one decimal', () => {
    expect(occupancyPercent({ occupiedMinutes: 150, openMinutes: 600 })).toBe(25)
    expect(occupancyPercent({ occupiedMinutes: 200, openMinutes: 600 })).toBe(33.3)
    expect(occupancyPercent({ occupiedMinutes: 540, openMinutes: 600 })).toBe(90)
    expect(occupancyPercent({ occupiedMinutes: 0, openMinutes: 0 })).toBe(0)
  })

  it('labels periods by day or month', () => {
    expect(periodLabel('2026-03-02', 'day')).toBe('03-02')
    expect(periodLabel('2026-03-01', 'month')).toBe('2026-03')
  })

  it('charts one bar per room in each period', () => {
    const option = occupancyOption(stats, 'day')
    expect(option.xAxis).toMatchObject({ data: ['03-02', '03-03'] })
    expect(option.series).toEqual([
      expect.objectContaining({ name: 'Room 1', data: [25, 90] }),
      expect.objectContaining({ name: 'Room 2', data: [0, 33.3] }),
    ])
  })

  it('charts one bar per room kind, zero where a kind has no row', () => {
    const option = kindOccupancyOption(stats, 'day', (k) => `kind.${k}`)
    expect(option.series).toEqual([
      expect.objectContaining({ name: 'kind.bid_opening', data: [12.5, 61.7] }),
      expect.objectContaining({ name: 'kind.evaluation', data: [0, 50] }),
    ])
  })

  it('stacks sessions per purpose by trading category, and shares them by purpose', () => {
    const option = sessionsOption(stats, t)
    expect(option.series).toEqual([
      expect.objectContaining({ name: 'tradingCategory.construction', data: [3, 2, 0, 0, 0, 0, 0] }),
      expect.objectContaining({ name: 'tradingCategory.government_procurement', data: [0, 1, 0, 0, 0, 0, 0] }),
    ])
    const share = purposeShareOption(stats, t).series as { data: { name: string; value: number }[] }[]
    expect(share[0].data.map((d) => [d.name, d.value])).toEqual([['purpose.bid_opening', 3], ['purpose.evaluation', 3]])
  })
})
