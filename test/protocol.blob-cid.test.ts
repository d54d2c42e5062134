/**
 * Blob ids as real multiformats CIDs (issue 15): the sha-256 a blob is named by on the wire is the
 * digest of a CIDv1 `raw` sha2-256, so the id means the same bytes to IPFS tools.
 */
import { describe, expect, it } from 'vitest'
import { blobCidV1, blobIdFromCidV1, sha256Bytes } from '../src/protocol/index.ts'

describe('blob ids as CIDv1', () => {
  it('names the empty blob as IPFS does (the well-known raw CID of zero bytes)', () => {
    expect(blobCidV1(sha256Bytes(new Uint8Array(0)))).toBe('bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku')
  })

  it('round-trips, and refuses other codecs, hashes and non-CIDs', () => {
    const id = sha256Bytes(new TextEncoder().encode('spare cycles'))
    const text = blobCidV1(id)
    expect(text).toMatch(/^bafkrei[a-z2-7]{52}$/)
    expect([...blobIdFromCidV1(text)]).toEqual([...id])
    // a dag-pb CIDv0 (Qm…) and garbage are refused
    expect(() => blobIdFromCidV1('QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR')).toThrow(RangeError)
    expect(() => blobIdFromCidV1('not a cid')).toThrow(RangeError)
    expect(() => blobCidV1(new Uint8Array(31))).toThrow(RangeError)
  })
})
