import type { Command } from 'commander'
import { generateKey, readKeyFile, writeKeyFile } from '../../keys/index.ts'
import type { CliContext } from '../context.ts'
import { eprintln, println } from '../output.ts'

export function registerKeyCommands (program: Command, context: CliContext): void {
  program.command('keygen')
    .description('create an ed25519 key and print its key id (a garden\'s key id is its peer id)')
    .option('--out <file>', 'write the key to FILE with mode 0600 (never overwrites); without it the PEM goes to stdout')
    .action(async (options: { out?: string }) => {
      const key = generateKey()
      if (options.out == null) {
        context.io.out(key.toPem())
        eprintln(context.io, key.id)
        return
      }
      await writeKeyFile(options.out, key)
      println(context.io, key.id)
    })

  program.command('key-id')
    .description('print the key id of a key file')
    .argument('<file>', 'PEM key file written by `sower keygen`')
    .action(async (file: string) => {
      println(context.io, (await readKeyFile(file)).id)
    })
}
