import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  ConfigError, DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_DATA_DIR, DEFAULT_LISTEN_ADDRESSES, DEFAULT_RETENTION_MAX_AGE_DAYS,
  DEFAULT_RETENTION_MAX_RECORDS_PER_GARDEN, DEFAULT_TIME_ZONE, DEFAULT_WEB_HOST, DEFAULT_WEB_PORT, loadConfig, parseConfig
} from '../../../src/config/index.ts'
import { SYNC_BUDGET_BURST_BYTES, SYNC_BUDGET_REFILL_BYTES_PER_SEC } from '../../../src/network/options.ts'

const EXAMPLE_FILE = join(import.meta.dirname, '../../../fleet.example.json')
const FILE = '/etc/sower/fleet.json'
const PEER = '12D3KooWAmHsqKiEbrBet4LkfzQysroWrigPcFRbd2EVgKuuQNKh'

function minimal (extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { fleet: 'acme', root: 'root.json', nodeKey: 'keys/node.pem', ...extra }
}

function subscription (extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'os', seed: 'web-system', type: 'system', profile: '/nix/var/nix/profiles/system', ...extra }
}

function issuesOf (input: unknown): ConfigError['issues'] {
  try {
    parseConfig(input, FILE)
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err))
    return err.issues
  }
  assert.fail('expected a ConfigError')
}

describe('config example', () => {
  it('parses', async () => {
    const config = await loadConfig(EXAMPLE_FILE)
    assert.equal(config.fleet, 'acme')
    assert.deepEqual(config.subscriptions.map(entry => entry.type), ['system', 'service', 'home'])
  })

  it('has a maintenance window', async () => {
    const config = await loadConfig(EXAMPLE_FILE)
    assert.deepEqual(config.subscriptions[0].rules.maintenance.window?.days, ['sat', 'sun'])
  })

  it('accepts realtime for the service', async () => {
    const config = await loadConfig(EXAMPLE_FILE)
    assert.deepEqual(config.subscriptions[1].rules.realtime.triggers, ['realtime'])
  })

  it('confirms the home environment', async () => {
    const config = await loadConfig(EXAMPLE_FILE)
    assert.equal(config.subscriptions[2].rules.connect.confirm, true)
  })

  it('resolves paths next to the file', async () => {
    const config = await loadConfig(EXAMPLE_FILE)
    assert.equal(config.root, join(import.meta.dirname, '../../../root.json'))
    assert.equal(config.subscriptions[0].commands.healthCheck?.[0], join(import.meta.dirname, '../../../checks/web-up.sh'))
  })
})

describe('config defaults', () => {
  const config = parseConfig(minimal(), FILE)

  it('listen', () => assert.deepEqual(config.listen, DEFAULT_LISTEN_ADDRESSES))
  it('listen on every interface', () => assert.deepEqual(config.listen, ['/ip4/0.0.0.0/tcp/4710']))
  it('bootstrap', () => assert.deepEqual(config.bootstrap, []))
  it('admin keys', () => assert.deepEqual(config.adminKeys, []))
  it('data folder', () => assert.equal(config.dataDir, DEFAULT_DATA_DIR))
  it('web view', () => assert.deepEqual(config.web, { enabled: true, host: DEFAULT_WEB_HOST, port: DEFAULT_WEB_PORT }))
  it('web view on loopback', () => assert.equal(DEFAULT_WEB_HOST, '127.0.0.1'))
  it('clock', () => assert.deepEqual(config.clock, { reliable: true }))
  it('time zone', () => assert.equal(config.timeZone, DEFAULT_TIME_ZONE))
  it('nix', () => assert.deepEqual(config.nix, { backend: 'nix', storeRoot: '/', binaryCaches: [] }))
  it('retention', () => {
    assert.deepEqual(config.retention, {
      maxAgeDays: DEFAULT_RETENTION_MAX_AGE_DAYS,
      maxRecordsPerGarden: DEFAULT_RETENTION_MAX_RECORDS_PER_GARDEN
    })
  })
  it('subscriptions', () => assert.deepEqual(config.subscriptions, []))
  it('sync budget', () => {
    assert.deepEqual(config.sync, {
      budgetBurstBytes: SYNC_BUDGET_BURST_BYTES,
      budgetRefillBytesPerSec: SYNC_BUDGET_REFILL_BYTES_PER_SEC
    })
  })

  it('command timeout', () => {
    const parsed = parseConfig(minimal({ subscriptions: [subscription()] }), FILE)
    assert.equal(parsed.subscriptions[0].commands.timeoutMs, DEFAULT_COMMAND_TIMEOUT_MS)
  })

  it('plain store inside the data folder', () => {
    const parsed = parseConfig(minimal({ dataDir: 'state', nix: { backend: 'plain' } }), FILE)
    assert.equal(parsed.nix.storeRoot, '/etc/sower/state/store')
  })

  it('default policy without policy fields', () => {
    const parsed = parseConfig(minimal({ subscriptions: [subscription()] }), FILE)
    assert.deepEqual(Object.keys(parsed.subscriptions[0].rules).sort(), ['arrival', 'retry'])
  })
})

