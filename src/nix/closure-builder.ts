import { chmod, copyFile, mkdir, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { InvalidPathSpecError } from './errors.ts'
import { isStorePath, storePathNameProblem } from './store-path.ts'
import type { EntrySpec, PathSpec, StoreBackend } from './types.ts'

/**
 * Builds store paths from declared entries, offline, on either backend:
 * Nix runs a `builtins.derivation` with `/bin/sh` as builder, the plain
 * backend writes the same tree itself. Both produce the same NAR for the
 * same spec. On top, builders for a NixOS-like `system` closure and a
 * `service` closure give tests and demo fleets real seeds.
 */

/** Maximum depth of an entry path, in path segments. */
const ENTRY_DEPTH_MAX = 16
const ENTRY_SEGMENT_PATTERN = /^[A-Za-z0-9._+=@,-]+$/

/** One entry of a checked spec, with its executable bit decided. */
export interface PlannedEntry {
  path: string
  executable: boolean
  text?: string
  symlink?: string
  file?: string
}

/** A checked spec: folders to create (parents first) and entries to write. */
export interface PathPlan {
  name: string
  directories: string[]
  entries: PlannedEntry[]
  references: string[]
}

/**
 * The Nix expression that builds a plan. It takes the plan as JSON, makes
 * the referenced paths inputs (so reference scanning can find them), passes
 * texts as files and runs a generated script with coreutils on PATH.
 */
export const NIX_BUILD_EXPRESSION = `{ specFile }:
let
  spec = builtins.fromJSON (builtins.readFile specFile);
  files = builtins.mapAttrs (key: file: builtins.path { path = /. + file; name = "input"; }) spec.files;
in
builtins.derivation ({
  name = spec.name;
  system = builtins.currentSystem;
  builder = "/bin/sh";
  args = [ "-e" "-c" spec.script ];
  PATH = "/usr/bin:/bin";
  inputs = map builtins.storePath spec.references;
  passAsFile = builtins.attrNames spec.texts;
} // spec.texts // spec.links // files)
`

/** Checks a spec and decides each entry's executable bit, reading the mode of file entries from disk. */
export async function planPath (spec: PathSpec): Promise<PathPlan> {
  const nameProblem = storePathNameProblem(spec.name)
  if (nameProblem !== null) {
    throw new InvalidPathSpecError(`invalid store path name "${spec.name}": ${nameProblem}`)
  }
  const paths = Object.keys(spec.entries).sort()
  if (paths.length === 0) {
    throw new InvalidPathSpecError(`spec ${spec.name} has no entries`)
  }
  const references = [...new Set(spec.references ?? [])].sort()
  const invalid = references.find(reference => !isStorePath(reference))
  if (invalid !== undefined) {
    throw new InvalidPathSpecError(`reference ${JSON.stringify(invalid)} of spec ${spec.name} is not a store path`)
  }
  const entries: PlannedEntry[] = []
  for (const path of paths) {
    checkEntryPath(spec.name, path, paths)
    entries.push(await planEntry(spec, path))
  }
  return { name: spec.name, directories: directoriesOf(paths), entries, references }
}

/** Writes a plan's tree at `destination`, which must not exist. */
export async function writePlan (plan: PathPlan, destination: string): Promise<void> {
  await mkdir(destination)
  for (const directory of plan.directories) {
    await mkdir(join(destination, directory))
  }
  for (const entry of plan.entries) {
    const target = join(destination, entry.path)
    if (entry.symlink !== undefined) {
      await symlink(entry.symlink, target)
      continue
    }
    if (entry.file !== undefined) {
      await copyFile(entry.file, target)
    } else {
      await writeFile(target, entry.text ?? '', { flag: 'wx' })
    }
    await chmod(target, entry.executable ? 0o555 : 0o444)
  }
}

/** Returns the JSON input of NIX_BUILD_EXPRESSION for a plan. */
export function nixBuildInput (plan: PathPlan): string {
  const texts: Record<string, string> = {}
  const links: Record<string, string> = {}
  const files: Record<string, string> = {}
  const script = ['mkdir "$out"', ...plan.directories.map(directory => `mkdir ${outPath(directory)}`)]
  plan.entries.forEach((entry, index) => {
    const target = outPath(entry.path)
    if (entry.symlink !== undefined) {
      links[`link${index}`] = entry.symlink
      script.push(`ln -s "$link${index}" ${target}`)
      return
    }
    if (entry.file !== undefined) {
      files[`file${index}`] = entry.file
      script.push(`cp "$file${index}" ${target}`)
    } else {
      texts[`text${index}`] = entry.text ?? ''
      script.push(`cp "$text${index}Path" ${target}`)
    }
    script.push(`chmod ${entry.executable ? '0555' : '0444'} ${target}`)
  })
  const input = { name: plan.name, references: plan.references, texts, links, files, script: script.join('\n') }
  return JSON.stringify(input)
}

async function planEntry (spec: PathSpec, path: string): Promise<PlannedEntry> {
  const entry = spec.entries[path]
  if ('symlink' in entry) {
    if (typeof entry.symlink !== 'string' || entry.symlink === '' || entry.symlink.includes('\0')) {
      throw new InvalidPathSpecError(`symlink ${path} in spec ${spec.name} needs a non-empty target without NUL bytes`)
    }
    return { path, executable: false, symlink: entry.symlink }
  }
  if ('file' in entry) {
    const executable = entry.executable ?? await isExecutableFile(spec.name, path, entry.file)
    return { path, executable, file: entry.file }
  }
  if (typeof entry.text !== 'string' || entry.text.includes('\0')) {
    throw new InvalidPathSpecError(`text of ${path} in spec ${spec.name} must be a string without NUL bytes`)
  }
  return { path, executable: entry.executable ?? false, text: entry.text }
}

async function isExecutableFile (specName: string, path: string, file: string): Promise<boolean> {
  if (!file.startsWith('/')) {
    throw new InvalidPathSpecError(
      `source of ${path} in spec ${specName} must be an absolute path, not ${JSON.stringify(file)}`
    )
  }
  const info = await stat(file).catch(() => null)
  if (info === null || !info.isFile()) {
    throw new InvalidPathSpecError(`source of ${path} in spec ${specName} is not a readable regular file: ${file}`)
  }
  return (info.mode & 0o100) !== 0
}

function checkEntryPath (specName: string, path: string, allPaths: string[]): void {
  const segments = path.split('/')
  const valid = segments.length <= ENTRY_DEPTH_MAX &&
    segments.every(segment => ENTRY_SEGMENT_PATTERN.test(segment) && segment !== '.' && segment !== '..')
  if (!valid) {
    throw new InvalidPathSpecError(
      `entry ${JSON.stringify(path)} in spec ${specName} must be a relative path of at most ${ENTRY_DEPTH_MAX} ` +
      'segments made of A-Z a-z 0-9 . _ + = @ , -'
    )
  }
  if (allPaths.some(other => other.startsWith(`${path}/`))) {
    throw new InvalidPathSpecError(`entry ${path} in spec ${specName} is a file but other entries need it as a folder`)
  }
}

function directoriesOf (paths: string[]): string[] {
  const directories = new Set<string>()
  for (const path of paths) {
    const segments = path.split('/')
    for (let depth = 1; depth < segments.length; depth++) {
      directories.add(segments.slice(0, depth).join('/'))
    }
  }
  return [...directories].sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b))
}

