import type { Command } from 'commander'
import { DateTime } from 'luxon'
import { loadConfig } from '../../config/index.ts'
import type { Config, SubscriptionConfig } from '../../config/index.ts'
import { NotFoundError } from '../../garden/index.ts'
import { TRIGGERS, evaluate, modeFor } from '../../policy/index.ts'
import type { Action, PolicyDecision, SeedType, Trigger } from '../../policy/index.ts'
import { configFileOf } from '../context.ts'
import type { CliContext } from '../context.ts'
import { InvalidDurationError, UsageError } from '../errors.ts'
import { printJson, println } from '../output.ts'

export interface Explanation {
  subscription: string
  seed: string
  type: SeedType
  trigger: Trigger
  at: string
  zone: string
  decision: Omit<PolicyDecision, 'waitForWindow'> & { waitForWindow: null | { action: Action, rule: string, confirm: boolean, opensAt: string } }
  /** Description of what the garden does now, in the words of the seed type's mode. */
  modeNow: string | null
  summary: string[]
}

export function registerPolicyCommands (program: Command, context: CliContext): void {
  const policy = program.command('policy').description('explain what a garden\'s policy decides')

  policy.command('explain')
    .description('show what a subscription\'s policy permits for a trigger at a time, and why')
    .option('--config <file>', 'the garden\'s config (default: $SOWER_CONFIG or /etc/sower/config.json)')
    .option('--subscription <name>', 'the subscription to evaluate')
    .option('--seed <seed>', 'the seed whose subscription to evaluate, instead of --subscription')
    .requiredOption('--trigger <trigger>', `how the intent arrived: ${TRIGGERS.join(', ')}`)
    .option('--at <time>', 'evaluation time, ISO 8601 with a zone or Z (default: now)')
    .option('--json', 'print JSON for scripts')
    .action(async (options: { config?: string, subscription?: string, seed?: string, trigger: string, at?: string, json?: boolean }) => {
      const config = await loadConfig(configFileOf(context, options.config))
      const subscription = findSubscription(config, options)
      const trigger = parseTrigger(options.trigger)
      const at = options.at == null ? new Date(context.nowMs()) : parseInstant(options.at)
      const explanation = explainPolicy(subscription, trigger, at, config.timeZone)
      if (options.json === true) {
        printJson(context.io, explanation)
        return
      }
      for (const line of explanation.summary) {
        println(context.io, line)
      }
    })
}

function findSubscription (config: Config, options: { subscription?: string, seed?: string }): SubscriptionConfig {
  const names = config.subscriptions.map(subscription => subscription.name).join(', ') || 'none'
  if ((options.subscription == null) === (options.seed == null)) {
    throw new UsageError(`give exactly one of --subscription NAME or --seed SEED (subscriptions in ${config.file}: ${names})`)
  }
  const matches = config.subscriptions.filter(subscription =>
    options.subscription != null ? subscription.name === options.subscription : subscription.seed === options.seed)
  if (matches.length === 0) {
    const what = options.subscription != null ? `subscription ${options.subscription}` : `subscription for seed ${options.seed ?? ''}`
    throw new NotFoundError(`${config.file} has no ${what}; its subscriptions: ${names}`)
  }
  if (matches.length > 1) {
    throw new UsageError(`several subscriptions deploy seed ${options.seed ?? ''} (${matches.map(match => match.name).join(', ')}); choose one with --subscription`)
  }
  return matches[0]
}

function parseTrigger (value: string): Trigger {
  if (!(TRIGGERS as readonly string[]).includes(value)) {
    throw new UsageError(`unknown trigger "${value}": use ${TRIGGERS.join(', ')}`)
  }
  return value as Trigger
}

function parseInstant (value: string): Date {
  const parsed = DateTime.fromISO(value, { setZone: true })
  if (!parsed.isValid || !/(Z|[+-]\d{2}:?\d{2})$/.test(value)) {
    throw new InvalidDurationError(value)
  }
  return parsed.toJSDate()
}

/** Evaluates a subscription's policy and explains the decision in words. */
export function explainPolicy (subscription: SubscriptionConfig, trigger: Trigger, at: Date, timeZone: string): Explanation {
  const decision = evaluate(subscription.rules, trigger, subscription.type, at, { zone: timeZone })
  const wait = decision.waitForWindow
  const explanation: Explanation = {
    subscription: subscription.name,
    seed: subscription.seed,
    type: subscription.type,
    trigger,
    at: at.toISOString(),
    zone: timeZone,
    decision: { ...decision, waitForWindow: wait == null ? null : { ...wait, opensAt: wait.opensAt.toISOString() } },
    modeNow: decision.action == null ? null : describeMode(decision.action, subscription.type),
    summary: []
  }
  explanation.summary = summarise(explanation, timeZone)
  return explanation
}

function describeMode (action: Action, type: SeedType): string {
  if (action === 'restart' && type === 'system') {
    return `${modeWords(modeFor(action, type, { bootChanged: false }).kind)}, or ` +
      `${modeWords(modeFor(action, type, { bootChanged: true }).kind)} when the kernel or initrd changed`
  }
  return modeWords(modeFor(action, type).kind)
}

function modeWords (kind: string): string {
  switch (kind) {
    case 'download-only': return 'download and verify only'
    case 'switch': return 'switch-to-configuration switch'
    case 'boot-and-reboot': return 'switch-to-configuration boot, then reboot'
    case 'restart-service': return 'restart the service'
    case 'run-activate': return 'run activate'
    default: return kind
  }
}

function summarise (explanation: Explanation, timeZone: string): string[] {
  const { decision } = explanation
  const lines = [
    `subscription ${explanation.subscription} (seed ${explanation.seed}, type ${explanation.type}), ` +
    `trigger ${explanation.trigger}, at ${explanation.at} (${localTime(explanation.at, timeZone)})`
  ]
  if (decision.denied) {
    lines.push(`policy denied: no rule permits anything for trigger ${explanation.trigger} now, and no window permits more later`)
    lines.push('a deployment that arrives this way ends with policy_denied')
    return lines
  }
  if (decision.action != null && decision.confirm) {
    lines.push(`confirmation required: rule ${decision.rule ?? '?'} permits ${decision.action}, which waits for a signed confirm ` +
      'intent (`sower confirm INTENT_ID`) or an operator on the garden')
    if (decision.stageNow) {
      lines.push('meanwhile the garden stages the closure (download and verify)')
    }
  } else if (decision.action != null) {
    lines.push(`${decision.action} now, permitted by rule ${decision.rule ?? '?'}: ${explanation.modeNow ?? ''}`)
  } else {
    lines.push('nothing now')
  }
  const wait = decision.waitForWindow
  if (wait != null) {
    const confirm = wait.confirm ? ', then waits for a confirmation' : ''
    lines.push(`waiting for window: ${wait.action} when the window of rule ${wait.rule} opens at ${wait.opensAt} ` +
      `(${localTime(wait.opensAt, timeZone)})${confirm}`)
  }
  return lines
}

function localTime (iso: string, zone: string): string {
  return `${DateTime.fromISO(iso, { zone }).toFormat('ccc HH:mm')} ${zone}`
}
