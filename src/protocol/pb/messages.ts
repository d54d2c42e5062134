import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface WorkRequest {
  maxUnits: number
  release: string[]
  deviceClass: string
}

export namespace WorkRequest {
  let _codec: Codec<WorkRequest>

  export const codec = (): Codec<WorkRequest> => {
    if (_codec == null) {
      _codec = message<WorkRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.maxUnits != null && obj.maxUnits !== 0)) {
          w.uint32(8)
          w.uint32(obj.maxUnits)
        }

        if (obj.release != null && obj.release.length > 0) {
          for (const value of obj.release) {
            w.uint32(18)
            w.string(value)
          }
        }

        if ((obj.deviceClass != null && obj.deviceClass !== '')) {
          w.uint32(26)
          w.string(obj.deviceClass)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          maxUnits: 0,
          release: [],
          deviceClass: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.maxUnits = reader.uint32()
              break
            }
            case 2: {
              if (opts.limits?.release != null && obj.release.length === opts.limits.release) {
                throw new MaxLengthError('Decode error - repeated field "release" had too many elements')
              }

              obj.release.push(reader.string())
              break
            }
            case 3: {
              obj.deviceClass = reader.string()
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
          release: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.maxUnits`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              if (opts.limits?.release != null && obj.release === opts.limits.release) {
                throw new MaxLengthError('Streaming decode error - repeated field "release" had too many elements')
              }

              yield {
                field: `${prefix}.release[]`,
                index: obj.release,
                value: reader.string()
              }

              obj.release++

              break
            }
            case 3: {
              yield {
                field: `${prefix}.deviceClass`,
                value: reader.string()
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

  export interface WorkRequestMaxUnitsFieldEvent {
    field: '$.maxUnits'
    value: number
  }

  export interface WorkRequestReleaseFieldEvent {
    field: '$.release[]'
    index: number
    value: string
  }

  export interface WorkRequestDeviceClassFieldEvent {
    field: '$.deviceClass'
    value: string
  }

  export function encode (obj: Partial<WorkRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, WorkRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WorkRequest>): WorkRequest {
    return decodeMessage(buf, WorkRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WorkRequest>): Generator<WorkRequestMaxUnitsFieldEvent | WorkRequestReleaseFieldEvent | WorkRequestDeviceClassFieldEvent> {
    return streamMessage(buf, WorkRequest.codec(), opts)
  }
}

export interface Lease {
  replicaId: string
  wuId: string
  jobId: string
  kernel: string
  input: Uint8Array<ArrayBuffer>
  estOps: number
  memoryBytes: number
  deadlineMs: number
  leaseExpiresAtMs: number
  credit: number
}

export namespace Lease {
  let _codec: Codec<Lease>

  export const codec = (): Codec<Lease> => {
    if (_codec == null) {
      _codec = message<Lease>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.replicaId != null && obj.replicaId !== '')) {
          w.uint32(10)
          w.string(obj.replicaId)
        }

        if ((obj.wuId != null && obj.wuId !== '')) {
          w.uint32(18)
          w.string(obj.wuId)
        }

        if ((obj.jobId != null && obj.jobId !== '')) {
          w.uint32(26)
          w.string(obj.jobId)
        }

        if ((obj.kernel != null && obj.kernel !== '')) {
          w.uint32(34)
          w.string(obj.kernel)
        }

        if ((obj.input != null && obj.input.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.input)
        }

        if ((obj.estOps != null && obj.estOps !== 0)) {
          w.uint32(49)
          w.double(obj.estOps)
        }

        if ((obj.memoryBytes != null && obj.memoryBytes !== 0)) {
          w.uint32(56)
          w.uint64Number(obj.memoryBytes)
        }

        if ((obj.deadlineMs != null && obj.deadlineMs !== 0)) {
          w.uint32(64)
          w.uint32(obj.deadlineMs)
        }

        if ((obj.leaseExpiresAtMs != null && obj.leaseExpiresAtMs !== 0)) {
          w.uint32(72)
          w.uint64Number(obj.leaseExpiresAtMs)
        }

        if ((obj.credit != null && obj.credit !== 0)) {
          w.uint32(81)
          w.double(obj.credit)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          replicaId: '',
          wuId: '',
          jobId: '',
          kernel: '',
          input: uint8ArrayAlloc(0),
          estOps: 0,
          memoryBytes: 0,
          deadlineMs: 0,
          leaseExpiresAtMs: 0,
          credit: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.replicaId = reader.string()
              break
            }
            case 2: {
              obj.wuId = reader.string()
              break
            }
            case 3: {
              obj.jobId = reader.string()
              break
            }
            case 4: {
              obj.kernel = reader.string()
              break
            }
            case 5: {
              obj.input = reader.bytes()
              break
            }
            case 6: {
              obj.estOps = reader.double()
              break
            }
            case 7: {
              obj.memoryBytes = reader.uint64Number()
              break
            }
            case 8: {
              obj.deadlineMs = reader.uint32()
              break
            }
            case 9: {
              obj.leaseExpiresAtMs = reader.uint64Number()
              break
            }
            case 10: {
              obj.credit = reader.double()
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
                field: `${prefix}.replicaId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.wuId`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.jobId`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.kernel`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.input`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.estOps`,
                value: reader.double()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.memoryBytes`,
                value: reader.uint64Number()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.deadlineMs`,
                value: reader.uint32()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.leaseExpiresAtMs`,
                value: reader.uint64Number()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.credit`,
                value: reader.double()
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

  export interface LeaseReplicaIdFieldEvent {
    field: '$.replicaId'
    value: string
  }

  export interface LeaseWuIdFieldEvent {
    field: '$.wuId'
    value: string
  }

  export interface LeaseJobIdFieldEvent {
    field: '$.jobId'
    value: string
  }

  export interface LeaseKernelFieldEvent {
    field: '$.kernel'
    value: string
  }

  export interface LeaseInputFieldEvent {
    field: '$.input'
    value: Uint8Array<ArrayBuffer>
  }

  export interface LeaseEstOpsFieldEvent {
    field: '$.estOps'
    value: number
  }

  export interface LeaseMemoryBytesFieldEvent {
    field: '$.memoryBytes'
    value: number
  }

  export interface LeaseDeadlineMsFieldEvent {
    field: '$.deadlineMs'
    value: number
  }

  export interface LeaseLeaseExpiresAtMsFieldEvent {
    field: '$.leaseExpiresAtMs'
    value: number
  }

  export interface LeaseCreditFieldEvent {
    field: '$.credit'
    value: number
  }

  export function encode (obj: Partial<Lease>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Lease.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Lease>): Lease {
    return decodeMessage(buf, Lease.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Lease>): Generator<LeaseReplicaIdFieldEvent | LeaseWuIdFieldEvent | LeaseJobIdFieldEvent | LeaseKernelFieldEvent | LeaseInputFieldEvent | LeaseEstOpsFieldEvent | LeaseMemoryBytesFieldEvent | LeaseDeadlineMsFieldEvent | LeaseLeaseExpiresAtMsFieldEvent | LeaseCreditFieldEvent> {
    return streamMessage(buf, Lease.codec(), opts)
  }
}

export interface WorkResponse {
  leases: Lease[]
  retryAfterMs: number
  error: string
  message: string
}

export namespace WorkResponse {
  let _codec: Codec<WorkResponse>

  export const codec = (): Codec<WorkResponse> => {
    if (_codec == null) {
      _codec = message<WorkResponse>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.leases != null && obj.leases.length > 0) {
          for (const value of obj.leases) {
            w.uint32(10)
            Lease.codec().encode(value, w)
          }
        }

        if ((obj.retryAfterMs != null && obj.retryAfterMs !== 0)) {
          w.uint32(16)
          w.uint32(obj.retryAfterMs)
        }

        if ((obj.error != null && obj.error !== '')) {
          w.uint32(26)
          w.string(obj.error)
        }

        if ((obj.message != null && obj.message !== '')) {
          w.uint32(34)
          w.string(obj.message)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          leases: [],
          retryAfterMs: 0,
          error: '',
          message: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.leases != null && obj.leases.length === opts.limits.leases) {
                throw new MaxLengthError('Decode error - repeated field "leases" had too many elements')
              }

              obj.leases.push(Lease.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.leases$
              }))
              break
            }
            case 2: {
              obj.retryAfterMs = reader.uint32()
              break
            }
            case 3: {
              obj.error = reader.string()
              break
            }
            case 4: {
              obj.message = reader.string()
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
          leases: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.leases != null && obj.leases === opts.limits.leases) {
                throw new MaxLengthError('Streaming decode error - repeated field "leases" had too many elements')
              }

              for (const evt of Lease.codec().stream(reader, reader.uint32(), `${prefix}.leases[]`, {
                limits: opts.limits?.leases$
              })) {
                yield {
                  ...evt,
                  index: obj.leases
                }
              }

              obj.leases++

              break
            }
            case 2: {
              yield {
                field: `${prefix}.retryAfterMs`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.error`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.message`,
                value: reader.string()
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

  export interface WorkResponseLeasesReplicaIdFieldEvent {
    field: '$.leases[].replicaId'
    value: string
    index: number
  }

  export interface WorkResponseLeasesWuIdFieldEvent {
    field: '$.leases[].wuId'
    value: string
    index: number
  }

  export interface WorkResponseLeasesJobIdFieldEvent {
    field: '$.leases[].jobId'
    value: string
    index: number
  }

  export interface WorkResponseLeasesKernelFieldEvent {
    field: '$.leases[].kernel'
    value: string
    index: number
  }

  export interface WorkResponseLeasesInputFieldEvent {
    field: '$.leases[].input'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface WorkResponseLeasesEstOpsFieldEvent {
    field: '$.leases[].estOps'
    value: number
    index: number
  }

  export interface WorkResponseLeasesMemoryBytesFieldEvent {
    field: '$.leases[].memoryBytes'
    value: number
    index: number
  }

  export interface WorkResponseLeasesDeadlineMsFieldEvent {
    field: '$.leases[].deadlineMs'
    value: number
    index: number
  }

  export interface WorkResponseLeasesLeaseExpiresAtMsFieldEvent {
    field: '$.leases[].leaseExpiresAtMs'
    value: number
    index: number
  }

  export interface WorkResponseLeasesCreditFieldEvent {
    field: '$.leases[].credit'
    value: number
    index: number
  }

  export interface WorkResponseRetryAfterMsFieldEvent {
    field: '$.retryAfterMs'
    value: number
  }

  export interface WorkResponseErrorFieldEvent {
    field: '$.error'
    value: string
  }

  export interface WorkResponseMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export function encode (obj: Partial<WorkResponse>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, WorkResponse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WorkResponse>): WorkResponse {
    return decodeMessage(buf, WorkResponse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WorkResponse>): Generator<WorkResponseLeasesReplicaIdFieldEvent | WorkResponseLeasesWuIdFieldEvent | WorkResponseLeasesJobIdFieldEvent | WorkResponseLeasesKernelFieldEvent | WorkResponseLeasesInputFieldEvent | WorkResponseLeasesEstOpsFieldEvent | WorkResponseLeasesMemoryBytesFieldEvent | WorkResponseLeasesDeadlineMsFieldEvent | WorkResponseLeasesLeaseExpiresAtMsFieldEvent | WorkResponseLeasesCreditFieldEvent | WorkResponseRetryAfterMsFieldEvent | WorkResponseErrorFieldEvent | WorkResponseMessageFieldEvent> {
    return streamMessage(buf, WorkResponse.codec(), opts)
  }
}

export interface ResultPayload {
  replicaId: string
  wuId: string
  outcome: string
  output: Uint8Array<ArrayBuffer>
  outputSha256: Uint8Array<ArrayBuffer>
  elapsedMs: number
  deviceClass: string
  errorMessage: string
}

export namespace ResultPayload {
  let _codec: Codec<ResultPayload>

  export const codec = (): Codec<ResultPayload> => {
    if (_codec == null) {
      _codec = message<ResultPayload>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.replicaId != null && obj.replicaId !== '')) {
          w.uint32(10)
          w.string(obj.replicaId)
        }

        if ((obj.wuId != null && obj.wuId !== '')) {
          w.uint32(18)
          w.string(obj.wuId)
        }

        if ((obj.outcome != null && obj.outcome !== '')) {
          w.uint32(26)
          w.string(obj.outcome)
        }

        if ((obj.output != null && obj.output.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.output)
        }

        if ((obj.outputSha256 != null && obj.outputSha256.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.outputSha256)
        }

        if ((obj.elapsedMs != null && obj.elapsedMs !== 0)) {
          w.uint32(48)
          w.uint32(obj.elapsedMs)
        }

        if ((obj.deviceClass != null && obj.deviceClass !== '')) {
          w.uint32(58)
          w.string(obj.deviceClass)
        }

        if ((obj.errorMessage != null && obj.errorMessage !== '')) {
          w.uint32(66)
          w.string(obj.errorMessage)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          replicaId: '',
          wuId: '',
          outcome: '',
          output: uint8ArrayAlloc(0),
          outputSha256: uint8ArrayAlloc(0),
          elapsedMs: 0,
          deviceClass: '',
          errorMessage: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.replicaId = reader.string()
              break
            }
            case 2: {
              obj.wuId = reader.string()
              break
            }
            case 3: {
              obj.outcome = reader.string()
              break
            }
            case 4: {
              obj.output = reader.bytes()
              break
            }
            case 5: {
              obj.outputSha256 = reader.bytes()
              break
            }
            case 6: {
              obj.elapsedMs = reader.uint32()
              break
            }
            case 7: {
              obj.deviceClass = reader.string()
              break
            }
            case 8: {
              obj.errorMessage = reader.string()
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
                field: `${prefix}.replicaId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.wuId`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.outcome`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.output`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.outputSha256`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.elapsedMs`,
                value: reader.uint32()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.deviceClass`,
                value: reader.string()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.errorMessage`,
                value: reader.string()
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

  export interface ResultPayloadReplicaIdFieldEvent {
    field: '$.replicaId'
    value: string
  }

  export interface ResultPayloadWuIdFieldEvent {
    field: '$.wuId'
    value: string
  }

  export interface ResultPayloadOutcomeFieldEvent {
    field: '$.outcome'
    value: string
  }

  export interface ResultPayloadOutputFieldEvent {
    field: '$.output'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ResultPayloadOutputSha256FieldEvent {
    field: '$.outputSha256'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ResultPayloadElapsedMsFieldEvent {
    field: '$.elapsedMs'
    value: number
  }

  export interface ResultPayloadDeviceClassFieldEvent {
    field: '$.deviceClass'
    value: string
  }

  export interface ResultPayloadErrorMessageFieldEvent {
    field: '$.errorMessage'
    value: string
  }

  export function encode (obj: Partial<ResultPayload>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ResultPayload.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ResultPayload>): ResultPayload {
    return decodeMessage(buf, ResultPayload.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ResultPayload>): Generator<ResultPayloadReplicaIdFieldEvent | ResultPayloadWuIdFieldEvent | ResultPayloadOutcomeFieldEvent | ResultPayloadOutputFieldEvent | ResultPayloadOutputSha256FieldEvent | ResultPayloadElapsedMsFieldEvent | ResultPayloadDeviceClassFieldEvent | ResultPayloadErrorMessageFieldEvent> {
    return streamMessage(buf, ResultPayload.codec(), opts)
  }
}

export interface SignedResult {
  payload: Uint8Array<ArrayBuffer>
  publicKey: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
}

export namespace SignedResult {
  let _codec: Codec<SignedResult>

  export const codec = (): Codec<SignedResult> => {
    if (_codec == null) {
      _codec = message<SignedResult>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.payload != null && obj.payload.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.payload)
        }

        if ((obj.publicKey != null && obj.publicKey.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.publicKey)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.signature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          payload: uint8ArrayAlloc(0),
          publicKey: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.payload = reader.bytes()
              break
            }
            case 2: {
              obj.publicKey = reader.bytes()
              break
            }
            case 3: {
              obj.signature = reader.bytes()
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
                field: `${prefix}.payload`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.publicKey`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.signature`,
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

  export interface SignedResultPayloadFieldEvent {
    field: '$.payload'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedResultPublicKeyFieldEvent {
    field: '$.publicKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedResultSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<SignedResult>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SignedResult.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SignedResult>): SignedResult {
    return decodeMessage(buf, SignedResult.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SignedResult>): Generator<SignedResultPayloadFieldEvent | SignedResultPublicKeyFieldEvent | SignedResultSignatureFieldEvent> {
    return streamMessage(buf, SignedResult.codec(), opts)
  }
}

export interface ResultRequest {
  result?: SignedResult
  receiptsAfter: number
}

export namespace ResultRequest {
  let _codec: Codec<ResultRequest>

  export const codec = (): Codec<ResultRequest> => {
    if (_codec == null) {
      _codec = message<ResultRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.result != null) {
          w.uint32(10)
          SignedResult.codec().encode(obj.result, w)
        }

        if ((obj.receiptsAfter != null && obj.receiptsAfter !== 0)) {
          w.uint32(16)
          w.uint64Number(obj.receiptsAfter)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          receiptsAfter: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.result = SignedResult.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.result
              })
              break
            }
            case 2: {
              obj.receiptsAfter = reader.uint64Number()
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
              yield * SignedResult.codec().stream(reader, reader.uint32(), `${prefix}.result`, {
                limits: opts.limits?.result
              })

              break
            }
            case 2: {
              yield {
                field: `${prefix}.receiptsAfter`,
                value: reader.uint64Number()
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

  export interface ResultRequestResultPayloadFieldEvent {
    field: '$.result.payload'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ResultRequestResultPublicKeyFieldEvent {
    field: '$.result.publicKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ResultRequestResultSignatureFieldEvent {
    field: '$.result.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ResultRequestReceiptsAfterFieldEvent {
    field: '$.receiptsAfter'
    value: number
  }

  export function encode (obj: Partial<ResultRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ResultRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ResultRequest>): ResultRequest {
    return decodeMessage(buf, ResultRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ResultRequest>): Generator<ResultRequestResultPayloadFieldEvent | ResultRequestResultPublicKeyFieldEvent | ResultRequestResultSignatureFieldEvent | ResultRequestReceiptsAfterFieldEvent> {
    return streamMessage(buf, ResultRequest.codec(), opts)
  }
}

export interface ResultAck {
  replicaId: string
  wuId: string
  peerId: string
  outputSha256: Uint8Array<ArrayBuffer>
  acceptedAtMs: number
}

export namespace ResultAck {
  let _codec: Codec<ResultAck>

  export const codec = (): Codec<ResultAck> => {
    if (_codec == null) {
      _codec = message<ResultAck>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.replicaId != null && obj.replicaId !== '')) {
          w.uint32(10)
          w.string(obj.replicaId)
        }

        if ((obj.wuId != null && obj.wuId !== '')) {
          w.uint32(18)
          w.string(obj.wuId)
        }

        if ((obj.peerId != null && obj.peerId !== '')) {
          w.uint32(26)
          w.string(obj.peerId)
        }

        if ((obj.outputSha256 != null && obj.outputSha256.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.outputSha256)
        }

        if ((obj.acceptedAtMs != null && obj.acceptedAtMs !== 0)) {
          w.uint32(40)
          w.uint64Number(obj.acceptedAtMs)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          replicaId: '',
          wuId: '',
          peerId: '',
          outputSha256: uint8ArrayAlloc(0),
          acceptedAtMs: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.replicaId = reader.string()
              break
            }
            case 2: {
              obj.wuId = reader.string()
              break
            }
            case 3: {
              obj.peerId = reader.string()
              break
            }
            case 4: {
              obj.outputSha256 = reader.bytes()
              break
            }
            case 5: {
              obj.acceptedAtMs = reader.uint64Number()
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
                field: `${prefix}.replicaId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.wuId`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.peerId`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.outputSha256`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.acceptedAtMs`,
                value: reader.uint64Number()
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

  export interface ResultAckReplicaIdFieldEvent {
    field: '$.replicaId'
    value: string
  }

  export interface ResultAckWuIdFieldEvent {
    field: '$.wuId'
    value: string
  }

  export interface ResultAckPeerIdFieldEvent {
    field: '$.peerId'
    value: string
  }

  export interface ResultAckOutputSha256FieldEvent {
    field: '$.outputSha256'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ResultAckAcceptedAtMsFieldEvent {
    field: '$.acceptedAtMs'
    value: number
  }

  export function encode (obj: Partial<ResultAck>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ResultAck.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ResultAck>): ResultAck {
    return decodeMessage(buf, ResultAck.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ResultAck>): Generator<ResultAckReplicaIdFieldEvent | ResultAckWuIdFieldEvent | ResultAckPeerIdFieldEvent | ResultAckOutputSha256FieldEvent | ResultAckAcceptedAtMsFieldEvent> {
    return streamMessage(buf, ResultAck.codec(), opts)
  }
}

export interface CreditEntry {
  seq: number
  peerId: string
  jobId: string
  wuId: string
  replicaId: string
  credit: number
  grantedAtMs: number
  prevHash: Uint8Array<ArrayBuffer>
  reverses: number
  version: number
  creditUnits: number
  payoutAddress: string
  payoutBoundAtMs: number
  payoutSignature: Uint8Array<ArrayBuffer>
}

export namespace CreditEntry {
  let _codec: Codec<CreditEntry>

  export const codec = (): Codec<CreditEntry> => {
    if (_codec == null) {
      _codec = message<CreditEntry>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.seq != null && obj.seq !== 0)) {
          w.uint32(8)
          w.uint64Number(obj.seq)
        }

        if ((obj.peerId != null && obj.peerId !== '')) {
          w.uint32(18)
          w.string(obj.peerId)
        }

        if ((obj.jobId != null && obj.jobId !== '')) {
          w.uint32(26)
          w.string(obj.jobId)
        }

        if ((obj.wuId != null && obj.wuId !== '')) {
          w.uint32(34)
          w.string(obj.wuId)
        }

        if ((obj.replicaId != null && obj.replicaId !== '')) {
          w.uint32(42)
          w.string(obj.replicaId)
        }

        if ((obj.credit != null && obj.credit !== 0)) {
          w.uint32(49)
          w.double(obj.credit)
        }

        if ((obj.grantedAtMs != null && obj.grantedAtMs !== 0)) {
          w.uint32(56)
          w.uint64Number(obj.grantedAtMs)
        }

        if ((obj.prevHash != null && obj.prevHash.byteLength > 0)) {
          w.uint32(66)
          w.bytes(obj.prevHash)
        }

        if ((obj.reverses != null && obj.reverses !== 0)) {
          w.uint32(72)
          w.uint64Number(obj.reverses)
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(80)
          w.uint32(obj.version)
        }

        if ((obj.creditUnits != null && obj.creditUnits !== 0)) {
          w.uint32(88)
          w.sint64Number(obj.creditUnits)
        }

        if ((obj.payoutAddress != null && obj.payoutAddress !== '')) {
          w.uint32(98)
          w.string(obj.payoutAddress)
        }

        if ((obj.payoutBoundAtMs != null && obj.payoutBoundAtMs !== 0)) {
          w.uint32(104)
          w.uint64Number(obj.payoutBoundAtMs)
        }

        if ((obj.payoutSignature != null && obj.payoutSignature.byteLength > 0)) {
          w.uint32(114)
          w.bytes(obj.payoutSignature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          seq: 0,
          peerId: '',
          jobId: '',
          wuId: '',
          replicaId: '',
          credit: 0,
          grantedAtMs: 0,
          prevHash: uint8ArrayAlloc(0),
          reverses: 0,
          version: 0,
          creditUnits: 0,
          payoutAddress: '',
          payoutBoundAtMs: 0,
          payoutSignature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.seq = reader.uint64Number()
              break
            }
            case 2: {
              obj.peerId = reader.string()
              break
            }
            case 3: {
              obj.jobId = reader.string()
              break
            }
            case 4: {
              obj.wuId = reader.string()
              break
            }
            case 5: {
              obj.replicaId = reader.string()
              break
            }
            case 6: {
              obj.credit = reader.double()
              break
            }
            case 7: {
              obj.grantedAtMs = reader.uint64Number()
              break
            }
            case 8: {
              obj.prevHash = reader.bytes()
              break
            }
            case 9: {
              obj.reverses = reader.uint64Number()
              break
            }
            case 10: {
              obj.version = reader.uint32()
              break
            }
            case 11: {
              obj.creditUnits = reader.sint64Number()
              break
            }
            case 12: {
              obj.payoutAddress = reader.string()
              break
            }
            case 13: {
              obj.payoutBoundAtMs = reader.uint64Number()
              break
            }
            case 14: {
              obj.payoutSignature = reader.bytes()
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
                field: `${prefix}.seq`,
                value: reader.uint64Number()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.peerId`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.jobId`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.wuId`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.replicaId`,
                value: reader.string()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.credit`,
                value: reader.double()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.grantedAtMs`,
                value: reader.uint64Number()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.prevHash`,
                value: reader.bytes()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.reverses`,
                value: reader.uint64Number()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint32()
              }
              break
            }
            case 11: {
              yield {
                field: `${prefix}.creditUnits`,
                value: reader.sint64Number()
              }
              break
            }
            case 12: {
              yield {
                field: `${prefix}.payoutAddress`,
                value: reader.string()
              }
              break
            }
            case 13: {
              yield {
                field: `${prefix}.payoutBoundAtMs`,
                value: reader.uint64Number()
              }
              break
            }
            case 14: {
              yield {
                field: `${prefix}.payoutSignature`,
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

  export interface CreditEntrySeqFieldEvent {
    field: '$.seq'
    value: number
  }

  export interface CreditEntryPeerIdFieldEvent {
    field: '$.peerId'
    value: string
  }

  export interface CreditEntryJobIdFieldEvent {
    field: '$.jobId'
    value: string
  }

  export interface CreditEntryWuIdFieldEvent {
    field: '$.wuId'
    value: string
  }

  export interface CreditEntryReplicaIdFieldEvent {
    field: '$.replicaId'
    value: string
  }

  export interface CreditEntryCreditFieldEvent {
    field: '$.credit'
    value: number
  }

  export interface CreditEntryGrantedAtMsFieldEvent {
    field: '$.grantedAtMs'
    value: number
  }

  export interface CreditEntryPrevHashFieldEvent {
    field: '$.prevHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CreditEntryReversesFieldEvent {
    field: '$.reverses'
    value: number
  }

  export interface CreditEntryVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface CreditEntryCreditUnitsFieldEvent {
    field: '$.creditUnits'
    value: number
  }

  export interface CreditEntryPayoutAddressFieldEvent {
    field: '$.payoutAddress'
    value: string
  }

  export interface CreditEntryPayoutBoundAtMsFieldEvent {
    field: '$.payoutBoundAtMs'
    value: number
  }

  export interface CreditEntryPayoutSignatureFieldEvent {
    field: '$.payoutSignature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<CreditEntry>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, CreditEntry.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CreditEntry>): CreditEntry {
    return decodeMessage(buf, CreditEntry.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CreditEntry>): Generator<CreditEntrySeqFieldEvent | CreditEntryPeerIdFieldEvent | CreditEntryJobIdFieldEvent | CreditEntryWuIdFieldEvent | CreditEntryReplicaIdFieldEvent | CreditEntryCreditFieldEvent | CreditEntryGrantedAtMsFieldEvent | CreditEntryPrevHashFieldEvent | CreditEntryReversesFieldEvent | CreditEntryVersionFieldEvent | CreditEntryCreditUnitsFieldEvent | CreditEntryPayoutAddressFieldEvent | CreditEntryPayoutBoundAtMsFieldEvent | CreditEntryPayoutSignatureFieldEvent> {
    return streamMessage(buf, CreditEntry.codec(), opts)
  }
}

export interface PayoutBinding {
  peerId: string
  address: string
  boundAtMs: number
  ledgerPeerId: string
}

export namespace PayoutBinding {
  let _codec: Codec<PayoutBinding>

  export const codec = (): Codec<PayoutBinding> => {
    if (_codec == null) {
      _codec = message<PayoutBinding>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.peerId != null && obj.peerId !== '')) {
          w.uint32(10)
          w.string(obj.peerId)
        }

        if ((obj.address != null && obj.address !== '')) {
          w.uint32(18)
          w.string(obj.address)
        }

        if ((obj.boundAtMs != null && obj.boundAtMs !== 0)) {
          w.uint32(24)
          w.uint64Number(obj.boundAtMs)
        }

        if ((obj.ledgerPeerId != null && obj.ledgerPeerId !== '')) {
          w.uint32(34)
          w.string(obj.ledgerPeerId)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          peerId: '',
          address: '',
          boundAtMs: 0,
          ledgerPeerId: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.peerId = reader.string()
              break
            }
            case 2: {
              obj.address = reader.string()
              break
            }
            case 3: {
              obj.boundAtMs = reader.uint64Number()
              break
            }
            case 4: {
              obj.ledgerPeerId = reader.string()
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
                field: `${prefix}.peerId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.address`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.boundAtMs`,
                value: reader.uint64Number()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.ledgerPeerId`,
                value: reader.string()
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

  export interface PayoutBindingPeerIdFieldEvent {
    field: '$.peerId'
    value: string
  }

  export interface PayoutBindingAddressFieldEvent {
    field: '$.address'
    value: string
  }

  export interface PayoutBindingBoundAtMsFieldEvent {
    field: '$.boundAtMs'
    value: number
  }

  export interface PayoutBindingLedgerPeerIdFieldEvent {
    field: '$.ledgerPeerId'
    value: string
  }

  export function encode (obj: Partial<PayoutBinding>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, PayoutBinding.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PayoutBinding>): PayoutBinding {
    return decodeMessage(buf, PayoutBinding.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PayoutBinding>): Generator<PayoutBindingPeerIdFieldEvent | PayoutBindingAddressFieldEvent | PayoutBindingBoundAtMsFieldEvent | PayoutBindingLedgerPeerIdFieldEvent> {
    return streamMessage(buf, PayoutBinding.codec(), opts)
  }
}

export interface HubReceipt {
  body: Uint8Array<ArrayBuffer>
  bodyHash: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
  proof: Uint8Array<ArrayBuffer>[]
}

export namespace HubReceipt {
  let _codec: Codec<HubReceipt>

  export const codec = (): Codec<HubReceipt> => {
    if (_codec == null) {
      _codec = message<HubReceipt>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.body != null && obj.body.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.body)
        }

        if ((obj.bodyHash != null && obj.bodyHash.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.bodyHash)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.signature)
        }

        if (obj.proof != null && obj.proof.length > 0) {
          for (const value of obj.proof) {
            w.uint32(34)
            w.bytes(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          body: uint8ArrayAlloc(0),
          bodyHash: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0),
          proof: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.body = reader.bytes()
              break
            }
            case 2: {
              obj.bodyHash = reader.bytes()
              break
            }
            case 3: {
              obj.signature = reader.bytes()
              break
            }
            case 4: {
              if (opts.limits?.proof != null && obj.proof.length === opts.limits.proof) {
                throw new MaxLengthError('Decode error - repeated field "proof" had too many elements')
              }

              obj.proof.push(reader.bytes())
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
          proof: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.body`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.bodyHash`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              if (opts.limits?.proof != null && obj.proof === opts.limits.proof) {
                throw new MaxLengthError('Streaming decode error - repeated field "proof" had too many elements')
              }

              yield {
                field: `${prefix}.proof[]`,
                index: obj.proof,
                value: reader.bytes()
              }

              obj.proof++

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

  export interface HubReceiptBodyFieldEvent {
    field: '$.body'
    value: Uint8Array<ArrayBuffer>
  }

  export interface HubReceiptBodyHashFieldEvent {
    field: '$.bodyHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface HubReceiptSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface HubReceiptProofFieldEvent {
    field: '$.proof[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<HubReceipt>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, HubReceipt.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HubReceipt>): HubReceipt {
    return decodeMessage(buf, HubReceipt.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HubReceipt>): Generator<HubReceiptBodyFieldEvent | HubReceiptBodyHashFieldEvent | HubReceiptSignatureFieldEvent | HubReceiptProofFieldEvent> {
    return streamMessage(buf, HubReceipt.codec(), opts)
  }
}

export interface LedgerDelegation {
  publicKey: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
}

export namespace LedgerDelegation {
  let _codec: Codec<LedgerDelegation>

  export const codec = (): Codec<LedgerDelegation> => {
    if (_codec == null) {
      _codec = message<LedgerDelegation>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.publicKey != null && obj.publicKey.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.publicKey)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.signature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          publicKey: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.publicKey = reader.bytes()
              break
            }
            case 2: {
              obj.signature = reader.bytes()
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
                field: `${prefix}.publicKey`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.signature`,
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

  export interface LedgerDelegationPublicKeyFieldEvent {
    field: '$.publicKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface LedgerDelegationSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<LedgerDelegation>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, LedgerDelegation.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LedgerDelegation>): LedgerDelegation {
    return decodeMessage(buf, LedgerDelegation.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LedgerDelegation>): Generator<LedgerDelegationPublicKeyFieldEvent | LedgerDelegationSignatureFieldEvent> {
    return streamMessage(buf, LedgerDelegation.codec(), opts)
  }
}

export interface ResultResponse {
  status: string
  error: string
  message: string
  ack?: HubReceipt
  credits: HubReceipt[]
  creditsUpTo: number
  ledgerSalt: Uint8Array<ArrayBuffer>
  ledgerKey?: LedgerDelegation
}

export namespace ResultResponse {
  let _codec: Codec<ResultResponse>

  export const codec = (): Codec<ResultResponse> => {
    if (_codec == null) {
      _codec = message<ResultResponse>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.status != null && obj.status !== '')) {
          w.uint32(10)
          w.string(obj.status)
        }

        if ((obj.error != null && obj.error !== '')) {
          w.uint32(18)
          w.string(obj.error)
        }

        if ((obj.message != null && obj.message !== '')) {
          w.uint32(26)
          w.string(obj.message)
        }

        if (obj.ack != null) {
          w.uint32(34)
          HubReceipt.codec().encode(obj.ack, w)
        }

        if (obj.credits != null && obj.credits.length > 0) {
          for (const value of obj.credits) {
            w.uint32(42)
            HubReceipt.codec().encode(value, w)
          }
        }

        if ((obj.creditsUpTo != null && obj.creditsUpTo !== 0)) {
          w.uint32(48)
          w.uint64Number(obj.creditsUpTo)
        }

        if ((obj.ledgerSalt != null && obj.ledgerSalt.byteLength > 0)) {
          w.uint32(58)
          w.bytes(obj.ledgerSalt)
        }

        if (obj.ledgerKey != null) {
          w.uint32(66)
          LedgerDelegation.codec().encode(obj.ledgerKey, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          status: '',
          error: '',
          message: '',
          credits: [],
          creditsUpTo: 0,
          ledgerSalt: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.status = reader.string()
              break
            }
            case 2: {
              obj.error = reader.string()
              break
            }
            case 3: {
              obj.message = reader.string()
              break
            }
            case 4: {
              obj.ack = HubReceipt.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.ack
              })
              break
            }
            case 5: {
              if (opts.limits?.credits != null && obj.credits.length === opts.limits.credits) {
                throw new MaxLengthError('Decode error - repeated field "credits" had too many elements')
              }

              obj.credits.push(HubReceipt.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.credits$
              }))
              break
            }
            case 6: {
              obj.creditsUpTo = reader.uint64Number()
              break
            }
            case 7: {
              obj.ledgerSalt = reader.bytes()
              break
            }
            case 8: {
              obj.ledgerKey = LedgerDelegation.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.ledgerKey
              })
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
          credits: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.status`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.error`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.message`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield * HubReceipt.codec().stream(reader, reader.uint32(), `${prefix}.ack`, {
                limits: opts.limits?.ack
              })

              break
            }
            case 5: {
              if (opts.limits?.credits != null && obj.credits === opts.limits.credits) {
                throw new MaxLengthError('Streaming decode error - repeated field "credits" had too many elements')
              }

              for (const evt of HubReceipt.codec().stream(reader, reader.uint32(), `${prefix}.credits[]`, {
                limits: opts.limits?.credits$
              })) {
                yield {
                  ...evt,
                  index: obj.credits
                }
              }

              obj.credits++

              break
            }
            case 6: {
              yield {
                field: `${prefix}.creditsUpTo`,
                value: reader.uint64Number()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.ledgerSalt`,
                value: reader.bytes()
              }
              break
            }
            case 8: {
              yield * LedgerDelegation.codec().stream(reader, reader.uint32(), `${prefix}.ledgerKey`, {
                limits: opts.limits?.ledgerKey
              })

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

  export interface ResultResponseStatusFieldEvent {
    field: '$.status'
    value: string
  }

  export interface ResultResponseErrorFieldEvent {
    field: '$.error'
    value: string
  }

  export interface ResultResponseMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export interface ResultResponseAckBodyFieldEvent {
    field: '$.ack.body'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ResultResponseAckBodyHashFieldEvent {
    field: '$.ack.bodyHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ResultResponseAckSignatureFieldEvent {
    field: '$.ack.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ResultResponseAckProofFieldEvent {
    field: '$.ack.proof[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface ResultResponseCreditsBodyFieldEvent {
    field: '$.credits[].body'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ResultResponseCreditsBodyHashFieldEvent {
    field: '$.credits[].bodyHash'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ResultResponseCreditsSignatureFieldEvent {
    field: '$.credits[].signature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ResultResponseCreditsProofFieldEvent {
    field: '$.credits[].proof[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface ResultResponseCreditsUpToFieldEvent {
    field: '$.creditsUpTo'
    value: number
  }

  export interface ResultResponseLedgerSaltFieldEvent {
    field: '$.ledgerSalt'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ResultResponseLedgerKeyPublicKeyFieldEvent {
    field: '$.ledgerKey.publicKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ResultResponseLedgerKeySignatureFieldEvent {
    field: '$.ledgerKey.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<ResultResponse>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ResultResponse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ResultResponse>): ResultResponse {
    return decodeMessage(buf, ResultResponse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ResultResponse>): Generator<ResultResponseStatusFieldEvent | ResultResponseErrorFieldEvent | ResultResponseMessageFieldEvent | ResultResponseAckBodyFieldEvent | ResultResponseAckBodyHashFieldEvent | ResultResponseAckSignatureFieldEvent | ResultResponseAckProofFieldEvent | ResultResponseCreditsBodyFieldEvent | ResultResponseCreditsBodyHashFieldEvent | ResultResponseCreditsSignatureFieldEvent | ResultResponseCreditsProofFieldEvent | ResultResponseCreditsUpToFieldEvent | ResultResponseLedgerSaltFieldEvent | ResultResponseLedgerKeyPublicKeyFieldEvent | ResultResponseLedgerKeySignatureFieldEvent> {
    return streamMessage(buf, ResultResponse.codec(), opts)
  }
}

export interface ResultBatchRequest {
  results: SignedResult[]
  receiptsAfter: number
}

export namespace ResultBatchRequest {
  let _codec: Codec<ResultBatchRequest>

  export const codec = (): Codec<ResultBatchRequest> => {
    if (_codec == null) {
      _codec = message<ResultBatchRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.results != null && obj.results.length > 0) {
          for (const value of obj.results) {
            w.uint32(10)
            SignedResult.codec().encode(value, w)
          }
        }

        if ((obj.receiptsAfter != null && obj.receiptsAfter !== 0)) {
          w.uint32(16)
          w.uint64Number(obj.receiptsAfter)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          results: [],
          receiptsAfter: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.results != null && obj.results.length === opts.limits.results) {
                throw new MaxLengthError('Decode error - repeated field "results" had too many elements')
              }

              obj.results.push(SignedResult.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.results$
              }))
              break
            }
            case 2: {
              obj.receiptsAfter = reader.uint64Number()
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
          results: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.results != null && obj.results === opts.limits.results) {
                throw new MaxLengthError('Streaming decode error - repeated field "results" had too many elements')
              }

              for (const evt of SignedResult.codec().stream(reader, reader.uint32(), `${prefix}.results[]`, {
                limits: opts.limits?.results$
              })) {
                yield {
                  ...evt,
                  index: obj.results
                }
              }

              obj.results++

              break
            }
            case 2: {
              yield {
                field: `${prefix}.receiptsAfter`,
                value: reader.uint64Number()
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

  export interface ResultBatchRequestResultsPayloadFieldEvent {
    field: '$.results[].payload'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ResultBatchRequestResultsPublicKeyFieldEvent {
    field: '$.results[].publicKey'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ResultBatchRequestResultsSignatureFieldEvent {
    field: '$.results[].signature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ResultBatchRequestReceiptsAfterFieldEvent {
    field: '$.receiptsAfter'
    value: number
  }

  export function encode (obj: Partial<ResultBatchRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ResultBatchRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ResultBatchRequest>): ResultBatchRequest {
    return decodeMessage(buf, ResultBatchRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ResultBatchRequest>): Generator<ResultBatchRequestResultsPayloadFieldEvent | ResultBatchRequestResultsPublicKeyFieldEvent | ResultBatchRequestResultsSignatureFieldEvent | ResultBatchRequestReceiptsAfterFieldEvent> {
    return streamMessage(buf, ResultBatchRequest.codec(), opts)
  }
}

export interface SubmitOutcome {
  status: string
  error: string
  message: string
  ack?: HubReceipt
}

export namespace SubmitOutcome {
  let _codec: Codec<SubmitOutcome>

  export const codec = (): Codec<SubmitOutcome> => {
    if (_codec == null) {
      _codec = message<SubmitOutcome>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.status != null && obj.status !== '')) {
          w.uint32(10)
          w.string(obj.status)
        }

        if ((obj.error != null && obj.error !== '')) {
          w.uint32(18)
          w.string(obj.error)
        }

        if ((obj.message != null && obj.message !== '')) {
          w.uint32(26)
          w.string(obj.message)
        }

        if (obj.ack != null) {
          w.uint32(34)
          HubReceipt.codec().encode(obj.ack, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          status: '',
          error: '',
          message: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.status = reader.string()
              break
            }
            case 2: {
              obj.error = reader.string()
              break
            }
            case 3: {
              obj.message = reader.string()
              break
            }
            case 4: {
              obj.ack = HubReceipt.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.ack
              })
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
                field: `${prefix}.status`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.error`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.message`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield * HubReceipt.codec().stream(reader, reader.uint32(), `${prefix}.ack`, {
                limits: opts.limits?.ack
              })

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

  export interface SubmitOutcomeStatusFieldEvent {
    field: '$.status'
    value: string
  }

  export interface SubmitOutcomeErrorFieldEvent {
    field: '$.error'
    value: string
  }

  export interface SubmitOutcomeMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export interface SubmitOutcomeAckBodyFieldEvent {
    field: '$.ack.body'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SubmitOutcomeAckBodyHashFieldEvent {
    field: '$.ack.bodyHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SubmitOutcomeAckSignatureFieldEvent {
    field: '$.ack.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SubmitOutcomeAckProofFieldEvent {
    field: '$.ack.proof[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<SubmitOutcome>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SubmitOutcome.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SubmitOutcome>): SubmitOutcome {
    return decodeMessage(buf, SubmitOutcome.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SubmitOutcome>): Generator<SubmitOutcomeStatusFieldEvent | SubmitOutcomeErrorFieldEvent | SubmitOutcomeMessageFieldEvent | SubmitOutcomeAckBodyFieldEvent | SubmitOutcomeAckBodyHashFieldEvent | SubmitOutcomeAckSignatureFieldEvent | SubmitOutcomeAckProofFieldEvent> {
    return streamMessage(buf, SubmitOutcome.codec(), opts)
  }
}

export interface ResultBatchResponse {
  outcomes: SubmitOutcome[]
  credits: HubReceipt[]
  creditsUpTo: number
  ledgerSalt: Uint8Array<ArrayBuffer>
  ledgerKey?: LedgerDelegation
}

export namespace ResultBatchResponse {
  let _codec: Codec<ResultBatchResponse>

  export const codec = (): Codec<ResultBatchResponse> => {
    if (_codec == null) {
      _codec = message<ResultBatchResponse>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.outcomes != null && obj.outcomes.length > 0) {
          for (const value of obj.outcomes) {
            w.uint32(10)
            SubmitOutcome.codec().encode(value, w)
          }
        }

        if (obj.credits != null && obj.credits.length > 0) {
          for (const value of obj.credits) {
            w.uint32(18)
            HubReceipt.codec().encode(value, w)
          }
        }

        if ((obj.creditsUpTo != null && obj.creditsUpTo !== 0)) {
          w.uint32(24)
          w.uint64Number(obj.creditsUpTo)
        }

        if ((obj.ledgerSalt != null && obj.ledgerSalt.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.ledgerSalt)
        }

        if (obj.ledgerKey != null) {
          w.uint32(42)
          LedgerDelegation.codec().encode(obj.ledgerKey, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          outcomes: [],
          credits: [],
          creditsUpTo: 0,
          ledgerSalt: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.outcomes != null && obj.outcomes.length === opts.limits.outcomes) {
                throw new MaxLengthError('Decode error - repeated field "outcomes" had too many elements')
              }

              obj.outcomes.push(SubmitOutcome.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.outcomes$
              }))
              break
            }
            case 2: {
              if (opts.limits?.credits != null && obj.credits.length === opts.limits.credits) {
                throw new MaxLengthError('Decode error - repeated field "credits" had too many elements')
              }

              obj.credits.push(HubReceipt.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.credits$
              }))
              break
            }
            case 3: {
              obj.creditsUpTo = reader.uint64Number()
              break
            }
            case 4: {
              obj.ledgerSalt = reader.bytes()
              break
            }
            case 5: {
              obj.ledgerKey = LedgerDelegation.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.ledgerKey
              })
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
          outcomes: 0,
          credits: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.outcomes != null && obj.outcomes === opts.limits.outcomes) {
                throw new MaxLengthError('Streaming decode error - repeated field "outcomes" had too many elements')
              }

              for (const evt of SubmitOutcome.codec().stream(reader, reader.uint32(), `${prefix}.outcomes[]`, {
                limits: opts.limits?.outcomes$
              })) {
                yield {
                  ...evt,
                  index: obj.outcomes
                }
              }

              obj.outcomes++

              break
            }
            case 2: {
              if (opts.limits?.credits != null && obj.credits === opts.limits.credits) {
                throw new MaxLengthError('Streaming decode error - repeated field "credits" had too many elements')
              }

              for (const evt of HubReceipt.codec().stream(reader, reader.uint32(), `${prefix}.credits[]`, {
                limits: opts.limits?.credits$
              })) {
                yield {
                  ...evt,
                  index: obj.credits
                }
              }

              obj.credits++

              break
            }
            case 3: {
              yield {
                field: `${prefix}.creditsUpTo`,
                value: reader.uint64Number()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.ledgerSalt`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield * LedgerDelegation.codec().stream(reader, reader.uint32(), `${prefix}.ledgerKey`, {
                limits: opts.limits?.ledgerKey
              })

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

  export interface ResultBatchResponseOutcomesStatusFieldEvent {
    field: '$.outcomes[].status'
    value: string
    index: number
  }

  export interface ResultBatchResponseOutcomesErrorFieldEvent {
    field: '$.outcomes[].error'
    value: string
    index: number
  }

  export interface ResultBatchResponseOutcomesMessageFieldEvent {
    field: '$.outcomes[].message'
    value: string
    index: number
  }

  export interface ResultBatchResponseOutcomesAckBodyFieldEvent {
    field: '$.outcomes[].ack.body'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ResultBatchResponseOutcomesAckBodyHashFieldEvent {
    field: '$.outcomes[].ack.bodyHash'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ResultBatchResponseOutcomesAckSignatureFieldEvent {
    field: '$.outcomes[].ack.signature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ResultBatchResponseOutcomesAckProofFieldEvent {
    field: '$.outcomes[].ack.proof[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface ResultBatchResponseCreditsBodyFieldEvent {
    field: '$.credits[].body'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ResultBatchResponseCreditsBodyHashFieldEvent {
    field: '$.credits[].bodyHash'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ResultBatchResponseCreditsSignatureFieldEvent {
    field: '$.credits[].signature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ResultBatchResponseCreditsProofFieldEvent {
    field: '$.credits[].proof[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface ResultBatchResponseCreditsUpToFieldEvent {
    field: '$.creditsUpTo'
    value: number
  }

  export interface ResultBatchResponseLedgerSaltFieldEvent {
    field: '$.ledgerSalt'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ResultBatchResponseLedgerKeyPublicKeyFieldEvent {
    field: '$.ledgerKey.publicKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ResultBatchResponseLedgerKeySignatureFieldEvent {
    field: '$.ledgerKey.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<ResultBatchResponse>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ResultBatchResponse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ResultBatchResponse>): ResultBatchResponse {
    return decodeMessage(buf, ResultBatchResponse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ResultBatchResponse>): Generator<ResultBatchResponseOutcomesStatusFieldEvent | ResultBatchResponseOutcomesErrorFieldEvent | ResultBatchResponseOutcomesMessageFieldEvent | ResultBatchResponseOutcomesAckBodyFieldEvent | ResultBatchResponseOutcomesAckBodyHashFieldEvent | ResultBatchResponseOutcomesAckSignatureFieldEvent | ResultBatchResponseOutcomesAckProofFieldEvent | ResultBatchResponseCreditsBodyFieldEvent | ResultBatchResponseCreditsBodyHashFieldEvent | ResultBatchResponseCreditsSignatureFieldEvent | ResultBatchResponseCreditsProofFieldEvent | ResultBatchResponseCreditsUpToFieldEvent | ResultBatchResponseLedgerSaltFieldEvent | ResultBatchResponseLedgerKeyPublicKeyFieldEvent | ResultBatchResponseLedgerKeySignatureFieldEvent> {
    return streamMessage(buf, ResultBatchResponse.codec(), opts)
  }
}

export interface SignedResultBatchRequest {
  payloads: Uint8Array<ArrayBuffer>[]
  publicKey: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
  receiptsAfter: number
}

export namespace SignedResultBatchRequest {
  let _codec: Codec<SignedResultBatchRequest>

  export const codec = (): Codec<SignedResultBatchRequest> => {
    if (_codec == null) {
      _codec = message<SignedResultBatchRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.payloads != null && obj.payloads.length > 0) {
          for (const value of obj.payloads) {
            w.uint32(10)
            w.bytes(value)
          }
        }

        if ((obj.publicKey != null && obj.publicKey.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.publicKey)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.signature)
        }

        if ((obj.receiptsAfter != null && obj.receiptsAfter !== 0)) {
          w.uint32(32)
          w.uint64Number(obj.receiptsAfter)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          payloads: [],
          publicKey: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0),
          receiptsAfter: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.payloads != null && obj.payloads.length === opts.limits.payloads) {
                throw new MaxLengthError('Decode error - repeated field "payloads" had too many elements')
              }

              obj.payloads.push(reader.bytes())
              break
            }
            case 2: {
              obj.publicKey = reader.bytes()
              break
            }
            case 3: {
              obj.signature = reader.bytes()
              break
            }
            case 4: {
              obj.receiptsAfter = reader.uint64Number()
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
          payloads: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.payloads != null && obj.payloads === opts.limits.payloads) {
                throw new MaxLengthError('Streaming decode error - repeated field "payloads" had too many elements')
              }

              yield {
                field: `${prefix}.payloads[]`,
                index: obj.payloads,
                value: reader.bytes()
              }

              obj.payloads++

              break
            }
            case 2: {
              yield {
                field: `${prefix}.publicKey`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.receiptsAfter`,
                value: reader.uint64Number()
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

  export interface SignedResultBatchRequestPayloadsFieldEvent {
    field: '$.payloads[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedResultBatchRequestPublicKeyFieldEvent {
    field: '$.publicKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedResultBatchRequestSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedResultBatchRequestReceiptsAfterFieldEvent {
    field: '$.receiptsAfter'
    value: number
  }

  export function encode (obj: Partial<SignedResultBatchRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SignedResultBatchRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SignedResultBatchRequest>): SignedResultBatchRequest {
    return decodeMessage(buf, SignedResultBatchRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SignedResultBatchRequest>): Generator<SignedResultBatchRequestPayloadsFieldEvent | SignedResultBatchRequestPublicKeyFieldEvent | SignedResultBatchRequestSignatureFieldEvent | SignedResultBatchRequestReceiptsAfterFieldEvent> {
    return streamMessage(buf, SignedResultBatchRequest.codec(), opts)
  }
}

export interface BatchSignedResult {
  payload: Uint8Array<ArrayBuffer>
  publicKey: Uint8Array<ArrayBuffer>
  batchSignature: Uint8Array<ArrayBuffer>
  proof: Uint8Array<ArrayBuffer>[]
}

export namespace BatchSignedResult {
  let _codec: Codec<BatchSignedResult>

  export const codec = (): Codec<BatchSignedResult> => {
    if (_codec == null) {
      _codec = message<BatchSignedResult>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.payload != null && obj.payload.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.payload)
        }

        if ((obj.publicKey != null && obj.publicKey.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.publicKey)
        }

        if ((obj.batchSignature != null && obj.batchSignature.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.batchSignature)
        }

        if (obj.proof != null && obj.proof.length > 0) {
          for (const value of obj.proof) {
            w.uint32(42)
            w.bytes(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          payload: uint8ArrayAlloc(0),
          publicKey: uint8ArrayAlloc(0),
          batchSignature: uint8ArrayAlloc(0),
          proof: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.payload = reader.bytes()
              break
            }
            case 2: {
              obj.publicKey = reader.bytes()
              break
            }
            case 4: {
              obj.batchSignature = reader.bytes()
              break
            }
            case 5: {
              if (opts.limits?.proof != null && obj.proof.length === opts.limits.proof) {
                throw new MaxLengthError('Decode error - repeated field "proof" had too many elements')
              }

              obj.proof.push(reader.bytes())
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
          proof: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.payload`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.publicKey`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.batchSignature`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              if (opts.limits?.proof != null && obj.proof === opts.limits.proof) {
                throw new MaxLengthError('Streaming decode error - repeated field "proof" had too many elements')
              }

              yield {
                field: `${prefix}.proof[]`,
                index: obj.proof,
                value: reader.bytes()
              }

              obj.proof++

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

  export interface BatchSignedResultPayloadFieldEvent {
    field: '$.payload'
    value: Uint8Array<ArrayBuffer>
  }

  export interface BatchSignedResultPublicKeyFieldEvent {
    field: '$.publicKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface BatchSignedResultBatchSignatureFieldEvent {
    field: '$.batchSignature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface BatchSignedResultProofFieldEvent {
    field: '$.proof[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<BatchSignedResult>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, BatchSignedResult.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<BatchSignedResult>): BatchSignedResult {
    return decodeMessage(buf, BatchSignedResult.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<BatchSignedResult>): Generator<BatchSignedResultPayloadFieldEvent | BatchSignedResultPublicKeyFieldEvent | BatchSignedResultBatchSignatureFieldEvent | BatchSignedResultProofFieldEvent> {
    return streamMessage(buf, BatchSignedResult.codec(), opts)
  }
}

export interface SiteWorkRequest {
  maxUnits: number
  release: string[]
  deviceClass: string
  siteKey: string
}

export namespace SiteWorkRequest {
  let _codec: Codec<SiteWorkRequest>

  export const codec = (): Codec<SiteWorkRequest> => {
    if (_codec == null) {
      _codec = message<SiteWorkRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.maxUnits != null && obj.maxUnits !== 0)) {
          w.uint32(8)
          w.uint32(obj.maxUnits)
        }

        if (obj.release != null && obj.release.length > 0) {
          for (const value of obj.release) {
            w.uint32(18)
            w.string(value)
          }
        }

        if ((obj.deviceClass != null && obj.deviceClass !== '')) {
          w.uint32(26)
          w.string(obj.deviceClass)
        }

        if ((obj.siteKey != null && obj.siteKey !== '')) {
          w.uint32(34)
          w.string(obj.siteKey)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          maxUnits: 0,
          release: [],
          deviceClass: '',
          siteKey: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.maxUnits = reader.uint32()
              break
            }
            case 2: {
              if (opts.limits?.release != null && obj.release.length === opts.limits.release) {
                throw new MaxLengthError('Decode error - repeated field "release" had too many elements')
              }

              obj.release.push(reader.string())
              break
            }
            case 3: {
              obj.deviceClass = reader.string()
              break
            }
            case 4: {
              obj.siteKey = reader.string()
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
          release: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.maxUnits`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              if (opts.limits?.release != null && obj.release === opts.limits.release) {
                throw new MaxLengthError('Streaming decode error - repeated field "release" had too many elements')
              }

              yield {
                field: `${prefix}.release[]`,
                index: obj.release,
                value: reader.string()
              }

              obj.release++

              break
            }
            case 3: {
              yield {
                field: `${prefix}.deviceClass`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.siteKey`,
                value: reader.string()
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

  export interface SiteWorkRequestMaxUnitsFieldEvent {
    field: '$.maxUnits'
    value: number
  }

  export interface SiteWorkRequestReleaseFieldEvent {
    field: '$.release[]'
    index: number
    value: string
  }

  export interface SiteWorkRequestDeviceClassFieldEvent {
    field: '$.deviceClass'
    value: string
  }

  export interface SiteWorkRequestSiteKeyFieldEvent {
    field: '$.siteKey'
    value: string
  }

  export function encode (obj: Partial<SiteWorkRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SiteWorkRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SiteWorkRequest>): SiteWorkRequest {
    return decodeMessage(buf, SiteWorkRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SiteWorkRequest>): Generator<SiteWorkRequestMaxUnitsFieldEvent | SiteWorkRequestReleaseFieldEvent | SiteWorkRequestDeviceClassFieldEvent | SiteWorkRequestSiteKeyFieldEvent> {
    return streamMessage(buf, SiteWorkRequest.codec(), opts)
  }
}

export interface BlobRequest {
  cid: Uint8Array<ArrayBuffer>
  offset: number
  maxBytes: number
}

export namespace BlobRequest {
  let _codec: Codec<BlobRequest>

  export const codec = (): Codec<BlobRequest> => {
    if (_codec == null) {
      _codec = message<BlobRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.cid != null && obj.cid.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.cid)
        }

        if ((obj.offset != null && obj.offset !== 0)) {
          w.uint32(16)
          w.uint64Number(obj.offset)
        }

        if ((obj.maxBytes != null && obj.maxBytes !== 0)) {
          w.uint32(24)
          w.uint32(obj.maxBytes)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          cid: uint8ArrayAlloc(0),
          offset: 0,
          maxBytes: 0
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
              obj.offset = reader.uint64Number()
              break
            }
            case 3: {
              obj.maxBytes = reader.uint32()
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
                field: `${prefix}.offset`,
                value: reader.uint64Number()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.maxBytes`,
                value: reader.uint32()
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

  export interface BlobRequestCidFieldEvent {
    field: '$.cid'
    value: Uint8Array<ArrayBuffer>
  }

  export interface BlobRequestOffsetFieldEvent {
    field: '$.offset'
    value: number
  }

  export interface BlobRequestMaxBytesFieldEvent {
    field: '$.maxBytes'
    value: number
  }

  export function encode (obj: Partial<BlobRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, BlobRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<BlobRequest>): BlobRequest {
    return decodeMessage(buf, BlobRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<BlobRequest>): Generator<BlobRequestCidFieldEvent | BlobRequestOffsetFieldEvent | BlobRequestMaxBytesFieldEvent> {
    return streamMessage(buf, BlobRequest.codec(), opts)
  }
}

export interface BlobResponse {
  totalBytes: number
  offset: number
  data: Uint8Array<ArrayBuffer>
  error: string
  message: string
}

export namespace BlobResponse {
  let _codec: Codec<BlobResponse>

  export const codec = (): Codec<BlobResponse> => {
    if (_codec == null) {
      _codec = message<BlobResponse>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.totalBytes != null && obj.totalBytes !== 0)) {
          w.uint32(8)
          w.uint64Number(obj.totalBytes)
        }

        if ((obj.offset != null && obj.offset !== 0)) {
          w.uint32(16)
          w.uint64Number(obj.offset)
        }

        if ((obj.data != null && obj.data.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.data)
        }

        if ((obj.error != null && obj.error !== '')) {
          w.uint32(34)
          w.string(obj.error)
        }

        if ((obj.message != null && obj.message !== '')) {
          w.uint32(42)
          w.string(obj.message)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          totalBytes: 0,
          offset: 0,
          data: uint8ArrayAlloc(0),
          error: '',
          message: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.totalBytes = reader.uint64Number()
              break
            }
            case 2: {
              obj.offset = reader.uint64Number()
              break
            }
            case 3: {
              obj.data = reader.bytes()
              break
            }
            case 4: {
              obj.error = reader.string()
              break
            }
            case 5: {
              obj.message = reader.string()
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
                field: `${prefix}.totalBytes`,
                value: reader.uint64Number()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.offset`,
                value: reader.uint64Number()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.data`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.error`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.message`,
                value: reader.string()
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

  export interface BlobResponseTotalBytesFieldEvent {
    field: '$.totalBytes'
    value: number
  }

  export interface BlobResponseOffsetFieldEvent {
    field: '$.offset'
    value: number
  }

  export interface BlobResponseDataFieldEvent {
    field: '$.data'
    value: Uint8Array<ArrayBuffer>
  }

  export interface BlobResponseErrorFieldEvent {
    field: '$.error'
    value: string
  }

  export interface BlobResponseMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export function encode (obj: Partial<BlobResponse>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, BlobResponse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<BlobResponse>): BlobResponse {
    return decodeMessage(buf, BlobResponse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<BlobResponse>): Generator<BlobResponseTotalBytesFieldEvent | BlobResponseOffsetFieldEvent | BlobResponseDataFieldEvent | BlobResponseErrorFieldEvent | BlobResponseMessageFieldEvent> {
    return streamMessage(buf, BlobResponse.codec(), opts)
  }
}

export interface BlobProvidersRequest {
  cid: Uint8Array<ArrayBuffer>
  have: boolean
}

export namespace BlobProvidersRequest {
  let _codec: Codec<BlobProvidersRequest>

  export const codec = (): Codec<BlobProvidersRequest> => {
    if (_codec == null) {
      _codec = message<BlobProvidersRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.cid != null && obj.cid.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.cid)
        }

        if ((obj.have != null && obj.have !== false)) {
          w.uint32(16)
          w.bool(obj.have)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          cid: uint8ArrayAlloc(0),
          have: false
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
              obj.have = reader.bool()
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
                field: `${prefix}.have`,
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

  export interface BlobProvidersRequestCidFieldEvent {
    field: '$.cid'
    value: Uint8Array<ArrayBuffer>
  }

  export interface BlobProvidersRequestHaveFieldEvent {
    field: '$.have'
    value: boolean
  }

  export function encode (obj: Partial<BlobProvidersRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, BlobProvidersRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<BlobProvidersRequest>): BlobProvidersRequest {
    return decodeMessage(buf, BlobProvidersRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<BlobProvidersRequest>): Generator<BlobProvidersRequestCidFieldEvent | BlobProvidersRequestHaveFieldEvent> {
    return streamMessage(buf, BlobProvidersRequest.codec(), opts)
  }
}

export interface BlobProvidersResponse {
  peers: string[]
  error: string
  message: string
}

export namespace BlobProvidersResponse {
  let _codec: Codec<BlobProvidersResponse>

  export const codec = (): Codec<BlobProvidersResponse> => {
    if (_codec == null) {
      _codec = message<BlobProvidersResponse>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.peers != null && obj.peers.length > 0) {
          for (const value of obj.peers) {
            w.uint32(10)
            w.string(value)
          }
        }

        if ((obj.error != null && obj.error !== '')) {
          w.uint32(18)
          w.string(obj.error)
        }

        if ((obj.message != null && obj.message !== '')) {
          w.uint32(26)
          w.string(obj.message)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          peers: [],
          error: '',
          message: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.peers != null && obj.peers.length === opts.limits.peers) {
                throw new MaxLengthError('Decode error - repeated field "peers" had too many elements')
              }

              obj.peers.push(reader.string())
              break
            }
            case 2: {
              obj.error = reader.string()
              break
            }
            case 3: {
              obj.message = reader.string()
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
          peers: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.peers != null && obj.peers === opts.limits.peers) {
                throw new MaxLengthError('Streaming decode error - repeated field "peers" had too many elements')
              }

              yield {
                field: `${prefix}.peers[]`,
                index: obj.peers,
                value: reader.string()
              }

              obj.peers++

              break
            }
            case 2: {
              yield {
                field: `${prefix}.error`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.message`,
                value: reader.string()
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

  export interface BlobProvidersResponsePeersFieldEvent {
    field: '$.peers[]'
    index: number
    value: string
  }

  export interface BlobProvidersResponseErrorFieldEvent {
    field: '$.error'
    value: string
  }

  export interface BlobProvidersResponseMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export function encode (obj: Partial<BlobProvidersResponse>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, BlobProvidersResponse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<BlobProvidersResponse>): BlobProvidersResponse {
    return decodeMessage(buf, BlobProvidersResponse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<BlobProvidersResponse>): Generator<BlobProvidersResponsePeersFieldEvent | BlobProvidersResponseErrorFieldEvent | BlobProvidersResponseMessageFieldEvent> {
    return streamMessage(buf, BlobProvidersResponse.codec(), opts)
  }
}

export interface GpuAdapter {
  vendor: string
  architecture: string
  fallback: boolean
  maxComputeWorkgroupStorageSize: number
  maxComputeInvocationsPerWorkgroup: number
  maxStorageBufferBindingSize: number
  maxBufferSize: number
}

export namespace GpuAdapter {
  let _codec: Codec<GpuAdapter>

  export const codec = (): Codec<GpuAdapter> => {
    if (_codec == null) {
      _codec = message<GpuAdapter>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.vendor != null && obj.vendor !== '')) {
          w.uint32(10)
          w.string(obj.vendor)
        }

        if ((obj.architecture != null && obj.architecture !== '')) {
          w.uint32(18)
          w.string(obj.architecture)
        }

        if ((obj.fallback != null && obj.fallback !== false)) {
          w.uint32(24)
          w.bool(obj.fallback)
        }

        if ((obj.maxComputeWorkgroupStorageSize != null && obj.maxComputeWorkgroupStorageSize !== 0)) {
          w.uint32(32)
          w.uint32(obj.maxComputeWorkgroupStorageSize)
        }

        if ((obj.maxComputeInvocationsPerWorkgroup != null && obj.maxComputeInvocationsPerWorkgroup !== 0)) {
          w.uint32(40)
          w.uint32(obj.maxComputeInvocationsPerWorkgroup)
        }

        if ((obj.maxStorageBufferBindingSize != null && obj.maxStorageBufferBindingSize !== 0)) {
          w.uint32(48)
          w.uint64Number(obj.maxStorageBufferBindingSize)
        }

        if ((obj.maxBufferSize != null && obj.maxBufferSize !== 0)) {
          w.uint32(56)
          w.uint64Number(obj.maxBufferSize)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          vendor: '',
          architecture: '',
          fallback: false,
          maxComputeWorkgroupStorageSize: 0,
          maxComputeInvocationsPerWorkgroup: 0,
          maxStorageBufferBindingSize: 0,
          maxBufferSize: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.vendor = reader.string()
              break
            }
            case 2: {
              obj.architecture = reader.string()
              break
            }
            case 3: {
              obj.fallback = reader.bool()
              break
            }
            case 4: {
              obj.maxComputeWorkgroupStorageSize = reader.uint32()
              break
            }
            case 5: {
              obj.maxComputeInvocationsPerWorkgroup = reader.uint32()
              break
            }
            case 6: {
              obj.maxStorageBufferBindingSize = reader.uint64Number()
              break
            }
            case 7: {
              obj.maxBufferSize = reader.uint64Number()
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
                field: `${prefix}.vendor`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.architecture`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.fallback`,
                value: reader.bool()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.maxComputeWorkgroupStorageSize`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.maxComputeInvocationsPerWorkgroup`,
                value: reader.uint32()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.maxStorageBufferBindingSize`,
                value: reader.uint64Number()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.maxBufferSize`,
                value: reader.uint64Number()
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

  export interface GpuAdapterVendorFieldEvent {
    field: '$.vendor'
    value: string
  }

  export interface GpuAdapterArchitectureFieldEvent {
    field: '$.architecture'
    value: string
  }

  export interface GpuAdapterFallbackFieldEvent {
    field: '$.fallback'
    value: boolean
  }

  export interface GpuAdapterMaxComputeWorkgroupStorageSizeFieldEvent {
    field: '$.maxComputeWorkgroupStorageSize'
    value: number
  }

  export interface GpuAdapterMaxComputeInvocationsPerWorkgroupFieldEvent {
    field: '$.maxComputeInvocationsPerWorkgroup'
    value: number
  }

  export interface GpuAdapterMaxStorageBufferBindingSizeFieldEvent {
    field: '$.maxStorageBufferBindingSize'
    value: number
  }

  export interface GpuAdapterMaxBufferSizeFieldEvent {
    field: '$.maxBufferSize'
    value: number
  }

  export function encode (obj: Partial<GpuAdapter>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, GpuAdapter.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<GpuAdapter>): GpuAdapter {
    return decodeMessage(buf, GpuAdapter.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<GpuAdapter>): Generator<GpuAdapterVendorFieldEvent | GpuAdapterArchitectureFieldEvent | GpuAdapterFallbackFieldEvent | GpuAdapterMaxComputeWorkgroupStorageSizeFieldEvent | GpuAdapterMaxComputeInvocationsPerWorkgroupFieldEvent | GpuAdapterMaxStorageBufferBindingSizeFieldEvent | GpuAdapterMaxBufferSizeFieldEvent> {
    return streamMessage(buf, GpuAdapter.codec(), opts)
  }
}

export interface Capabilities {
  backends: string[]
  kernels: string[]
  kernelAbis: number[]
  gpu?: GpuAdapter
  memoryBytes: number
}

export namespace Capabilities {
  let _codec: Codec<Capabilities>

  export const codec = (): Codec<Capabilities> => {
    if (_codec == null) {
      _codec = message<Capabilities>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.backends != null && obj.backends.length > 0) {
          for (const value of obj.backends) {
            w.uint32(10)
            w.string(value)
          }
        }

        if (obj.kernels != null && obj.kernels.length > 0) {
          for (const value of obj.kernels) {
            w.uint32(18)
            w.string(value)
          }
        }

        if (obj.kernelAbis != null && obj.kernelAbis.length > 0) {
          for (const value of obj.kernelAbis) {
            w.uint32(24)
            w.uint32(value)
          }
        }

        if (obj.gpu != null) {
          w.uint32(34)
          GpuAdapter.codec().encode(obj.gpu, w)
        }

        if ((obj.memoryBytes != null && obj.memoryBytes !== 0)) {
          w.uint32(40)
          w.uint64Number(obj.memoryBytes)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          backends: [],
          kernels: [],
          kernelAbis: [],
          memoryBytes: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.backends != null && obj.backends.length === opts.limits.backends) {
                throw new MaxLengthError('Decode error - repeated field "backends" had too many elements')
              }

              obj.backends.push(reader.string())
              break
            }
            case 2: {
              if (opts.limits?.kernels != null && obj.kernels.length === opts.limits.kernels) {
                throw new MaxLengthError('Decode error - repeated field "kernels" had too many elements')
              }

              obj.kernels.push(reader.string())
              break
            }
            case 3: {
              if (opts.limits?.kernelAbis != null && obj.kernelAbis.length === opts.limits.kernelAbis) {
                throw new MaxLengthError('Decode error - repeated field "kernelAbis" had too many elements')
              }

              obj.kernelAbis.push(reader.uint32())
              break
            }
            case 4: {
              obj.gpu = GpuAdapter.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.gpu
              })
              break
            }
            case 5: {
              obj.memoryBytes = reader.uint64Number()
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
          backends: 0,
          kernels: 0,
          kernelAbis: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.backends != null && obj.backends === opts.limits.backends) {
                throw new MaxLengthError('Streaming decode error - repeated field "backends" had too many elements')
              }

              yield {
                field: `${prefix}.backends[]`,
                index: obj.backends,
                value: reader.string()
              }

              obj.backends++

              break
            }
            case 2: {
              if (opts.limits?.kernels != null && obj.kernels === opts.limits.kernels) {
                throw new MaxLengthError('Streaming decode error - repeated field "kernels" had too many elements')
              }

              yield {
                field: `${prefix}.kernels[]`,
                index: obj.kernels,
                value: reader.string()
              }

              obj.kernels++

              break
            }
            case 3: {
              if (opts.limits?.kernelAbis != null && obj.kernelAbis === opts.limits.kernelAbis) {
                throw new MaxLengthError('Streaming decode error - repeated field "kernelAbis" had too many elements')
              }

              yield {
                field: `${prefix}.kernelAbis[]`,
                index: obj.kernelAbis,
                value: reader.uint32()
              }

              obj.kernelAbis++

              break
            }
            case 4: {
              yield * GpuAdapter.codec().stream(reader, reader.uint32(), `${prefix}.gpu`, {
                limits: opts.limits?.gpu
              })

              break
            }
            case 5: {
              yield {
                field: `${prefix}.memoryBytes`,
                value: reader.uint64Number()
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

  export interface CapabilitiesBackendsFieldEvent {
    field: '$.backends[]'
    index: number
    value: string
  }

  export interface CapabilitiesKernelsFieldEvent {
    field: '$.kernels[]'
    index: number
    value: string
  }

  export interface CapabilitiesKernelAbisFieldEvent {
    field: '$.kernelAbis[]'
    index: number
    value: number
  }

  export interface CapabilitiesGpuVendorFieldEvent {
    field: '$.gpu.vendor'
    value: string
  }

  export interface CapabilitiesGpuArchitectureFieldEvent {
    field: '$.gpu.architecture'
    value: string
  }

  export interface CapabilitiesGpuFallbackFieldEvent {
    field: '$.gpu.fallback'
    value: boolean
  }

  export interface CapabilitiesGpuMaxComputeWorkgroupStorageSizeFieldEvent {
    field: '$.gpu.maxComputeWorkgroupStorageSize'
    value: number
  }

  export interface CapabilitiesGpuMaxComputeInvocationsPerWorkgroupFieldEvent {
    field: '$.gpu.maxComputeInvocationsPerWorkgroup'
    value: number
  }

  export interface CapabilitiesGpuMaxStorageBufferBindingSizeFieldEvent {
    field: '$.gpu.maxStorageBufferBindingSize'
    value: number
  }

  export interface CapabilitiesGpuMaxBufferSizeFieldEvent {
    field: '$.gpu.maxBufferSize'
    value: number
  }

  export interface CapabilitiesMemoryBytesFieldEvent {
    field: '$.memoryBytes'
    value: number
  }

  export function encode (obj: Partial<Capabilities>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Capabilities.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Capabilities>): Capabilities {
    return decodeMessage(buf, Capabilities.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Capabilities>): Generator<CapabilitiesBackendsFieldEvent | CapabilitiesKernelsFieldEvent | CapabilitiesKernelAbisFieldEvent | CapabilitiesGpuVendorFieldEvent | CapabilitiesGpuArchitectureFieldEvent | CapabilitiesGpuFallbackFieldEvent | CapabilitiesGpuMaxComputeWorkgroupStorageSizeFieldEvent | CapabilitiesGpuMaxComputeInvocationsPerWorkgroupFieldEvent | CapabilitiesGpuMaxStorageBufferBindingSizeFieldEvent | CapabilitiesGpuMaxBufferSizeFieldEvent | CapabilitiesMemoryBytesFieldEvent> {
    return streamMessage(buf, Capabilities.codec(), opts)
  }
}

export interface Release {
  replicaId: string
  reason: string
}

export namespace Release {
  let _codec: Codec<Release>

  export const codec = (): Codec<Release> => {
    if (_codec == null) {
      _codec = message<Release>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.replicaId != null && obj.replicaId !== '')) {
          w.uint32(10)
          w.string(obj.replicaId)
        }

        if ((obj.reason != null && obj.reason !== '')) {
          w.uint32(18)
          w.string(obj.reason)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          replicaId: '',
          reason: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.replicaId = reader.string()
              break
            }
            case 2: {
              obj.reason = reader.string()
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
                field: `${prefix}.replicaId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.reason`,
                value: reader.string()
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

  export interface ReleaseReplicaIdFieldEvent {
    field: '$.replicaId'
    value: string
  }

  export interface ReleaseReasonFieldEvent {
    field: '$.reason'
    value: string
  }

  export function encode (obj: Partial<Release>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Release.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Release>): Release {
    return decodeMessage(buf, Release.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Release>): Generator<ReleaseReplicaIdFieldEvent | ReleaseReasonFieldEvent> {
    return streamMessage(buf, Release.codec(), opts)
  }
}

export interface WorkRequestV2 {
  maxUnits: number
  release: Release[]
  capabilities?: Capabilities
  siteKey: string
  siteOrigin: string
  paused: string[]
  holding: string[]
  reportsHolding: boolean
}

export namespace WorkRequestV2 {
  let _codec: Codec<WorkRequestV2>

  export const codec = (): Codec<WorkRequestV2> => {
    if (_codec == null) {
      _codec = message<WorkRequestV2>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.maxUnits != null && obj.maxUnits !== 0)) {
          w.uint32(8)
          w.uint32(obj.maxUnits)
        }

        if (obj.release != null && obj.release.length > 0) {
          for (const value of obj.release) {
            w.uint32(18)
            Release.codec().encode(value, w)
          }
        }

        if (obj.capabilities != null) {
          w.uint32(26)
          Capabilities.codec().encode(obj.capabilities, w)
        }

        if ((obj.siteKey != null && obj.siteKey !== '')) {
          w.uint32(34)
          w.string(obj.siteKey)
        }

        if ((obj.siteOrigin != null && obj.siteOrigin !== '')) {
          w.uint32(42)
          w.string(obj.siteOrigin)
        }

        if (obj.paused != null && obj.paused.length > 0) {
          for (const value of obj.paused) {
            w.uint32(50)
            w.string(value)
          }
        }

        if (obj.holding != null && obj.holding.length > 0) {
          for (const value of obj.holding) {
            w.uint32(58)
            w.string(value)
          }
        }

        if ((obj.reportsHolding != null && obj.reportsHolding !== false)) {
          w.uint32(64)
          w.bool(obj.reportsHolding)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          maxUnits: 0,
          release: [],
          siteKey: '',
          siteOrigin: '',
          paused: [],
          holding: [],
          reportsHolding: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.maxUnits = reader.uint32()
              break
            }
            case 2: {
              if (opts.limits?.release != null && obj.release.length === opts.limits.release) {
                throw new MaxLengthError('Decode error - repeated field "release" had too many elements')
              }

              obj.release.push(Release.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.release$
              }))
              break
            }
            case 3: {
              obj.capabilities = Capabilities.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.capabilities
              })
              break
            }
            case 4: {
              obj.siteKey = reader.string()
              break
            }
            case 5: {
              obj.siteOrigin = reader.string()
              break
            }
            case 6: {
              if (opts.limits?.paused != null && obj.paused.length === opts.limits.paused) {
                throw new MaxLengthError('Decode error - repeated field "paused" had too many elements')
              }

              obj.paused.push(reader.string())
              break
            }
            case 7: {
              if (opts.limits?.holding != null && obj.holding.length === opts.limits.holding) {
                throw new MaxLengthError('Decode error - repeated field "holding" had too many elements')
              }

              obj.holding.push(reader.string())
              break
            }
            case 8: {
              obj.reportsHolding = reader.bool()
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
          release: 0,
          paused: 0,
          holding: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.maxUnits`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              if (opts.limits?.release != null && obj.release === opts.limits.release) {
                throw new MaxLengthError('Streaming decode error - repeated field "release" had too many elements')
              }

              for (const evt of Release.codec().stream(reader, reader.uint32(), `${prefix}.release[]`, {
                limits: opts.limits?.release$
              })) {
                yield {
                  ...evt,
                  index: obj.release
                }
              }

              obj.release++

              break
            }
            case 3: {
              yield * Capabilities.codec().stream(reader, reader.uint32(), `${prefix}.capabilities`, {
                limits: opts.limits?.capabilities
              })

              break
            }
            case 4: {
              yield {
                field: `${prefix}.siteKey`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.siteOrigin`,
                value: reader.string()
              }
              break
            }
            case 6: {
              if (opts.limits?.paused != null && obj.paused === opts.limits.paused) {
                throw new MaxLengthError('Streaming decode error - repeated field "paused" had too many elements')
              }

              yield {
                field: `${prefix}.paused[]`,
                index: obj.paused,
                value: reader.string()
              }

              obj.paused++

              break
            }
            case 7: {
              if (opts.limits?.holding != null && obj.holding === opts.limits.holding) {
                throw new MaxLengthError('Streaming decode error - repeated field "holding" had too many elements')
              }

              yield {
                field: `${prefix}.holding[]`,
                index: obj.holding,
                value: reader.string()
              }

              obj.holding++

              break
            }
            case 8: {
              yield {
                field: `${prefix}.reportsHolding`,
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

  export interface WorkRequestV2MaxUnitsFieldEvent {
    field: '$.maxUnits'
    value: number
  }

  export interface WorkRequestV2ReleaseReplicaIdFieldEvent {
    field: '$.release[].replicaId'
    value: string
    index: number
  }

  export interface WorkRequestV2ReleaseReasonFieldEvent {
    field: '$.release[].reason'
    value: string
    index: number
  }

  export interface WorkRequestV2CapabilitiesBackendsFieldEvent {
    field: '$.capabilities.backends[]'
    index: number
    value: string
  }

  export interface WorkRequestV2CapabilitiesKernelsFieldEvent {
    field: '$.capabilities.kernels[]'
    index: number
    value: string
  }

  export interface WorkRequestV2CapabilitiesKernelAbisFieldEvent {
    field: '$.capabilities.kernelAbis[]'
    index: number
    value: number
  }

  export interface WorkRequestV2CapabilitiesGpuVendorFieldEvent {
    field: '$.capabilities.gpu.vendor'
    value: string
  }

  export interface WorkRequestV2CapabilitiesGpuArchitectureFieldEvent {
    field: '$.capabilities.gpu.architecture'
    value: string
  }

  export interface WorkRequestV2CapabilitiesGpuFallbackFieldEvent {
    field: '$.capabilities.gpu.fallback'
    value: boolean
  }

  export interface WorkRequestV2CapabilitiesGpuMaxComputeWorkgroupStorageSizeFieldEvent {
    field: '$.capabilities.gpu.maxComputeWorkgroupStorageSize'
    value: number
  }

  export interface WorkRequestV2CapabilitiesGpuMaxComputeInvocationsPerWorkgroupFieldEvent {
    field: '$.capabilities.gpu.maxComputeInvocationsPerWorkgroup'
    value: number
  }

  export interface WorkRequestV2CapabilitiesGpuMaxStorageBufferBindingSizeFieldEvent {
    field: '$.capabilities.gpu.maxStorageBufferBindingSize'
    value: number
  }

  export interface WorkRequestV2CapabilitiesGpuMaxBufferSizeFieldEvent {
    field: '$.capabilities.gpu.maxBufferSize'
    value: number
  }

  export interface WorkRequestV2CapabilitiesMemoryBytesFieldEvent {
    field: '$.capabilities.memoryBytes'
    value: number
  }

  export interface WorkRequestV2SiteKeyFieldEvent {
    field: '$.siteKey'
    value: string
  }

  export interface WorkRequestV2SiteOriginFieldEvent {
    field: '$.siteOrigin'
    value: string
  }

  export interface WorkRequestV2PausedFieldEvent {
    field: '$.paused[]'
    index: number
    value: string
  }

  export interface WorkRequestV2HoldingFieldEvent {
    field: '$.holding[]'
    index: number
    value: string
  }

  export interface WorkRequestV2ReportsHoldingFieldEvent {
    field: '$.reportsHolding'
    value: boolean
  }

  export function encode (obj: Partial<WorkRequestV2>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, WorkRequestV2.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WorkRequestV2>): WorkRequestV2 {
    return decodeMessage(buf, WorkRequestV2.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WorkRequestV2>): Generator<WorkRequestV2MaxUnitsFieldEvent | WorkRequestV2ReleaseReplicaIdFieldEvent | WorkRequestV2ReleaseReasonFieldEvent | WorkRequestV2CapabilitiesBackendsFieldEvent | WorkRequestV2CapabilitiesKernelsFieldEvent | WorkRequestV2CapabilitiesKernelAbisFieldEvent | WorkRequestV2CapabilitiesGpuVendorFieldEvent | WorkRequestV2CapabilitiesGpuArchitectureFieldEvent | WorkRequestV2CapabilitiesGpuFallbackFieldEvent | WorkRequestV2CapabilitiesGpuMaxComputeWorkgroupStorageSizeFieldEvent | WorkRequestV2CapabilitiesGpuMaxComputeInvocationsPerWorkgroupFieldEvent | WorkRequestV2CapabilitiesGpuMaxStorageBufferBindingSizeFieldEvent | WorkRequestV2CapabilitiesGpuMaxBufferSizeFieldEvent | WorkRequestV2CapabilitiesMemoryBytesFieldEvent | WorkRequestV2SiteKeyFieldEvent | WorkRequestV2SiteOriginFieldEvent | WorkRequestV2PausedFieldEvent | WorkRequestV2HoldingFieldEvent | WorkRequestV2ReportsHoldingFieldEvent> {
    return streamMessage(buf, WorkRequestV2.codec(), opts)
  }
}
