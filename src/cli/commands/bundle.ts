import { resolve } from 'node:path'
import type { Command } from 'commander'
import type { BundleImportSummary } from '../../garden/index.ts'
import { withNode } from '../context.ts'
import type { CliContext } from '../context.ts'
import { parseTimeFromNow } from '../duration.ts'
import { printJson, println } from '../output.ts'
import type { Io } from '../output.ts'

const CONFIG_HELP = 'node config (default: $SOWER_CONFIG or /etc/sower/config.json)'

export function registerBundleCommands (program: Command, context: CliContext): void {
  const bundle = program.command('bundle').description('carry records (and closures) between nodes as a file')

  bundle.command('export')
    .description('write this node\'s records, and optionally closures, into a bundle file')
    .requiredOption('--out <file>', 'bundle file to create (never overwritten)')
    .option('--since <time>', 'only intents, reports, events and alerts issued since: a duration back (7d) or a UTC date; ' +
      'roots, certificates and revocations are always included')
    .option('--with-closures', 'add the closures of the exported deploy intents that the local store holds')
    .option('--json', 'print JSON for scripts')
    .option('--config <file>', CONFIG_HELP)
    .action(async (options: { out: string, since?: string, withClosures?: boolean, json?: boolean, config?: string }) => {
      const sinceIso = options.since == null ? undefined : parseTimeFromNow(options.since, context.nowMs(), -1)
      await withNode(context, options.config, { network: false }, async ({ api }) => {
        const summary = await api.exportBundle({
          file: resolve(options.out),
          ...(sinceIso == null ? {} : { sinceIso }),
          withClosures: options.withClosures === true
        })
        if (options.json === true) {
          printJson(context.io, summary)
          return
        }
        println(context.io, `wrote ${summary.records} records${options.withClosures === true ? ` and ${summary.closures} closures (${summary.closureBytes} bytes)` : ''} to ${options.out}`)
        if (summary.closuresMissing.length > 0) {
          println(context.io, `left out ${summary.closuresMissing.length} closures that this node's store lacks: ${summary.closuresMissing.join(', ')}`)
        }
      })
    })

  bundle.command('import')
    .description('import a bundle: every record passes the checks that gossip applies, closures are verified against signed manifests')
    .argument('<file>', 'bundle file written by `sower bundle export`')
    .option('--json', 'print JSON for scripts')
    .option('--config <file>', CONFIG_HELP)
    .action(async (file: string, options: { json?: boolean, config?: string }) => {
      await withNode(context, options.config, { network: false }, async ({ api, mode }) => {
        const summary = await api.importBundle({ file: resolve(file) })
        if (options.json === true) {
          printJson(context.io, summary)
          return
        }
        printImport(context.io, summary)
        if (mode !== 'control' && summary.accepted > 0) {
          println(context.io, 'the node is not running: deployments of imported intents start when it starts')
        }
      })
    })
}

function printImport (io: Io, summary: BundleImportSummary): void {
  println(io, `read ${summary.records} records from ${summary.file}: ${summary.accepted} new, ${summary.known} already known, ` +
    `${summary.ignored} ignored, ${summary.rejected} rejected`)
  for (const problem of summary.problems) {
    println(io, `  ${problem.id ?? 'unreadable record'}: ${problem.reason} (${problem.code})`)
  }
  const closures = summary.closuresImported.length + summary.closuresPresent.length + summary.closuresUnsigned.length
  if (closures > 0) {
    println(io, `closures: ${summary.closuresImported.length} imported, ${summary.closuresPresent.length} already present, ` +
      `${summary.closuresUnsigned.length} skipped because no signed intent lists them`)
  }
}
