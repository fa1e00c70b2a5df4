import { Command, CommanderError, Help } from 'commander'
import type { Option } from 'commander'
import { SowerError } from '../errors.ts'
import { SOWER_VERSION } from '../garden/version.ts'
import { registerBundleCommands } from './commands/bundle.ts'
import { registerDemoCommand } from './commands/demo.ts'
import { registerDeployCommands } from './commands/deploy.ts'
import { registerEnrollCommands } from './commands/enroll.ts'
import { registerKeyCommands } from './commands/keys.ts'
import { registerNodeCommand } from './commands/node.ts'
import { registerPolicyCommands } from './commands/policy.ts'
import { registerRootCommands } from './commands/root.ts'
import { registerStatusCommand } from './commands/status.ts'
import { registerWebCommand } from './commands/web.ts'
import type { CliContext } from './context.ts'
import { EXIT, exitStatusFor } from './exit-codes.ts'
import type { ExitStatus } from './exit-codes.ts'
import { eprintln, processIo } from './output.ts'
import type { Io } from './output.ts'

export { EXIT, exitStatusFor } from './exit-codes.ts'
export type { CliContext } from './context.ts'

const DESCRIPTION = `Deploy Nix closures to a fleet of machines with no central server.

Commands that talk to a node take --config FILE (default: $SOWER_CONFIG, else
/etc/sower/config.json). They use the node's control socket when the node
runs, and open its data folder directly when it does not.`

const EXIT_HELP = `
Exit status: 0 success, 1 unexpected error, 2 invalid command line,
3 invalid file or value, 4 rejected by the fleet's trust, 5 not found,
6 node, store or Nix unavailable, 7 a deployment did not succeed everywhere,
8 timed out, 130 interrupted. docs/OPERATIONS.md lists them.`

export interface MainInit {
  io?: Io
  env?: NodeJS.ProcessEnv
  nowMs?: () => number
  signal?: AbortSignal
}

/** Builds the `sower` command with every subcommand; actions run against `context`. */
export function buildProgram (context: CliContext, flags: { verbose: boolean }): Command {
  const program = new Command('sower')
    .description(DESCRIPTION)
    .version(SOWER_VERSION, '-V, --version', 'print the version')
    .option('-v, --verbose', 'log progress to stderr and print the stack of unexpected errors')
    .helpOption('-h, --help', 'show help for a command')
    .addHelpText('after', EXIT_HELP)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureHelp({ optionDescription: describeOption })
    .configureOutput({
      writeOut: text => { context.io.out(text) },
      writeErr: text => { context.io.err(text) }
    })
    .hook('preAction', command => {
      flags.verbose = command.optsWithGlobals().verbose === true
    })
  registerKeyCommands(program, context)
  registerRootCommands(program, context)
  registerEnrollCommands(program, context)
  registerNodeCommand(program, context)
  registerDeployCommands(program, context)
  registerStatusCommand(program, context)
  registerPolicyCommands(program, context)
  registerBundleCommands(program, context)
  registerWebCommand(program, context)
  registerDemoCommand(program, context)
  return program
}

const COMMANDER_HELP = new Help()

/**
 * Describes an option in help as commander does, but without the `[]`
 * default of a repeatable option, whose description names what applies when
 * it is not given. Subcommands inherit this from the program.
 */
function describeOption (option: Option): string {
  const text = COMMANDER_HELP.optionDescription(option)
  const isEmptyList = Array.isArray(option.defaultValue) && option.defaultValue.length === 0
  return isEmptyList ? text.replace(/ \(default: \[\]\)$/, '') : text
}

/**
 * Runs `sower` with `argv` (without the node and script paths) and returns
 * the exit status. Errors are printed as `error: <message>`; the stack of an
 * unexpected error only with `--verbose`.
 */
export async function main (argv: string[], init: MainInit = {}): Promise<ExitStatus> {
  const flags = { verbose: argv.includes('--verbose') || argv.includes('-v') }
  const context: CliContext = {
    io: init.io ?? processIo(),
    env: init.env ?? process.env,
    nowMs: init.nowMs ?? Date.now,
    verbose: () => flags.verbose,
    signal: init.signal ?? new AbortController().signal
  }
  const program = buildProgram(context, flags)
  try {
    await program.parseAsync(argv, { from: 'user' })
    return EXIT.ok
  } catch (err) {
    return reportError(context, err, flags.verbose)
  }
}

function reportError (context: CliContext, err: unknown, verbose: boolean): ExitStatus {
  if (err instanceof CommanderError) {
    // Commander has printed its message or the help already.
    const shown = ['commander.helpDisplayed', 'commander.version', 'commander.help']
    return shown.includes(err.code) || err.exitCode === 0 ? EXIT.ok : EXIT.usage
  }
  if (err instanceof SowerError) {
    eprintln(context.io, `error: ${err.message}`)
    if (verbose && err.cause != null) {
      eprintln(context.io, `cause: ${String((err.cause as Error).stack ?? err.cause)}`)
    }
    return exitStatusFor(err.code)
  }
  const message = err instanceof Error ? err.message : String(err)
  eprintln(context.io, `error: ${message}`)
  if (verbose) {
    eprintln(context.io, err instanceof Error && err.stack != null ? err.stack : '')
  } else {
    eprintln(context.io, 'this is unexpected: run the command again with --verbose to see where it failed, and report it')
  }
  return EXIT.unexpected
}
