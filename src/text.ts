/**
 * Removes terminal escape sequences and control characters other than
 * newline and tab, so command output cannot restyle a terminal or web page
 * that shows it. A UTF-8 sequence cut at the start of a buffer decodes as
 * U+FFFD and is dropped too.
 */
export function stripControlCharacters (text: string): string {
  return text
    // eslint-disable-next-line no-control-regex
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)?|\x1b[@-Z\\-_]/g, '')
    .replace(/\r\n/g, '\n')
    // eslint-disable-next-line no-control-regex
    .replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffd]/g, '')
}
