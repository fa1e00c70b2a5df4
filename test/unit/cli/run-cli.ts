import { main } from '../../../src/cli/index.ts'

export interface CliRun {
  status: number
  out: string
  err: string
}

/** Runs `sower` in this process with captured output. */
export async function runCli (args: string[], init: { env?: NodeJS.ProcessEnv, nowMs?: () => number } = {}): Promise<CliRun> {
  let out = ''
  let err = ''
  const status = await main(args, {
    io: { out: text => { out += text }, err: text => { err += text }, isTty: false },
    env: init.env ?? {},
    ...(init.nowMs == null ? {} : { nowMs: init.nowMs })
  })
  return { status, out, err }
}
