import { vi } from 'vitest'
import { invoke } from '@tauri-apps/api/core'
import type { AppError } from './bindings'

type Handler = (args: Record<string, unknown>) => unknown

/** A stand-in backend for tests: command name to handler; a handler that throws an AppError fails the command. */
export function fakeBackend(handlers: Record<string, Handler>): void {
  vi.mocked(invoke).mockImplementation(async (command: string, args?: unknown) => {
    const handler = handlers[command]
    if (!handler) throw { code: 'INTERNAL', message: `no fake for ${command}` } satisfies AppError
    return handler((args ?? {}) as Record<string, unknown>)
  })
}

export function appError(code: AppError['code'], message: string): AppError {
  return { code, message }
}
