import { describe, expect, it } from 'vitest'
import { changedFields, nextState, splitCodes, usualPurpose } from './bookings'

describe('booking helpers', () => {
  it('splits bid section codes at commas, spaces and the ideographic comma, once each', () => {
    expect(splitCodes(' 001,002  003\u3001004\uff0c005;001 ')).toEqual(['001', '002', '003', '004', '005'])
    expect(splitCodes('')).toEqual([])
  })

  it('moves states forward one step at a time', () => {
    expect(nextState('requested')).toBe('confirmed')
    expect(nextState('confirmed')).toBe('in_progress')
    expect(nextState('in_progress')).toBe('completed')
    expect(nextState('completed')).toBeNull()
    expect(nextState('cancelled')).toBeNull()
  })

  it('proposes the purpose a room is made for', () => {
    expect(usualPurpose('bid_opening')).toBe('bid_opening')
    expect(usualPurpose('overnight_evaluation')).toBe('evaluation')
    expect(usualPurpose('other')).toBeNull()
  })

  it('lists what a change changed, with times as the venue wrote them', () => {
    const before = JSON.stringify({ roomId: 'kb1', start: '2026-03-02T09:00:00+08:00', end: '2026-03-02T11:00:00+08:00', state: 'confirmed' })
    const after = JSON.stringify({ roomId: 'kb2', start: '2026-03-02T10:00:00+08:00', end: '2026-03-02T11:00:00+08:00', state: 'confirmed' })
    expect(changedFields({ before, after })).toEqual([
      ['roomId', 'kb1', 'kb2'],
      ['start', '2026-03-02T09:00', '2026-03-02T10:00'],
    ])
    expect(changedFields({ before: '{"state":"requested"}', after: '{"state":"confirmed"}' })).toEqual([['state', 'requested', 'confirmed']])
    expect(changedFields({ before: null, after: '{"state":"requested"}' })).toEqual([['state', undefined, 'requested']])
    expect(changedFields({ before: 'not json', after: null })).toEqual([])
  })
})
