// What a tracking domain's hostname may be: a DNS name as links will print it (no scheme, path or port).
// Single-label names (`localhost`, a container name) are allowed: self-hosted setups use them.
// IP literals are not DNS names; internationalised names go in their ASCII (punycode, `xn--`) form.

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

export const HOSTNAME_RULE =
  'a DNS name such as track.example.com: labels of 1-63 letters, digits or hyphens (not starting or ending ' +
  'with a hyphen), at most 253 characters, no scheme, path or port'

/** Lowercases a hostname; the stored and compared form. */
export function normalizeHostname (input: string): string {
  return input.toLowerCase()
}

/** Why `input` is not an acceptable hostname, or null when it is. */
export function hostnameProblem (input: string): string | null {
  if (input.length === 0) return 'must not be empty'
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) return 'must not include a scheme (http://, https://)'
  if (/[/?#]/.test(input)) return 'must not include a path, query or fragment'
  if (input.includes('@')) return 'must not include user information'
  if (input.includes(':')) return 'must not include a port (and IPv6 addresses are not DNS names)'
  if (input.length > 253) return 'must be at most 253 characters'
  if (input.endsWith('.')) return 'must not end with a dot'
  const labels = normalizeHostname(input).split('.')
  for (const label of labels) {
    if (label.length === 0) return 'must not contain an empty label (two dots in a row or a leading dot)'
    if (label.length > 63) return 'each label must be at most 63 characters'
    if (!LABEL.test(label)) {
      return 'labels hold only letters, digits and hyphens, and neither start nor end with a hyphen'
    }
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1] as string)) return 'must not be an IP address (the last label is all digits)'
  return null
}
