import { html } from './html.ts'
import type { VNode } from './html.ts'

const TITLES: Record<number, string> = {
  400: 'Invalid request',
  401: 'Access token required',
  403: 'Not allowed',
  404: 'Not found',
  503: 'Busy'
}

export function errorTitle (statusCode: number): string {
  return TITLES[statusCode] ?? 'Something went wrong'
}

/** Renders the page of a failed request: the message and code, never a stack trace. */
export function ErrorPage ({ statusCode, code, message }: { statusCode: number, code: string, message: string }): VNode {
  return html`<h1>${errorTitle(statusCode)}</h1>
    <p class="error-message">${message}</p>
    <p class="note">Status ${statusCode}, code <code>${code}</code>. <a href="/">Back to the gardens</a></p>`
}