/** Quotes a checked entry path below `$out` for the builder script. */
function outPath (path: string): string {
  return `"$out"/'${path}'`
}

export interface SystemClosureInit {
  /** Host or seed name, e.g. `web`. */
  hostName: string
  /** Version text, e.g. `24.05.1`, which becomes part of the store path names. */
  version: string
  /** @default '6.6.0' */
  kernelVersion?: string
  /** A kernel image on disk. Without it, the kernel is a small text file. */
  kernelFile?: string
  /** An initrd image on disk. Without it, the initrd is a small text file. */
  initrdFile?: string
  /** Store paths (e.g. service closures) that the system starts. */
  services?: string[]
}

export interface SystemClosure {
  path: string
  kernel: string
  initrd: string
}

/**
 * Builds a NixOS-like system closure: `linux-<version>` with `bzImage`,
 * `initrd-<host>-<version>` with `initrd`, and `nixos-system-<host>-<version>`
 * with `kernel` and `initrd` symlinks, `activate`,
 * `bin/switch-to-configuration`, `kernel-params` and `nixos-version`.
 */
export async function buildSystemClosure (store: StoreBackend, init: SystemClosureInit): Promise<SystemClosure> {
  const kernelVersion = init.kernelVersion ?? '6.6.0'
  const services = init.services ?? []
  const linux = await store.buildPath({
    name: `linux-${kernelVersion}`,
    entries: { bzImage: fileOrText(init.kernelFile, `demo kernel ${kernelVersion}\n`) }
  })
  const initrdPath = await store.buildPath({
    name: `initrd-${init.hostName}-${init.version}`,
    entries: { initrd: fileOrText(init.initrdFile, `demo initrd for ${init.hostName} ${init.version}\n`) }
  })
  const kernel = `${linux}/bzImage`
  const initrd = `${initrdPath}/initrd`
  const path = await store.buildPath({
    name: `nixos-system-${init.hostName}-${init.version}`,
    references: [linux, initrdPath, ...services],
    entries: {
      kernel: { symlink: kernel },
      initrd: { symlink: initrd },
      'kernel-params': { text: 'console=ttyS0 loglevel=4\n' },
      'nixos-version': { text: `${init.version}\n` },
      activate: { executable: true, text: activateScript(init.hostName, init.version, services) },
      'bin/switch-to-configuration': { executable: true, text: switchScript(init.hostName, init.version) }
    }
  })
  return { path, kernel, initrd }
}

