/** Base64 (RFC 4648, with padding) for the JSON files the protocol defines (credit statements). */

/** Bytes -> base64 text. */
export function toBase64 (bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(s)
}

/** Whether `text` is well-formed padded base64. */
export function isBase64 (text: unknown): text is string {
  return typeof text === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(text) && text.length % 4 === 0
}

/**
 * Base64 text -> bytes.
 * @throws RangeError when `text` is not base64 (callers turn it into their own named error)
 */
export function fromBase64 (text: string, what = 'base64 field'): Uint8Array<ArrayBuffer> {
  if (!isBase64(text)) throw new RangeError(`${what} is not base64`)
  const bin = atob(text)
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out
}
