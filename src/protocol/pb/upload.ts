import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface BlobPutRequest {
  cid: Uint8Array<ArrayBuffer>
  totalBytes: number
  offset: number
  data: Uint8Array<ArrayBuffer>
}

export namespace BlobPutRequest {
  let _codec: Codec<BlobPutRequest>

  export const codec = (): Codec<BlobPutRequest> => {
    if (_codec == null) {
      _codec = message<BlobPutRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.cid != null && obj.cid.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.cid)
        }

        if ((obj.totalBytes != null && obj.totalBytes !== 0)) {
          w.uint32(16)
          w.uint64Number(obj.totalBytes)
        }

        if ((obj.offset != null && obj.offset !== 0)) {
          w.uint32(24)
          w.uint64Number(obj.offset)
        }

        if ((obj.data != null && obj.data.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.data)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          cid: uint8ArrayAlloc(0),
          totalBytes: 0,
          offset: 0,
          data: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.cid = reader.bytes()
              break
            }
            case 2: {
              obj.totalBytes = reader.uint64Number()
              break
            }
            case 3: {
              obj.offset = reader.uint64Number()
              break
            }
            case 4: {
              obj.data = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.cid`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.totalBytes`,
                value: reader.uint64Number()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.offset`,
                value: reader.uint64Number()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.data`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface BlobPutRequestCidFieldEvent {
    field: '$.cid'
    value: Uint8Array<ArrayBuffer>
  }

  export interface BlobPutRequestTotalBytesFieldEvent {
    field: '$.totalBytes'
    value: number
  }

  export interface BlobPutRequestOffsetFieldEvent {
    field: '$.offset'
    value: number
  }

  export interface BlobPutRequestDataFieldEvent {
    field: '$.data'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<BlobPutRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, BlobPutRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<BlobPutRequest>): BlobPutRequest {
    return decodeMessage(buf, BlobPutRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<BlobPutRequest>): Generator<BlobPutRequestCidFieldEvent | BlobPutRequestTotalBytesFieldEvent | BlobPutRequestOffsetFieldEvent | BlobPutRequestDataFieldEvent> {
    return streamMessage(buf, BlobPutRequest.codec(), opts)
  }
}

export interface BlobPutResponse {
  error: string
  message: string
  received: number
  complete: boolean
}

export namespace BlobPutResponse {
  let _codec: Codec<BlobPutResponse>

  export const codec = (): Codec<BlobPutResponse> => {
    if (_codec == null) {
      _codec = message<BlobPutResponse>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.error != null && obj.error !== '')) {
          w.uint32(10)
          w.string(obj.error)
        }

        if ((obj.message != null && obj.message !== '')) {
          w.uint32(18)
          w.string(obj.message)
        }

        if ((obj.received != null && obj.received !== 0)) {
          w.uint32(24)
          w.uint64Number(obj.received)
        }

        if ((obj.complete != null && obj.complete !== false)) {
          w.uint32(32)
          w.bool(obj.complete)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          error: '',
          message: '',
          received: 0,
          complete: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.error = reader.string()
              break
            }
            case 2: {
              obj.message = reader.string()
              break
            }
            case 3: {
              obj.received = reader.uint64Number()
              break
            }
            case 4: {
              obj.complete = reader.bool()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.error`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.message`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.received`,
                value: reader.uint64Number()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.complete`,
                value: reader.bool()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface BlobPutResponseErrorFieldEvent {
    field: '$.error'
    value: string
  }

  export interface BlobPutResponseMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export interface BlobPutResponseReceivedFieldEvent {
    field: '$.received'
    value: number
  }

  export interface BlobPutResponseCompleteFieldEvent {
    field: '$.complete'
    value: boolean
  }

  export function encode (obj: Partial<BlobPutResponse>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, BlobPutResponse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<BlobPutResponse>): BlobPutResponse {
    return decodeMessage(buf, BlobPutResponse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<BlobPutResponse>): Generator<BlobPutResponseErrorFieldEvent | BlobPutResponseMessageFieldEvent | BlobPutResponseReceivedFieldEvent | BlobPutResponseCompleteFieldEvent> {
    return streamMessage(buf, BlobPutResponse.codec(), opts)
  }
}

export interface PostJobV2 {
  signedManifest: Uint8Array<ArrayBuffer>
  kernelCid: Uint8Array<ArrayBuffer>
  inputsCid: Uint8Array<ArrayBuffer>
  quorum: number
  creditPerUnit: number
  policy: string
  ringers: PostRinger[]
}

export namespace PostJobV2 {
  let _codec: Codec<PostJobV2>

  export const codec = (): Codec<PostJobV2> => {
    if (_codec == null) {
      _codec = message<PostJobV2>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.signedManifest != null && obj.signedManifest.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.signedManifest)
        }

        if ((obj.kernelCid != null && obj.kernelCid.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.kernelCid)
        }

        if ((obj.inputsCid != null && obj.inputsCid.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.inputsCid)
        }

        if ((obj.quorum != null && obj.quorum !== 0)) {
          w.uint32(32)
          w.uint32(obj.quorum)
        }

        if ((obj.creditPerUnit != null && obj.creditPerUnit !== 0)) {
          w.uint32(41)
          w.double(obj.creditPerUnit)
        }

        if ((obj.policy != null && obj.policy !== '')) {
          w.uint32(50)
          w.string(obj.policy)
        }

        if (obj.ringers != null && obj.ringers.length > 0) {
          for (const value of obj.ringers) {
            w.uint32(58)
            PostRinger.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          signedManifest: uint8ArrayAlloc(0),
          kernelCid: uint8ArrayAlloc(0),
          inputsCid: uint8ArrayAlloc(0),
          quorum: 0,
          creditPerUnit: 0,
          policy: '',
          ringers: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.signedManifest = reader.bytes()
              break
            }
            case 2: {
              obj.kernelCid = reader.bytes()
              break
            }
            case 3: {
              obj.inputsCid = reader.bytes()
              break
            }
            case 4: {
              obj.quorum = reader.uint32()
              break
            }
            case 5: {
              obj.creditPerUnit = reader.double()
              break
            }
            case 6: {
              obj.policy = reader.string()
              break
            }
            case 7: {
              if (opts.limits?.ringers != null && obj.ringers.length === opts.limits.ringers) {
                throw new MaxLengthError('Decode error - repeated field "ringers" had too many elements')
              }

              obj.ringers.push(PostRinger.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.ringers$
              }))
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          ringers: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.signedManifest`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.kernelCid`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.inputsCid`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.quorum`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.creditPerUnit`,
                value: reader.double()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.policy`,
                value: reader.string()
              }
              break
            }
            case 7: {
              if (opts.limits?.ringers != null && obj.ringers === opts.limits.ringers) {
                throw new MaxLengthError('Streaming decode error - repeated field "ringers" had too many elements')
              }

              for (const evt of PostRinger.codec().stream(reader, reader.uint32(), `${prefix}.ringers[]`, {
                limits: opts.limits?.ringers$
              })) {
                yield {
                  ...evt,
                  index: obj.ringers
                }
              }

              obj.ringers++

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface PostJobV2SignedManifestFieldEvent {
    field: '$.signedManifest'
    value: Uint8Array<ArrayBuffer>
  }

  export interface PostJobV2KernelCidFieldEvent {
    field: '$.kernelCid'
    value: Uint8Array<ArrayBuffer>
  }

  export interface PostJobV2InputsCidFieldEvent {
    field: '$.inputsCid'
    value: Uint8Array<ArrayBuffer>
  }

  export interface PostJobV2QuorumFieldEvent {
    field: '$.quorum'
    value: number
  }

  export interface PostJobV2CreditPerUnitFieldEvent {
    field: '$.creditPerUnit'
    value: number
  }

  export interface PostJobV2PolicyFieldEvent {
    field: '$.policy'
    value: string
  }

  export interface PostJobV2RingersIndexFieldEvent {
    field: '$.ringers[].index'
    value: number
    index: number
  }

  export interface PostJobV2RingersOutputSha256FieldEvent {
    field: '$.ringers[].outputSha256'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export function encode (obj: Partial<PostJobV2>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, PostJobV2.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PostJobV2>): PostJobV2 {
    return decodeMessage(buf, PostJobV2.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PostJobV2>): Generator<PostJobV2SignedManifestFieldEvent | PostJobV2KernelCidFieldEvent | PostJobV2InputsCidFieldEvent | PostJobV2QuorumFieldEvent | PostJobV2CreditPerUnitFieldEvent | PostJobV2PolicyFieldEvent | PostJobV2RingersIndexFieldEvent | PostJobV2RingersOutputSha256FieldEvent> {
    return streamMessage(buf, PostJobV2.codec(), opts)
  }
}

export interface PostRinger {
  index: number
  outputSha256: Uint8Array<ArrayBuffer>
}

export namespace PostRinger {
  let _codec: Codec<PostRinger>

  export const codec = (): Codec<PostRinger> => {
    if (_codec == null) {
      _codec = message<PostRinger>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.index != null && obj.index !== 0)) {
          w.uint32(8)
          w.uint32(obj.index)
        }

        if ((obj.outputSha256 != null && obj.outputSha256.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.outputSha256)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          index: 0,
          outputSha256: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.index = reader.uint32()
              break
            }
            case 2: {
              obj.outputSha256 = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.index`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.outputSha256`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface PostRingerIndexFieldEvent {
    field: '$.index'
    value: number
  }

  export interface PostRingerOutputSha256FieldEvent {
    field: '$.outputSha256'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<PostRinger>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, PostRinger.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PostRinger>): PostRinger {
    return decodeMessage(buf, PostRinger.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PostRinger>): Generator<PostRingerIndexFieldEvent | PostRingerOutputSha256FieldEvent> {
    return streamMessage(buf, PostRinger.codec(), opts)
  }
}
