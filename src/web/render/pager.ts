import { PAGE_SIZE_CHOICES } from '../table/index.ts'
import type { Page } from '../table/index.ts'
import { html } from './html.ts'
import type { VNode } from './html.ts'

export interface PagerProps {
  page: Page<unknown>
  /** Builds the URL of a page at a page size, keeping the view's other parameters. */
  href: (page: number, size: number) => string
  /** Plural noun of the rows, as in "Gardens 1–50 of 120". */
  noun: string
  /** Element id, so that live updates replace the pager. */
  id: string
}

function pageNumbers (page: number, pages: number): number[] {
  const numbers = new Set([1, pages])
  for (let n = page - 2; n <= page + 2; n++) {
    if (n >= 1 && n <= pages) numbers.add(n)
  }
  return [...numbers].sort((a, b) => a - b)
}

function PageLink ({ href, page, label, current }: { href: string, page: number, label: string, current?: boolean }): VNode {
  if (current === true) return html`<span aria-current="page" class="current">${label}</span>`
  return html`<a href=${href} data-page=${page}>${label}</a>`
}

/** Renders the pager of a long list: the rows shown, page links and page size links. */
export function Pager ({ page, href, noun, id }: PagerProps): VNode {
  const numbers = pageNumbers(page.page, page.pages)
  const first = page.total === 0 ? 0 : (page.page - 1) * page.size + 1
  const last = Math.min(page.total, page.page * page.size)
  const link = (n: number, label: string): VNode =>
    html`<${PageLink} href=${href(n, page.size)} page=${n} label=${label} current=${n === page.page && label === String(n)} />`
  return html`<nav class="pager" aria-label="Pages" id=${id} data-live="">
    <p class="count">${noun} ${first}–${last} of ${page.total}, page ${page.page} of ${page.pages}</p>
    <ul class="pages">
      ${page.page > 1 ? html`<li>${link(page.page - 1, 'Previous')}</li>` : null}
      ${numbers.map((n, i) => html`
        ${i > 0 && n - numbers[i - 1] > 1 ? html`<li class="gap">…</li>` : null}
        <li>${link(n, String(n))}</li>`)}
      ${page.page < page.pages ? html`<li>${link(page.page + 1, 'Next')}</li>` : null}
    </ul>
    <p class="sizes">Rows per page:
      ${PAGE_SIZE_CHOICES.map(size => size === page.size
        ? html` <span aria-current="true" class="current">${size}</span>`
        : html` <a href=${href(page.page, size)} data-size=${size}>${size}</a>`)}
    </p>
  </nav>`
}
