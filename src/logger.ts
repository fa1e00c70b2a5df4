import { pino } from 'pino'
import type { Logger } from 'pino'

export type { Logger }

/**
 * Creates the root logger of a process. Output is one JSON object per line
 * on stderr, so stdout stays free for command output. `SOWER_LOG_LEVEL`
 * overrides the level (`trace`, `debug`, `info`, `warn`, `error`, `silent`).
 *
 * Logging policy: starts, stops, retries and every caught error are logged
 * with the ids involved (peer id, record id, deployment id). Key material,
 * signatures and record payloads are never logged.
 */
export function createLogger (name: string, level?: string): Logger {
  return pino({
    name,
    level: process.env.SOWER_LOG_LEVEL ?? level ?? 'info',
    base: { pid: process.pid }
  }, pino.destination({ fd: 2, sync: false }))
}

/** A logger that drops everything, for tests and library callers. */
export function silentLogger (): Logger {
  return pino({ level: 'silent' })
}
