import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { WebViewConfigError } from '../errors.ts'

/** Files the pages load; the Content Security Policy allows scripts and styles from here only. */
const ASSETS: Record<string, string> = {
  'client.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8'
}

// NOTE: the assets are read from src/web/assets beside this module; a build
// into dist/ must copy that folder to dist/web/assets.
const ASSETS_DIR = new URL('../assets/', import.meta.url)

async function readAsset (name: string): Promise<Buffer> {
  const url = new URL(name, ASSETS_DIR)
  try {
    return await readFile(url)
  } catch (err) {
    throw new WebViewConfigError(`web view asset ${fileURLToPath(url)} is missing: ` +
      'a build into dist/ must copy src/web/assets to dist/web/assets', 'ERR_WEB_ASSETS', { cause: err })
  }
}

/** Reads the assets once and registers their routes. */
export async function registerAssets (app: FastifyInstance): Promise<void> {
  for (const [name, type] of Object.entries(ASSETS)) {
    const content = await readAsset(name)
    app.get(`/assets/${name}`, async (_request, reply) => {
      return await reply.type(type).header('cache-control', 'no-cache').send(content)
    })
  }
  app.get('/favicon.ico', async (_request, reply) => await reply.code(204).send())
}
