import { cp } from 'node:fs/promises'
import { buildServiceClosure, NixStore, PlainStore } from '../../../src/nix/index.ts'
import type { ServiceClosure, StoreBackend } from '../../../src/nix/index.ts'
import type { TempFolders } from './helpers.ts'

/** A backend to run the shared behavioural tests against. */
export interface BackendCase {
  kind: 'nix' | 'plain'
  needsNix: boolean
  create: (storeRoot: string) => StoreBackend
}

export const BACKENDS: BackendCase[] = [
  { kind: 'nix', needsNix: true, create: storeRoot => new NixStore({ storeRoot }) },
  { kind: 'plain', needsNix: false, create: storeRoot => new PlainStore({ storeRoot }) }
]

/**
 * Copies a store root into a new folder and opens it, so each test gets its
 * own store without rebuilding what a `before` hook built once. Stores are
 * only copied while no Nix command runs on them.
 */
export async function cloneStore (
  backend: BackendCase,
  template: StoreBackend,
  folders: TempFolders,
  label: string
): Promise<StoreBackend> {
  const storeRoot = await folders.make(label)
  await cp(template.storeRoot, storeRoot, { recursive: true, verbatimSymlinks: true, force: true })
  return backend.create(storeRoot)
}

/** Builds the sample closure: a service path that refers to its configuration path. */
export async function buildSample (store: StoreBackend, version = '1.0'): Promise<ServiceClosure> {
  return await buildServiceClosure(store, { name: 'web', version, settings: { port: 8080 } })
}
