import type { AppError, ErrorKind, Result } from './bindings'

/** A failed command: `code` is for the UI to branch on, `message` is for people (already localized). */
export class ApiError extends Error {
  readonly code: ErrorKind

  constructor(error: AppError) {
    super(error.message)
    this.name = 'ApiError'
    this.code = error.code
  }
}

type SessionProblemHandler = (code: 'SESSION_LOCKED' | 'UNAUTHENTICATED') => void

let sessionProblemHandler: SessionProblemHandler = () => {}

/** Installed once by the session store: it decides what a locked or ended session means for the screen. */
export function onSessionProblem(handler: SessionProblemHandler): void {
  sessionProblemHandler = handler
}

/** Awaits a generated command and returns its data, or throws an ApiError. */
export async function call<T>(command: Promise<Result<T, AppError>>): Promise<T> {
  const result = await command
  if (result.status === 'ok') return result.data
  const { code } = result.error
  if (code === 'SESSION_LOCKED' || code === 'UNAUTHENTICATED') sessionProblemHandler(code)
  throw new ApiError(result.error)
}

export function isApiError(e: unknown, ...codes: ErrorKind[]): e is ApiError {
  return e instanceof ApiError && (codes.length === 0 || codes.includes(e.code))
}

/** The text to show for any failure: the backend's message, or what the runtime said. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}
