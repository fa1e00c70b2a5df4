import { readFileSync } from 'node:fs'

/** The version in package.json, which reports carry as the agent version. */
export const SOWER_VERSION: string = readVersion()

function readVersion (): string {
  try {
    // src/garden and dist/garden are both two folders below the package root.
    const json = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }
    return json.version ?? 'unknown'
  } catch {
    return 'unknown'
  }
}
