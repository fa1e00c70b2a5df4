import { stripControlCharacters } from '../text.ts'

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

/**
 * Writes one line to stdout. Lines carry text that members sent (names,
 * versions, event details), so terminal escape sequences and control
 * characters other than newline and tab are removed here, for every command.
 * NOTE: a newline inside a member's text still starts a new line, so a caller
 * that prints such text outside a table should keep it to one line.
 */
export function println (io: Io, line = ''): void {
  io.out(`${stripControlCharacters(line)}\n`)
}

/** Writes one line to stderr, with control characters removed as `println` does. */
export function eprintln (io: Io, line = ''): void {
  io.err(`${stripControlCharacters(line)}\n`)
}

/**
 * Writes a value as indented JSON to stdout, for `--json`. JSON.stringify
 * escapes U+0000 to U+001F but not DEL and the C1 controls, which some
 * terminals act on, so those are escaped too. The JSON decodes to the same value.
 */
export function printJson (io: Io, value: unknown): void {
  const json = JSON.stringify(value, null, 2).replace(/[\x7f-\x9f]/g, escapeJsonCharacter)
  io.out(`${json}\n`)
}

function escapeJsonCharacter (character: string): string {
  return `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`
}

/** Formats rows as columns separated by two spaces, the header first. */
export function formatTable (headers: string[], rows: string[][]): string[] {
  const cleanRows = rows.map(row => row.map(toCell))
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...cleanRows.map(row => (row[column] ?? '').length)))
  const format = (cells: string[]): string =>
    cells.map((cell, column) => column === cells.length - 1 ? cell : cell.padEnd(widths[column])).join('  ').trimEnd()
  return [format(headers), ...cleanRows.map(format)]
}

/** Removes control characters from a table cell and keeps it on one line, so columns stay aligned. */
function toCell (text: string): string {
  return stripControlCharacters(text).replace(/[\n\t]/g, ' ')
}

/** Shortens a peer id for tables: `12D3KooW…abcdef`. */
export function shortPeer (peer: string): string {
  return peer.length > 20 ? `${peer.slice(0, 8)}…${peer.slice(-6)}` : peer
}