describe('config paths', () => {
  const config = parseConfig(minimal({
    root: '../roots/acme.json',
    adminKeys: ['/secure/alice.pem', 'keys/bob.pem'],
    dataDir: 'data',
    nix: { backend: 'nix', storeRoot: 'store', nixBinDir: 'nix/bin' },
    subscriptions: [subscription({
      profile: 'profiles/system',
      commands: { activate: ['./bin/activate', '--fast'], reboot: ['systemctl', 'reboot'], healthCheck: ['/bin/true'] }
    })]
  }), 'relative/../fleet.json')

  it('resolve the file', () => assert.equal(config.file, join(process.cwd(), 'fleet.json')))
  it('resolve the root', () => assert.equal(config.root, join(process.cwd(), '../roots/acme.json')))
  it('resolve the node key', () => assert.equal(config.nodeKey, join(process.cwd(), 'keys/node.pem')))
  it('keep absolute paths', () => assert.equal(config.adminKeys[0], '/secure/alice.pem'))
  it('resolve admin keys', () => assert.equal(config.adminKeys[1], join(process.cwd(), 'keys/bob.pem')))
  it('resolve the data folder', () => assert.equal(config.dataDir, join(process.cwd(), 'data')))
  it('resolve the store root', () => assert.equal(config.nix.storeRoot, join(process.cwd(), 'store')))
  it('resolve the nix folder', () => assert.equal(config.nix.nixBinDir, join(process.cwd(), 'nix/bin')))
  it('resolve profiles', () => assert.equal(config.subscriptions[0].profile, join(process.cwd(), 'profiles/system')))
  it('resolve relative programs', () => {
    assert.deepEqual(config.subscriptions[0].commands.activate, [join(process.cwd(), 'bin/activate'), '--fast'])
  })
  it('keep bare programs for PATH', () => assert.deepEqual(config.subscriptions[0].commands.reboot, ['systemctl', 'reboot']))
  it('keep absolute programs', () => assert.deepEqual(config.subscriptions[0].commands.healthCheck, ['/bin/true']))
})

describe('config freezing', () => {
  const config = parseConfig(minimal({ subscriptions: [subscription({ window: { start: '22:00', end: '06:00' } })] }), FILE)

  it('freezes the top', () => assert.equal(Object.isFrozen(config), true))
  it('freezes nested objects', () => assert.equal(Object.isFrozen(config.web), true))
  it('freezes lists', () => assert.equal(Object.isFrozen(config.listen), true))
  it('freezes rules', () => assert.equal(Object.isFrozen(config.subscriptions[0].rules.window.window?.days), true))
  it('rejects writes', () => {
    assert.throws(() => { (config as any).fleet = 'other' }, TypeError)
  })
})

