import type { Command } from 'commander'
import { isKeyId } from '../../keys/index.ts'
import { GARDEN_ROLES, parseRecord } from '../../records/index.ts'
import type { GardenSummary } from '../../store/index.ts'
import { InvalidInputError } from '../../errors.ts'
import { NotFoundError, writeRecordsBundle } from '../../garden/index.ts'
import { withNode } from '../context.ts'
import type { CliContext } from '../context.ts'
import { parseTimeFromNow } from '../duration.ts'
import { UsageError } from '../errors.ts'
import { println } from '../output.ts'
import type { Io } from '../output.ts'
import type { PublishOutcome } from '../../garden/index.ts'

const DEFAULT_CERTIFICATE_EXPIRY = '1y'
const CONFIG_HELP = 'node config (default: $SOWER_CONFIG or /etc/sower/config.json)'

function collect (value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

export function registerEnrollCommands (program: Command, context: CliContext): void {
  program.command('enroll')
    .description('sign a certificate that makes a peer a member of the fleet, and publish it')
    .argument('<peer-id>', 'the garden\'s key id; print it on the garden with `sower key-id NODE_KEY_FILE`')
    .requiredOption('--name <name>', 'the garden\'s name in targets, status and the web view')
    .option('--tag <tag>', 'a tag that targets can select (tag:<tag>), repeatable', collect, [])
    .option('--role <role>', `a role: ${GARDEN_ROLES.join(', ')}; repeatable (default: garden)`, collect, [])
    .option('--expires <duration>', 'when the certificate expires: a duration such as 1y or 90d, or a UTC date', DEFAULT_CERTIFICATE_EXPIRY)
    .option('--signer <admin>', 'admin name or key id to sign with (default: the first admin key that may)')
    .option('--out <file>', 'also write the certificate as a bundle, for a garden that no peer reaches')
    .option('--config <file>', CONFIG_HELP)
    .action(async (peer: string, options: { name: string, tag: string[], role: string[], expires: string, signer?: string, out?: string, config?: string }) => {
      checkPeerId(peer)
      const roles = options.role.length === 0 ? ['garden'] : [...new Set(options.role)]
      const unknown = roles.find(role => !(GARDEN_ROLES as readonly string[]).includes(role))
      if (unknown != null) {
        throw new UsageError(`unknown role "${unknown}": use ${GARDEN_ROLES.join(', ')}`)
      }
      const body = {
        peer,
        name: options.name,
        roles: roles as Array<typeof GARDEN_ROLES[number]>,
        tags: [...new Set(options.tag)],
        expiresAt: parseTimeFromNow(options.expires, context.nowMs())
      }
      await withNode(context, options.config, { network: false }, async ({ api, config }) => {
        const outcome = await api.sign({ type: 'certificate', body, ...(options.signer == null ? {} : { signer: options.signer }) })
        println(context.io, `enrolled ${options.name} (${peer}): certificate ${outcome.id}, expires ${body.expiresAt}`)
        printDelivery(context.io, outcome, 'certificate')
        if (options.out != null) {
          await writeOut(options.out, config.fleet, outcome)
          println(context.io, `wrote the certificate to ${options.out}; import it on the garden with \`sower bundle import ${options.out}\``)
        }
      })
    })

  program.command('revoke')
    .description('sign a revocation that ends a garden\'s membership, and publish it')
    .argument('<garden>', 'the garden\'s peer id or name')
    .requiredOption('--reason <text>', 'why, kept in the record (e.g. "disk stolen")')
    .option('--signer <admin>', 'admin name or key id to sign with (default: the first admin key that may)')
    .option('--out <file>', 'also write the revocation as a bundle, for sites that no peer reaches')
    .option('--config <file>', CONFIG_HELP)
    .action(async (garden: string, options: { reason: string, signer?: string, out?: string, config?: string }) => {
      await withNode(context, options.config, { network: false }, async ({ api, config }) => {
        const peer = resolvePeer(garden, await api.gardens({}))
        const body = { peer, reason: options.reason }
        const outcome = await api.sign({ type: 'revocation', body, ...(options.signer == null ? {} : { signer: options.signer }) })
        println(context.io, `revoked ${peer}: revocation ${outcome.id}`)
        printDelivery(context.io, outcome, 'revocation')
        if (options.out != null) {
          await writeOut(options.out, config.fleet, outcome)
          println(context.io, `wrote the revocation to ${options.out}; import it with \`sower bundle import ${options.out}\``)
        }
      })
    })
}

function checkPeerId (peer: string): void {
  if (!isKeyId(peer)) {
    throw new InvalidInputError(`"${peer}" is not a garden's key id (12D3KooW...); print it on the garden with \`sower key-id NODE_KEY_FILE\``)
  }
}

/** Returns the peer id of a garden given by peer id or by name. */
export function resolvePeer (garden: string, gardens: GardenSummary[]): string {
  if (isKeyId(garden)) {
    return garden
  }
  const named = gardens.filter(summary => summary.name === garden)
  if (named.length === 1) {
    return named[0].peer
  }
  if (named.length > 1) {
    throw new UsageError(`${named.length} gardens are named ${garden}; give the peer id instead: ${named.map(summary => summary.peer).join(', ')}`)
  }
  throw new NotFoundError(`no garden is named ${garden}; \`sower status\` lists the gardens this node knows`)
}

/** Prints how a published record travels on. */
export function printDelivery (io: Io, outcome: PublishOutcome, what: string): void {
  if (!outcome.networked) {
    println(io, `the node is not running: the ${what} waits in its store and goes out when the node starts`)
  } else if (outcome.recipients === 0) {
    println(io, `no member is connected now: the ${what} goes out by sync when one connects`)
  } else {
    println(io, `sent to ${outcome.recipients} peer(s)`)
  }
}

async function writeOut (file: string, fleet: string, outcome: PublishOutcome): Promise<void> {
  const decoded = parseRecord(outcome.record)
  if (!decoded.ok) {
    throw decoded.error
  }
  await writeRecordsBundle(file, fleet, [decoded.record])
}
