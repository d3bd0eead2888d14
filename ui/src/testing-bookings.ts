import { expect } from 'vitest'
import type { BookingView, ProjectView, RoomView } from './bindings'

// Sample rooms, projects and bookings for the booking screens' tests.

export function room(id: string, name: string, more: Partial<RoomView> = {}): RoomView {
  return {
    id, name, kind: 'bid_opening', kindName: null, zone: 'transaction', capacity: 40, floor: '2', notes: '',
    active: true, devices: [], inVenueFile: true, version: 1, ...more,
  }
}

export const project: ProjectView = {
  id: 7, tenderProjectCode: 'E3101000001202611001', codeUnusual: false, name: 'Bridge', category: 'construction',
  bidSectionCodes: ['001', '002'], tendererName: 'City works', tendererCreditCode: '91350100M000100Y43',
  agencyName: null, agencyCreditCode: null, responsibleStaff: 'Li', version: 1,
}

export function booking(id: number, start: string, end: string, more: Partial<BookingView> = {}): BookingView {
  return {
    id, roomId: 'kb1', roomName: 'Room 1', projectId: project.id, tenderProjectCode: project.tenderProjectCode,
    projectName: project.name, category: 'construction', bidSectionCodes: ['001'], purpose: 'bid_opening',
    start, end, setupMin: 30, cleanupMin: 30, expectedParticipants: 20, expectedExperts: 0, overnight: false,
    state: 'confirmed', seriesId: null, notes: '', createdBy: 'changdi01', version: 1, ...more,
  }
}

/** An element the screen rendered, wherever it was teleported to. */
export function byTestid(testid: string): HTMLElement {
  const el = document.querySelector<HTMLElement>(`[data-testid="${testid}"]`)
  expect(el, testid).not.toBeNull()
  return el!
}

/** Types into a native input as a person would, then presses Enter. */
export function typeAndEnter(testid: string, text: string): void {
  const input = byTestid(testid) as HTMLInputElement
  expect(input.tagName, testid).toBe('INPUT')
  input.value = text
  input.dispatchEvent(new Event('input'))
  input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', code: 'Enter', bubbles: true }))
}