const invalidCases: Array<{ name: string, input: unknown, path: string, message: RegExp }> = [
  { name: 'a list', input: [], path: '', message: /expected object, received array/ },
  { name: 'missing fleet', input: { root: 'r', nodeKey: 'k' }, path: 'fleet', message: /expected string, received undefined/ },
  { name: 'a bad fleet name', input: minimal({ fleet: 'my fleet' }), path: 'fleet', message: /expected letters, digits/ },
  { name: 'an unknown field', input: minimal({ lisen: [] }), path: 'lisen', message: /^unknown field$/ },
  { name: 'a NUL in a path', input: minimal({ nodeKey: 'keys/\0node.pem' }), path: 'nodeKey', message: /NUL/ },
  { name: 'an empty path', input: minimal({ root: '' }), path: 'root', message: /Too small/ },
  { name: 'no listen address', input: minimal({ listen: [] }), path: 'listen', message: /Too small/ },
  { name: 'a bad multiaddr', input: minimal({ listen: ['/ip4/999.0.0.1/tcp/1'] }), path: 'listen.0', message: /invalid multiaddr \/ip4\/999.0.0.1\/tcp\/1: Invalid IPv4 address/ },
  { name: 'a host:port address', input: minimal({ listen: ['0.0.0.0:4710'] }), path: 'listen.0', message: /invalid multiaddr/ },
  { name: 'a listen address with a peer id', input: minimal({ listen: [`/ip4/0.0.0.0/tcp/4710/p2p/${PEER}`] }), path: 'listen.0', message: /expected \/ip4\/<address>\/tcp\/<port>/ },
  { name: 'a UDP listen address', input: minimal({ listen: ['/ip4/0.0.0.0/udp/4710'] }), path: 'listen.0', message: /expected \/ip4/ },
  { name: 'a bootstrap address without peer id', input: minimal({ bootstrap: ['/ip4/192.0.2.1/tcp/4710'] }), path: 'bootstrap.0', message: /\/p2p\/<peer id>/ },
  { name: 'an RSA bootstrap peer', input: minimal({ bootstrap: ['/ip4/192.0.2.1/tcp/4710/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N'] }), path: 'bootstrap.0', message: /not the peer id of an ed25519 key/ },
  { name: 'a public web view without token', input: minimal({ web: { host: '0.0.0.0' } }), path: 'web.token', message: /needs a token of at least 16 characters/ },
  { name: 'a LAN web view without token', input: minimal({ web: { host: '192.168.1.5' } }), path: 'web.token', message: /needs a token/ },
  { name: 'a short web token', input: minimal({ web: { token: 'secret' } }), path: 'web.token', message: /Too small/ },
  { name: 'a web token with a space', input: minimal({ web: { token: 'correct horse battery' } }), path: 'web.token', message: /printable ASCII without spaces/ },
  { name: 'a web URL as host', input: minimal({ web: { host: 'http://127.0.0.1' } }), path: 'web.host', message: /expected an IP address or host name/ },
  { name: 'a bracketed IPv6 host', input: minimal({ web: { host: '[::1]' } }), path: 'web.host', message: /without brackets/ },
  { name: 'a web port above 65535', input: minimal({ web: { port: 70000 } }), path: 'web.port', message: /Too big/ },
  { name: 'a string clock flag', input: minimal({ clock: { reliable: 'no' } }), path: 'clock.reliable', message: /expected boolean/ },
  { name: 'an unknown time zone', input: minimal({ timeZone: 'Mars/Base' }), path: 'timeZone', message: /unknown time zone "Mars\/Base"/ },
  { name: 'an offset as time zone', input: minimal({ timeZone: '+02:00' }), path: 'timeZone', message: /unknown time zone/ },
  { name: 'an unknown backend', input: minimal({ nix: { backend: 'docker' } }), path: 'nix.backend', message: /Invalid option/ },
  { name: 'an FTP binary cache', input: minimal({ nix: { binaryCaches: ['ftp://cache.example'] } }), path: 'nix.binaryCaches.0', message: /expected an http:\/\/, https:\/\/ or file:\/\/ URL/ },
  { name: 'zero retention days', input: minimal({ retention: { maxAgeDays: 0 } }), path: 'retention.maxAgeDays', message: /Too small/ },
  { name: 'fractional retention', input: minimal({ retention: { maxRecordsPerGarden: 10.5 } }), path: 'retention.maxRecordsPerGarden', message: /expected int/ },
  { name: 'a negative sync burst', input: minimal({ sync: { budgetBurstBytes: -1 } }), path: 'sync.budgetBurstBytes', message: /^-1 is negative: use a whole number of bytes of at least 1, or leave the field out for the default 67108864$/ },
  { name: 'a zero sync burst', input: minimal({ sync: { budgetBurstBytes: 0 } }), path: 'sync.budgetBurstBytes', message: /^0 would stop this node from serving sync to any peer: use a whole number of bytes of at least 1/ },
  { name: 'a fractional sync burst', input: minimal({ sync: { budgetBurstBytes: 1024.5 } }), path: 'sync.budgetBurstBytes', message: /^1024\.5 is not a whole number: use a whole number of bytes/ },
  { name: 'a sync burst as a string', input: minimal({ sync: { budgetBurstBytes: '64MiB' } }), path: 'sync.budgetBurstBytes', message: /^expected a number, got "64MiB": use a whole number of bytes/ },
  { name: 'a negative sync refill', input: minimal({ sync: { budgetRefillBytesPerSec: -4096 } }), path: 'sync.budgetRefillBytesPerSec', message: /^-4096 is negative: use a whole number of bytes per second of at least 1, or leave the field out for the default 4194304$/ },
  { name: 'a zero sync refill', input: minimal({ sync: { budgetRefillBytesPerSec: 0 } }), path: 'sync.budgetRefillBytesPerSec', message: /^0 would stop this node from serving sync to a peer for good once the peer has drawn its burst: / },
  { name: 'a fractional sync refill', input: minimal({ sync: { budgetRefillBytesPerSec: 0.5 } }), path: 'sync.budgetRefillBytesPerSec', message: /^0\.5 is not a whole number: use a whole number of bytes per second/ },
  { name: 'an unsafe sync refill', input: minimal({ sync: { budgetRefillBytesPerSec: 2 ** 60 } }), path: 'sync.budgetRefillBytesPerSec', message: /is larger than 9007199254740991/ },
  { name: 'an unknown sync field', input: minimal({ sync: { intervalMs: 1000 } }), path: 'sync.intervalMs', message: /^unknown field$/ },
  { name: 'a subscription without seed', input: minimal({ subscriptions: [subscription({ seed: undefined })] }), path: 'subscriptions.0.seed', message: /expected string, received undefined/ },
  { name: 'an unknown seed type', input: minimal({ subscriptions: [subscription({ type: 'vm' })] }), path: 'subscriptions.0.type', message: /Invalid option/ },
  { name: 'a misspelt shorthand', input: minimal({ subscriptions: [subscription({ acceptRealTime: true })] }), path: 'subscriptions.0.acceptRealTime', message: /^unknown field$/ },
  { name: 'a bad window zone', input: minimal({ subscriptions: [subscription(), subscription({ name: 'b', profile: '/p/b', window: { start: '02:00', end: '04:00', zone: 'Mars/Base' } })] }), path: 'subscriptions.1.window.zone', message: /unknown time zone "Mars\/Base"/ },
  { name: 'an unknown window field', input: minimal({ subscriptions: [subscription({ window: { start: '02:00', end: '04:00', tz: 'UTC' } })] }), path: 'subscriptions.0.window.tz', message: /unknown field "tz" in window/ },
  { name: 'an unknown action', input: minimal({ subscriptions: [subscription({ policy: { nightly: { actions: ['deploy'], triggers: ['schedule'] } } })] }), path: 'subscriptions.0.policy.nightly.actions.0', message: /unknown action "deploy"/ },
  { name: 'policy with a shorthand', input: minimal({ subscriptions: [subscription({ policy: {}, acceptRealtime: true })] }), path: 'subscriptions.0.acceptRealtime', message: /cannot be combined with "policy"/ },
  { name: 'a service without restart', input: minimal({ subscriptions: [subscription({ type: 'service' })] }), path: 'subscriptions.0.commands.restart', message: /needs the command that restarts its service/ },
  { name: 'a command as a string', input: minimal({ subscriptions: [subscription({ commands: { activate: 'switch now' } })] }), path: 'subscriptions.0.commands.activate', message: /expected array, received string/ },
  { name: 'an empty program', input: minimal({ subscriptions: [subscription({ commands: { healthCheck: [''] } })] }), path: 'subscriptions.0.commands.healthCheck', message: /program name cannot be empty/ },
  { name: 'an empty command', input: minimal({ subscriptions: [subscription({ type: 'service', commands: { restart: [] } })] }), path: 'subscriptions.0.commands.restart', message: /expected the program and its arguments/ },
  { name: 'an unknown command', input: minimal({ subscriptions: [subscription({ commands: { switch: ['x'] } })] }), path: 'subscriptions.0.commands.switch', message: /^unknown field$/ },
  { name: 'a short timeout', input: minimal({ subscriptions: [subscription({ commands: { timeoutMs: 10 } })] }), path: 'subscriptions.0.commands.timeoutMs', message: /Too small/ },
  { name: 'two subscriptions with one name', input: minimal({ subscriptions: [subscription(), subscription({ profile: '/p/2' })] }), path: 'subscriptions.1.name', message: /subscriptions 0 and 1 have the same name os/ },
  { name: 'two subscriptions with one profile', input: minimal({ subscriptions: [subscription(), subscription({ name: 'b' })] }), path: 'subscriptions.1.profile', message: /have the same profile/ }
]