export interface ServiceClosureInit {
  /** Service name, e.g. `nginx`, which is also the name of its program in `bin/`. */
  name: string
  version: string
  /** Written as `config.json` into the service's configuration path. */
  settings?: Record<string, unknown>
}

export interface ServiceClosure {
  path: string
  config: string
}

/** Builds a service closure: `<name>-config-<version>` with `config.json`, and `<name>-<version>` with `bin/<name>`. */
export async function buildServiceClosure (store: StoreBackend, init: ServiceClosureInit): Promise<ServiceClosure> {
  const config = await store.buildPath({
    name: `${init.name}-config-${init.version}`,
    entries: { 'config.json': { text: `${JSON.stringify(init.settings ?? {}, null, 2)}\n` } }
  })
  const path = await store.buildPath({
    name: `${init.name}-${init.version}`,
    references: [config],
    entries: {
      [`bin/${init.name}`]: {
        executable: true,
        text: `#!/bin/sh\necho "${init.name} ${init.version} running with ${config}/config.json"\n`
      },
      'share/version': { text: `${init.version}\n` }
    }
  })
  return { path, config }
}

function fileOrText (file: string | undefined, text: string): EntrySpec {
  return file === undefined ? { text } : { file }
}

function activateScript (hostName: string, version: string, services: string[]): string {
  const lines = ['#!/bin/sh', `echo "activating ${hostName} ${version}"`]
  for (const service of services) {
    lines.push(`echo "starting ${service}"`)
  }
  return `${lines.join('\n')}\n`
}

function switchScript (hostName: string, version: string): string {
  return [
    '#!/bin/sh',
    'case "$1" in',
    `  switch|boot|test|dry-activate) echo "switch-to-configuration $1: ${hostName} ${version}" ;;`,
    '  *) echo "usage: switch-to-configuration switch|boot|test|dry-activate" >&2; exit 1 ;;',
    'esac',
    ''
  ].join('\n')
}
