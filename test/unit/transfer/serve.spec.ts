import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Release } from '../../../src/records/index.ts'
import { CLOSURE_REQUEST_MAX_PATHS } from '../../../src/transfer/index.ts'
import type { ClosureHeader } from '../../../src/transfer/index.ts'
import { closureHeaderSchema, frameStream, readFrame, writeFrame } from '../../../src/transfer/protocol.ts'
import { createTestFleet } from '../../utils/fleet.ts'
import type { TestFleet } from '../../utils/fleet.ts'
import { buildSampleRelease, stallingExports } from './fixtures.ts'
import type { ExportCall } from './fixtures.ts'
import { createBackend, Gardens, waitUntil } from './harness.ts'
import type { Garden, GardenInit } from './harness.ts'

const UNKNOWN_PATH = '/nix/store/00000000000000000000000000000000-unknown'

/** Sends one request frame (a value, or raw bytes) from `client` to `server` and returns the header. */
async function request (client: Garden, server: Garden, frame: unknown): Promise<ClosureHeader> {
  const stream = await client.node.dialProtocol(server.node.peerId, server.transfer.protocol)
  try {
    const frames = frameStream(stream)
    if (frame instanceof Uint8Array) {
      await frames.write(frame)
    } else {
      await writeFrame(frames, frame as never)
    }
    return await readFrame(frames, closureHeaderSchema, 5_000)
  } finally {
    stream.abort(new Error('request done'))
  }
}

describe('closure protocol server', function () {
  this.timeout(30_000)
  const gardens = new Gardens()
  const releases: AbortController[] = []
  let scratch: string
  let template: string
  let release: Release
  let fleet: TestFleet

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'sower-serve-'))
    template = join(scratch, 'store')
    release = await buildSampleRelease(createBackend('plain', template), scratch, 64 * 1024)
  })

  after(async () => {
    await rm(scratch, { recursive: true, force: true })
  })

  beforeEach(() => {
    fleet = createTestFleet({ members: 3 })
  })

  afterEach(async () => {
    releases.splice(0).forEach(controller => { controller.abort() })
    await gardens.stopAll()
  })

  async function pair (serverInit: Partial<GardenInit> = {}): Promise<{ server: Garden, client: Garden }> {
    const server = await gardens.start(fleet, {
      name: 'server', key: fleet.members[0].key, backend: 'plain', storeTemplate: template, ...serverInit
    })
    const client = await gardens.start(fleet, {
      name: 'client', key: fleet.members[1].key, backend: 'plain', bootstrap: server.node.getMultiaddrs()
    })
    await waitUntil(() => client.node.connectedMembers().length === 1, 10_000, 'connection')
    return { server, client }
  }

  it('lists the requested paths it holds', async () => {
    const { server, client } = await pair()

    const header = await request(client, server, { paths: [UNKNOWN_PATH, release.storePath], export: false })

    assert.deepEqual(header, { status: 'ok', paths: [release.storePath] })
  })

  const invalid: Array<{ name: string, frame: unknown, reason: RegExp }> = [
    { name: 'too many paths', frame: { paths: Array(CLOSURE_REQUEST_MAX_PATHS + 1).fill(UNKNOWN_PATH), export: false }, reason: /paths/ },
    { name: 'an invalid store path', frame: { paths: ['/nix/store/../../etc/passwd'], export: true }, reason: /nix\/store/ },
    { name: 'no paths', frame: { paths: [], export: true }, reason: /paths/ },
    { name: 'an unknown field', frame: { paths: [UNKNOWN_PATH], export: true, all: true }, reason: /all/ },
    { name: 'a frame that is not JSON', frame: new TextEncoder().encode('{paths'), reason: /not UTF-8 JSON/ }
  ]
  for (const { name, frame, reason } of invalid) {
    it(`rejects ${name}`, async () => {
      const { server, client } = await pair()

      const header = await request(client, server, frame)

      assert.equal(header.status, 'invalid')
      assert.match((header as { reason: string }).reason, reason)
    })
  }

  it('replies busy when every slot is taken', async () => {
    const released = new AbortController()
    releases.push(released)
    const calls: ExportCall[] = []
    const { server, client } = await pair({
      wrap: backend => stallingExports(backend, { fullExports: 0, released: released.signal, calls }),
      transfer: { maxConcurrentServes: 1 }
    })
    const first = await client.node.dialProtocol(server.node.peerId, server.transfer.protocol)
    await writeFrame(frameStream(first), { paths: [release.storePath], export: true })
    await waitUntil(() => server.transfer.activeServes === 1, 5_000, 'first export running')

    const busy = await request(client, server, { paths: [release.storePath], export: true })
    const query = await request(client, server, { paths: [release.storePath], export: false })

    assert.deepEqual(busy, { status: 'busy' })
    assert.deepEqual(query, { status: 'ok', paths: [release.storePath] })
    first.abort(new Error('done'))
    await waitUntil(() => server.transfer.activeServes === 0, 5_000, 'export released after the caller left')
  })

  it('ends its exports on stop', async () => {
    const released = new AbortController()
    releases.push(released)
    const calls: ExportCall[] = []
    const { server, client } = await pair({
      wrap: backend => stallingExports(backend, { fullExports: 0, released: released.signal, calls })
    })
    const stream = await client.node.dialProtocol(server.node.peerId, server.transfer.protocol)
    await writeFrame(frameStream(stream), { paths: [release.storePath], export: true })
    await waitUntil(() => server.transfer.activeServes === 1, 5_000, 'export running')

    await server.transfer.stop()

    await waitUntil(() => server.transfer.activeServes === 0, 5_000, 'export ended')
    await waitUntil(() => stream.status !== 'open', 5_000, 'stream closed')
  })
})