describe('invalid config', () => {
  for (const testCase of invalidCases) {
    it(`rejects ${testCase.name}`, () => {
      const issues = issuesOf(testCase.input)
      const issue = issues.find(candidate => candidate.path === testCase.path)
      assert.ok(issue != null, `no issue at "${testCase.path}": ${JSON.stringify(issues)}`)
      assert.match(issue.message, testCase.message)
    })
  }

  it('accepts a sync budget', () => {
    const parsed = parseConfig(minimal({ sync: { budgetBurstBytes: 1, budgetRefillBytesPerSec: 1_048_576 } }), FILE)
    assert.equal(parsed.sync.budgetBurstBytes, 1)
    assert.equal(parsed.sync.budgetRefillBytesPerSec, 1_048_576)
  })

  it('accepts a disabled public web view without token', () => {
    assert.doesNotThrow(() => parseConfig(minimal({ web: { enabled: false, host: '0.0.0.0' } }), FILE))
  })

  it('accepts a public web view with a token', () => {
    assert.doesNotThrow(() => parseConfig(minimal({ web: { host: '0.0.0.0', token: '0123456789abcdef' } }), FILE))
  })

  for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) {
    it(`serves ${host} without a token`, () => {
      assert.equal(parseConfig(minimal({ web: { host } }), FILE).web.host, host)
    })
  }

  it('lists every issue at once', () => {
    const issues = issuesOf(minimal({
      fleet: 'bad fleet',
      web: { port: -1 },
      subscriptions: [subscription({ window: { start: '25:00', end: '04:00' } })]
    }))
    assert.deepEqual(issues.map(issue => issue.path).sort(), ['fleet', 'subscriptions.0.window.start', 'web.port'])
  })

  it('names the file and paths in its message', () => {
    assert.throws(() => parseConfig(minimal({ timeZone: 'Mars/Base', web: { port: -1 } }), FILE), (err: any) => {
      assert.equal(err.name, 'ConfigError')
      assert.equal(err.code, 'ERR_CONFIG')
      assert.equal(err.file, FILE)
      assert.match(err.message, /^invalid config file \/etc\/sower\/fleet.json:\n/)
      assert.match(err.message, /\n {2}web\.port: Too small/)
      assert.match(err.message, /\n {2}timeZone: unknown time zone "Mars\/Base"/)
      return true
    })
  })
})

