import { html } from 'htm/preact'
import type { VNode } from 'preact'
import { renderToString } from 'preact-render-to-string'

/**
 * Tagged template for markup. preact escapes every interpolated text and
 * attribute value, so a value reported by a garden is always shown as text.
 */
export { html }
export type { VNode }

/** Renders a page to an HTML document. */
export function renderDocument (page: VNode): string {
  return `<!doctype html>${renderToString(page)}`
}

/** Renders a fragment of markup, e.g. for a test. */
export function renderFragment (node: VNode): string {
  return renderToString(node)
}

const SCRIPT_UNSAFE = /[<>&\u2028\u2029]/g

/**
 * Serialises a value as JSON that is safe inside `<script type="application/json">`:
 * `<`, `>` and `&` are written as `\u` escapes, so a string such as
 * `</script>` cannot end the element, and U+2028 and U+2029 are escaped
 * for older JavaScript parsers. `JSON.parse` returns the original value.
 */
export function jsonForScript (value: unknown): string {
  return JSON.stringify(value).replace(SCRIPT_UNSAFE, char =>
    `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** Renders a data block for the client script, with JSON text from `jsonForScript`. */
export function jsonScript (id: string, value: unknown): VNode {
  return html`<script type="application/json" id=${id} dangerouslySetInnerHTML=${{ __html: jsonForScript(value) }}></script>`
}
