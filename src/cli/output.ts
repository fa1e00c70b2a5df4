/** Output streams of a command: stdout for results, stderr for progress, warnings and errors. */
export interface Io {
  out: (text: string) => void
  err: (text: string) => void
  /** Whether stdout is a terminal, so progress may redraw lines. */
  isTty: boolean
}

export function processIo (): Io {
  return {
    out: text => { process.stdout.write(text) },
    err: text => { process.stderr.write(text) },
    isTty: process.stdout.isTTY === true
  }
}

/** Writes one line to stdout. */
export function println (io: Io, line = ''): void {
  io.out(`${line}\n`)
}

/** Writes one line to stderr. */
export function eprintln (io: Io, line = ''): void {
  io.err(`${line}\n`)
}

/** Writes a value as indented JSON to stdout, for `--json`. */
export function printJson (io: Io, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`)
}

/** Formats rows as columns separated by two spaces, the header first. */
export function formatTable (headers: string[], rows: string[][]): string[] {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map(row => (row[column] ?? '').length)))
  const format = (cells: string[]): string =>
    cells.map((cell, column) => column === cells.length - 1 ? cell : cell.padEnd(widths[column])).join('  ').trimEnd()
  return [format(headers), ...rows.map(format)]
}

/** Shortens a peer id for tables: `12D3KooW…abcdef`. */
export function shortPeer (peer: string): string {
  return peer.length > 20 ? `${peer.slice(0, 8)}…${peer.slice(-6)}` : peer
}
