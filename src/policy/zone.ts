import { IANAZone } from 'luxon'
import { PolicyArgumentError } from './errors.ts'

/** Zone of a window that names none, when the caller gives no garden zone either. */
export const DEFAULT_ZONE = 'UTC'

/**
 * Returns whether the runtime's time zone database contains an IANA zone name,
 * in any letter case. Offsets such as `+02:00` are not zones and return false.
 */
export function isKnownZone (name: string): boolean {
  if (!/^[A-Za-z]/.test(name)) return false
  try {
    // The constructor throws a RangeError for a zone it does not know.
    return new Intl.DateTimeFormat('en-US', { timeZone: name }) instanceof Intl.DateTimeFormat
  } catch {
    return false
  }
}

/** Returns the luxon zone for an IANA name. Throws `PolicyArgumentError` for an unknown zone. */
export function resolveZone (name: string): IANAZone {
  if (!isKnownZone(name)) {
    throw new PolicyArgumentError(`unknown time zone "${name}": use an IANA name such as "Europe/Berlin" or "UTC"`)
  }
  return IANAZone.create(name)
}
