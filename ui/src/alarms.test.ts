import { describe, expect, it } from 'vitest'
import type { AlarmView } from './bindings'
import { alarmTime, answersAlarms, byUrgency, clockTime, isReason, mutePassed } from './alarms'

function alarm(id: number, severity: AlarmView['severity'], raisedAt: string): AlarmView {
  return {
    id, kind: 'gateDetection', severity, source: 's', sourceName: 'S', roomId: null, raisedAt, state: 'raised', active: true,
    acknowledgedBy: null, acknowledgedAt: null, note: null, clearedAt: null, message: '',
  }
}

describe('alarms', () => {
  it('puts the highest severity first, the newest first within one', () => {
    const list = [
      alarm(1, 'minor', '2026-11-23T09:00:00'),
      alarm(2, 'major', '2026-11-23T08:00:00'),
      alarm(3, 'critical', '2026-11-23T07:00:00'),
      alarm(4, 'major', '2026-11-23T10:00:00'),
      alarm(5, 'major', '2026-11-23T10:00:00'),
    ]
    expect(list.sort(byUrgency).map((a) => a.id)).toEqual([3, 5, 4, 2, 1])
  })

  it('shows the time alone for today, the date too for an older alarm', () => {
    const now = new Date('2026-11-23T02:00:00Z') // 10:00 in Shanghai
    expect(alarmTime('2026-11-23T09:15:07', 'Asia/Shanghai', now)).toBe('09:15:07')
    expect(alarmTime('2026-11-22T23:59:00', 'Asia/Shanghai', now)).toBe('2026-11-22 23:59:00')
    expect(clockTime('2026-11-23T09:45:00')).toBe('09:45')
  })

  it('tells when a mute has run out, at the venue', () => {
    const now = new Date('2026-11-23T02:00:30Z') // 10:00:30 in Shanghai
    expect(mutePassed('2026-11-23T10:05:00', 'Asia/Shanghai', now)).toBe(false)
    expect(mutePassed('2026-11-23T10:00:00', 'Asia/Shanghai', now)).toBe(false)
    expect(mutePassed('2026-11-23T09:59:00', 'Asia/Shanghai', now)).toBe(true)
  })

  it('asks for a note or reason the backend accepts: two characters at least', () => {
    expect(['', ' x ', '好', '已查', 'ok'].map(isReason)).toEqual([false, false, false, true, true])
  })

  it('knows who answers alarms', () => {
    expect(['front_desk', 'supervisor', 'administrator', 'venue_manager'].map((r) => answersAlarms(r as never))).toEqual([true, true, true, false])
    expect(answersAlarms(null)).toBe(false)
  })
})
