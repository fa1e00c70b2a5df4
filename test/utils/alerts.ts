import { deploymentId, forkFields, signRecord } from '../../src/records/index.ts'
import type { AlertBody, ForkPair, SignedRecord } from '../../src/records/index.ts'
import type { SigningKey } from '../../src/keys/index.ts'
import { iso } from './fleet.ts'

/** Signs a report of `key` at `seq`; `agentVersion` distinguishes two reports at one position. */
export function reportAt (fleet: string, key: SigningKey, seq: number, prev: string | null,
  agentVersion = '1.0.0', issuedAtMs = Date.now()): SignedRecord<'report'> {
  return signRecord('report', {
    fleet,
    author: key.id,
    seq,
    prev,
    issuedAt: iso(issuedAtMs),
    agentVersion,
    addresses: [],
    subscriptions: [],
    profiles: []
  }, [key])
}

/** Signs two reports of `key` at seq 1: a fork. */
export function forkOf (fleet: string, key: SigningKey): [SignedRecord<'report'>, SignedRecord<'report'>] {
  return [reportAt(fleet, key, 1, null, '1.0.0'), reportAt(fleet, key, 1, null, '6.6.6')]
}

/** Builds the body of a first alert by `reporter` that carries `pair` as evidence. */
export function alertBody (fleet: string, reporter: SigningKey, pair: ForkPair, issuedAtMs = Date.now()): AlertBody {
  const fields = forkFields(pair[0], pair[1])
  if (fields == null) {
    throw new Error(`records ${pair[0].id} and ${pair[1].id} are no fork`)
  }
  return { fleet, author: reporter.id, seq: 1, prev: null, issuedAt: iso(issuedAtMs), kind: 'fork', ...fields }
}

/** Signs an alert by `reporter`; `change` edits the body before signing, to build bad evidence. */
export function signAlert (fleet: string, reporter: SigningKey, pair: ForkPair,
  change: (body: AlertBody) => void = () => {}): SignedRecord<'alert'> {
  const body = alertBody(fleet, reporter, pair)
  change(body)
  return signRecord('alert', body, [reporter])
}

/**
 * Signs an event of `key` at `seq` whose `detail` pads its envelope to
 * exactly `bytes`. Without `prev`, an event after seq 1 names a made-up record.
 */
export function eventOfSize (fleet: string, key: SigningKey, seq: number, bytes: number, label: string,
  prev: string | null = seq === 1 ? null : 'rep_' + 'b'.repeat(52)): SignedRecord<'event'> {
  const intent = 'int_' + 'a'.repeat(52)
  const body = {
    fleet,
    author: key.id,
    seq,
    prev,
    issuedAt: '2026-03-01T09:00:00.000Z',
    deployment: deploymentId(intent, 'web', key.id),
    intent,
    seed: 'web',
    kind: 'received' as const,
    detail: { label } as Record<string, string>
  }
  // Each entry costs its name, its value and 6 bytes of quotes, colon and comma. The label takes the rest.
  let missing = bytes - signRecord('event', body, [key]).bytes.byteLength
  for (let index = 0; missing > 4000; index++) {
    const name = `k${index}`
    const length = Math.min(4096, missing - 2000)
    body.detail[name] = 'x'.repeat(length)
    missing -= name.length + length + 6
  }
  while (missing !== 0) {
    const text = body.detail.label
    body.detail.label = missing > 0 ? text + 'x'.repeat(missing) : text.slice(0, text.length + missing)
    missing = bytes - signRecord('event', body, [key]).bytes.byteLength
  }
  const record = signRecord('event', body, [key])
  if (record.bytes.byteLength !== bytes) {
    throw new Error(`padding made ${record.bytes.byteLength} bytes, not ${bytes}`)
  }
  return record
}
