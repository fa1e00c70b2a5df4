/**
 * Runs the benchmarks one after another, each in its own process so that
 * one's memory and handles never skew the next. With names, runs only
 * those; any argument after `--` goes to every benchmark.
 *
 *   npm run bench                    # network, transfer, store, web
 *   npm run bench -- web store       # only these
 *
 * Numbers and the machine they ran on are recorded in docs/BENCHMARKS.md.
 */
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

const BENCHMARKS = ['network', 'transfer', 'store', 'web'] as const
type Benchmark = typeof BENCHMARKS[number]

const separator = process.argv.indexOf('--')
const names = (separator === -1 ? process.argv.slice(2) : process.argv.slice(2, separator))
const extra = separator === -1 ? [] : process.argv.slice(separator + 1)
const unknown = names.filter(name => !(BENCHMARKS as readonly string[]).includes(name))
if (unknown.length > 0) {
  console.error(`error: unknown benchmark ${unknown.join(', ')}; choose from ${BENCHMARKS.join(', ')}`)
  process.exit(2)
}

const selected: readonly Benchmark[] = names.length > 0 ? names as Benchmark[] : BENCHMARKS
let failed = 0
for (const name of selected) {
  console.log(`\n== ${name} ==`)
  const script = join(import.meta.dirname, `bench-${name}.ts`)
  const run = spawnSync(process.execPath, [script, ...extra], { stdio: 'inherit' })
  if (run.status !== 0) {
    console.error(`benchmark ${name} failed with ${run.signal ?? `exit status ${String(run.status)}`}`)
    failed++
  }
}
process.exit(failed === 0 ? 0 : 1)
