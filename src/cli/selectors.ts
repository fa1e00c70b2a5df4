import { isKeyId } from '../keys/index.ts'
import { selectorSchema } from '../records/index.ts'
import { InvalidSelectorError } from './errors.ts'

/** Fields of a garden that selectors match: its peer id, name and tags. */
export interface SelectableGarden {
  peer: string
  name: string
  tags: readonly string[]
}

const NAMES_LISTED_MAX = 10

/**
 * Turns a `--to` value into the selector an intent carries. `*`,
 * `name:<garden>`, `tag:<tag>` and `peer:<peer id>` stay as they are, and a
 * bare peer id becomes `peer:<id>`. A bare word becomes `name:<word>` when a
 * known garden has that name, else `tag:<word>` when a known garden has that
 * tag. Throws `InvalidSelectorError` otherwise.
 */
export function resolveSelector (value: string, gardens: readonly SelectableGarden[]): string {
  const text = value.trim()
  if (text === '*' || /^(name|tag|peer):/.test(text)) {
    return checkForm(value, text)
  }
  if (isKeyId(text)) {
    return checkForm(value, `peer:${text}`)
  }
  if (gardens.some(garden => garden.name === text)) {
    return checkForm(value, `name:${text}`)
  }
  if (gardens.some(garden => garden.tags.includes(text))) {
    return checkForm(value, `tag:${text}`)
  }
  throw new InvalidSelectorError(`"${value}" is neither the name nor a tag of a known garden` +
    `${describeKnown(gardens)}; write name:${text} or tag:${text} to target a garden this node has not heard of yet`)
}

function checkForm (value: string, selector: string): string {
  if (!selectorSchema.safeParse(selector).success) {
    throw new InvalidSelectorError(`invalid target "${value}": expected *, name:<garden>, tag:<tag>, peer:<peer id> ` +
      'or a bare garden name or tag (letters, digits, ".", "_" or "-", at most 64)')
  }
  return selector
}

function describeKnown (gardens: readonly SelectableGarden[]): string {
  if (gardens.length === 0) {
    return ' (this node knows no garden yet)'
  }
  const names = [...new Set(gardens.map(garden => garden.name))].sort()
  const tags = [...new Set(gardens.flatMap(garden => garden.tags))].sort()
  return ` (gardens: ${listSome(names)}; tags: ${tags.length === 0 ? 'none' : listSome(tags)})`
}

function listSome (items: string[]): string {
  const shown = items.slice(0, NAMES_LISTED_MAX).join(', ')
  return items.length > NAMES_LISTED_MAX ? `${shown} and ${items.length - NAMES_LISTED_MAX} more` : shown
}

/** Returns whether `selector` (in the form an intent carries) matches `garden`. */
export function matchesSelector (garden: SelectableGarden, selector: string): boolean {
  if (selector === '*') {
    return true
  }
  const colon = selector.indexOf(':')
  const kind = selector.slice(0, colon)
  const value = selector.slice(colon + 1)
  switch (kind) {
    case 'name':
      return garden.name === value
    case 'tag':
      return garden.tags.includes(value)
    case 'peer':
      return garden.peer === value
    default:
      return false
  }
}

/** Returns the gardens that at least one of `selectors` matches, in input order. */
export function selectGardens<T extends SelectableGarden> (gardens: readonly T[], selectors: readonly string[]): T[] {
  return gardens.filter(garden => selectors.some(selector => matchesSelector(garden, selector)))
}
