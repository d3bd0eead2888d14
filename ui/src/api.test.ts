import { beforeEach, describe, expect, it, vi } from 'vitest'
import { invoke } from '@tauri-apps/api/core'
import { ApiError, call, errorMessage, isApiError, onSessionProblem } from './api'
import { commands, type AppError, type Result } from './bindings'

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn(), Channel: class {} }))

const failed = (error: AppError): Promise<Result<never, AppError>> => Promise.resolve({ status: 'error', error })

describe('call', () => {
  const handler = vi.fn()

  beforeEach(() => {
    handler.mockReset()
    onSessionProblem(handler)
  })

  it('returns the data of an ok result', async () => {
    await expect(call(Promise.resolve({ status: 'ok', data: 42 }))).resolves.toBe(42)
  })

  it('throws an ApiError with the code and the backend message', async () => {
    const e = await call(failed({ code: 'ALREADY_EXISTS', message: '用户名已存在' })).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(ApiError)
    expect(isApiError(e, 'ALREADY_EXISTS')).toBe(true)
    expect(isApiError(e, 'NOT_FOUND')).toBe(false)
    expect(errorMessage(e)).toBe('用户名已存在')
    expect(handler).not.toHaveBeenCalled()
  })

  it('reports SESSION_LOCKED to the session handler and still throws', async () => {
    await expect(call(failed({ code: 'SESSION_LOCKED', message: 'locked' }))).rejects.toBeInstanceOf(ApiError)
    expect(handler).toHaveBeenCalledWith('SESSION_LOCKED')
  })

  it('reports UNAUTHENTICATED to the session handler', async () => {
    await expect(call(failed({ code: 'UNAUTHENTICATED', message: 'sign in' }))).rejects.toThrow('sign in')
    expect(handler).toHaveBeenCalledWith('UNAUTHENTICATED')
  })

  it('unwraps what the generated commands return from invoke', async () => {
    vi.mocked(invoke).mockResolvedValueOnce({ step: 'second_factor_required' })
    await expect(call(commands.login('admin', 'pw'))).resolves.toEqual({ step: 'second_factor_required' })
    expect(invoke).toHaveBeenLastCalledWith('login', { username: 'admin', password: 'pw' })

    vi.mocked(invoke).mockRejectedValueOnce({ code: 'ACCOUNT_LOCKED', message: 'locked until 10:15' })
    const e = await call(commands.login('admin', 'pw')).catch((x: unknown) => x)
    expect(isApiError(e, 'ACCOUNT_LOCKED')).toBe(true)
    expect(errorMessage(e)).toBe('locked until 10:15')
  })

  it('lets a runtime failure of invoke through unchanged', async () => {
    vi.mocked(invoke).mockRejectedValueOnce(new TypeError('no IPC'))
    await expect(call(commands.venueOverview())).rejects.toThrow(TypeError)
  })
})
