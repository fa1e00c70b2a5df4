// Starts one fleet node from a JSON node file and prints JSON lines
// (`ready`, `intent`, `sync`) on stdout. Usage: node scripts/fleet-node.ts NODE_FILE.json
import { main } from '../src/network/cli-entry.ts'

main(process.argv.slice(2)).catch((err: Error & { code?: string }) => {
  process.stderr.write(`fleet-node: ${err.message}\n`)
  process.exit(1)
})