describe('config files', () => {
  let folder: string

  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'sower-config-'))
  })

  afterEach(async () => {
    await rm(folder, { recursive: true, force: true })
  })

  async function loadError (contents: string | Uint8Array): Promise<ConfigError> {
    const file = join(folder, 'fleet.json')
    await writeFile(file, contents)
    try {
      await loadConfig(file)
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err))
      return err
    }
    assert.fail('expected a ConfigError')
  }

  it('resolves against the file folder', async () => {
    const file = join(folder, 'fleet.json')
    await writeFile(file, JSON.stringify(minimal()))
    assert.equal((await loadConfig(file)).nodeKey, join(folder, 'keys/node.pem'))
  })

  it('reports a missing file', async () => {
    await assert.rejects(loadConfig(join(folder, 'absent.json')), { code: 'ERR_CONFIG', message: /cannot read the file: ENOENT/ })
  })

  it('reports invalid JSON', async () => {
    const error = await loadError('{"fleet": "acme",}')
    assert.match(error.message, /not UTF-8 JSON: .*line 1 column 18/)
  })

  it('reports non-UTF-8 bytes', async () => {
    const error = await loadError(Uint8Array.from([0x7b, 0xff, 0x7d]))
    assert.match(error.message, /not UTF-8 JSON/)
  })

  it('rejects an oversized file', async () => {
    const error = await loadError(' '.repeat(1024 * 1024 + 1))
    assert.match(error.message, /more than the limit of 1048576/)
  })
})
