import type { NixConfig } from '../config/index.ts'
import { NixStore, PlainStore } from '../nix/index.ts'
import type { StoreBackend } from '../nix/index.ts'

/** Creates the store backend that a node's config names. */
export function createBackend (nix: NixConfig): StoreBackend {
  if (nix.backend === 'plain') {
    return new PlainStore({ storeRoot: nix.storeRoot })
  }
  return new NixStore({ storeRoot: nix.storeRoot, ...(nix.nixBinDir == null ? {} : { nixBinDir: nix.nixBinDir }) })
}
