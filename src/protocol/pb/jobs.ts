import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface KernelTicket {
  signedManifest: Uint8Array<ArrayBuffer>
  hubPeerId: string
  hubSignature: Uint8Array<ArrayBuffer>
}

export namespace KernelTicket {
  let _codec: Codec<KernelTicket>

  export const codec = (): Codec<KernelTicket> => {
    if (_codec == null) {
      _codec = message<KernelTicket>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.signedManifest != null && obj.signedManifest.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.signedManifest)
        }

        if ((obj.hubPeerId != null && obj.hubPeerId !== '')) {
          w.uint32(18)
          w.string(obj.hubPeerId)
        }

        if ((obj.hubSignature != null && obj.hubSignature.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.hubSignature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          signedManifest: uint8ArrayAlloc(0),
          hubPeerId: '',
          hubSignature: uint8ArrayAlloc(0)
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
              obj.hubPeerId = reader.string()
              break
            }
            case 3: {
              obj.hubSignature = reader.bytes()
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
                field: `${prefix}.signedManifest`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.hubPeerId`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.hubSignature`,
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

  export interface KernelTicketSignedManifestFieldEvent {
    field: '$.signedManifest'
    value: Uint8Array<ArrayBuffer>
  }

  export interface KernelTicketHubPeerIdFieldEvent {
    field: '$.hubPeerId'
    value: string
  }

  export interface KernelTicketHubSignatureFieldEvent {
    field: '$.hubSignature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<KernelTicket>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, KernelTicket.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<KernelTicket>): KernelTicket {
    return decodeMessage(buf, KernelTicket.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<KernelTicket>): Generator<KernelTicketSignedManifestFieldEvent | KernelTicketHubPeerIdFieldEvent | KernelTicketHubSignatureFieldEvent> {
    return streamMessage(buf, KernelTicket.codec(), opts)
  }
}

export interface PostJob {
  signedManifest: Uint8Array<ArrayBuffer>
  kernel: Uint8Array<ArrayBuffer>
  inputs: Uint8Array<ArrayBuffer>[]
  quorum: number
  creditPerUnit: number
  policy: string
  ringers: Ringer[]
}

export namespace PostJob {
  let _codec: Codec<PostJob>

  export const codec = (): Codec<PostJob> => {
    if (_codec == null) {
      _codec = message<PostJob>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.signedManifest != null && obj.signedManifest.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.signedManifest)
        }

        if ((obj.kernel != null && obj.kernel.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.kernel)
        }

        if (obj.inputs != null && obj.inputs.length > 0) {
          for (const value of obj.inputs) {
            w.uint32(26)
            w.bytes(value)
          }
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
            Ringer.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          signedManifest: uint8ArrayAlloc(0),
          kernel: uint8ArrayAlloc(0),
          inputs: [],
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
              obj.kernel = reader.bytes()
              break
            }
            case 3: {
              if (opts.limits?.inputs != null && obj.inputs.length === opts.limits.inputs) {
                throw new MaxLengthError('Decode error - repeated field "inputs" had too many elements')
              }

              obj.inputs.push(reader.bytes())
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

              obj.ringers.push(Ringer.codec().decode(reader, reader.uint32(), {
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
          inputs: 0,
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
                field: `${prefix}.kernel`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              if (opts.limits?.inputs != null && obj.inputs === opts.limits.inputs) {
                throw new MaxLengthError('Streaming decode error - repeated field "inputs" had too many elements')
              }

              yield {
                field: `${prefix}.inputs[]`,
                index: obj.inputs,
                value: reader.bytes()
              }

              obj.inputs++

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

              for (const evt of Ringer.codec().stream(reader, reader.uint32(), `${prefix}.ringers[]`, {
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

  export interface PostJobSignedManifestFieldEvent {
    field: '$.signedManifest'
    value: Uint8Array<ArrayBuffer>
  }

  export interface PostJobKernelFieldEvent {
    field: '$.kernel'
    value: Uint8Array<ArrayBuffer>
  }

  export interface PostJobInputsFieldEvent {
    field: '$.inputs[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface PostJobQuorumFieldEvent {
    field: '$.quorum'
    value: number
  }

  export interface PostJobCreditPerUnitFieldEvent {
    field: '$.creditPerUnit'
    value: number
  }

  export interface PostJobPolicyFieldEvent {
    field: '$.policy'
    value: string
  }

  export interface PostJobRingersIndexFieldEvent {
    field: '$.ringers[].index'
    value: number
    index: number
  }

  export interface PostJobRingersOutputSha256FieldEvent {
    field: '$.ringers[].outputSha256'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export function encode (obj: Partial<PostJob>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, PostJob.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PostJob>): PostJob {
    return decodeMessage(buf, PostJob.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PostJob>): Generator<PostJobSignedManifestFieldEvent | PostJobKernelFieldEvent | PostJobInputsFieldEvent | PostJobQuorumFieldEvent | PostJobCreditPerUnitFieldEvent | PostJobPolicyFieldEvent | PostJobRingersIndexFieldEvent | PostJobRingersOutputSha256FieldEvent> {
    return streamMessage(buf, PostJob.codec(), opts)
  }
}

export interface Ringer {
  index: number
  outputSha256: Uint8Array<ArrayBuffer>
}

export namespace Ringer {
  let _codec: Codec<Ringer>

  export const codec = (): Codec<Ringer> => {
    if (_codec == null) {
      _codec = message<Ringer>((obj, w, opts = {}) => {
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

  export interface RingerIndexFieldEvent {
    field: '$.index'
    value: number
  }

  export interface RingerOutputSha256FieldEvent {
    field: '$.outputSha256'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Ringer>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Ringer.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Ringer>): Ringer {
    return decodeMessage(buf, Ringer.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Ringer>): Generator<RingerIndexFieldEvent | RingerOutputSha256FieldEvent> {
    return streamMessage(buf, Ringer.codec(), opts)
  }
}

export interface JobQuery {
  jobId: string
  outputsFrom: number
  outputsMax: number
}

export namespace JobQuery {
  let _codec: Codec<JobQuery>

  export const codec = (): Codec<JobQuery> => {
    if (_codec == null) {
      _codec = message<JobQuery>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.jobId != null && obj.jobId !== '')) {
          w.uint32(10)
          w.string(obj.jobId)
        }

        if ((obj.outputsFrom != null && obj.outputsFrom !== 0)) {
          w.uint32(16)
          w.uint32(obj.outputsFrom)
        }

        if ((obj.outputsMax != null && obj.outputsMax !== 0)) {
          w.uint32(24)
          w.uint32(obj.outputsMax)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          jobId: '',
          outputsFrom: 0,
          outputsMax: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.jobId = reader.string()
              break
            }
            case 2: {
              obj.outputsFrom = reader.uint32()
              break
            }
            case 3: {
              obj.outputsMax = reader.uint32()
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
                field: `${prefix}.jobId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.outputsFrom`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.outputsMax`,
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

  export interface JobQueryJobIdFieldEvent {
    field: '$.jobId'
    value: string
  }

  export interface JobQueryOutputsFromFieldEvent {
    field: '$.outputsFrom'
    value: number
  }

  export interface JobQueryOutputsMaxFieldEvent {
    field: '$.outputsMax'
    value: number
  }

  export function encode (obj: Partial<JobQuery>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, JobQuery.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<JobQuery>): JobQuery {
    return decodeMessage(buf, JobQuery.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<JobQuery>): Generator<JobQueryJobIdFieldEvent | JobQueryOutputsFromFieldEvent | JobQueryOutputsMaxFieldEvent> {
    return streamMessage(buf, JobQuery.codec(), opts)
  }
}

export interface JobRevive {
  jobId: string
}

export namespace JobRevive {
  let _codec: Codec<JobRevive>

  export const codec = (): Codec<JobRevive> => {
    if (_codec == null) {
      _codec = message<JobRevive>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.jobId != null && obj.jobId !== '')) {
          w.uint32(10)
          w.string(obj.jobId)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          jobId: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.jobId = reader.string()
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
                field: `${prefix}.jobId`,
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

  export interface JobReviveJobIdFieldEvent {
    field: '$.jobId'
    value: string
  }

  export function encode (obj: Partial<JobRevive>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, JobRevive.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<JobRevive>): JobRevive {
    return decodeMessage(buf, JobRevive.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<JobRevive>): Generator<JobReviveJobIdFieldEvent> {
    return streamMessage(buf, JobRevive.codec(), opts)
  }
}

export interface JobControl {
  jobId: string
  action: string
}

export namespace JobControl {
  let _codec: Codec<JobControl>

  export const codec = (): Codec<JobControl> => {
    if (_codec == null) {
      _codec = message<JobControl>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.jobId != null && obj.jobId !== '')) {
          w.uint32(10)
          w.string(obj.jobId)
        }

        if ((obj.action != null && obj.action !== '')) {
          w.uint32(18)
          w.string(obj.action)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          jobId: '',
          action: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.jobId = reader.string()
              break
            }
            case 2: {
              obj.action = reader.string()
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
                field: `${prefix}.jobId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.action`,
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

  export interface JobControlJobIdFieldEvent {
    field: '$.jobId'
    value: string
  }

  export interface JobControlActionFieldEvent {
    field: '$.action'
    value: string
  }

  export function encode (obj: Partial<JobControl>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, JobControl.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<JobControl>): JobControl {
    return decodeMessage(buf, JobControl.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<JobControl>): Generator<JobControlJobIdFieldEvent | JobControlActionFieldEvent> {
    return streamMessage(buf, JobControl.codec(), opts)
  }
}

export interface JobRequest {
  post?: PostJob
  query?: JobQuery
  revive?: JobRevive
  control?: JobControl
}

export namespace JobRequest {
  let _codec: Codec<JobRequest>

  export const codec = (): Codec<JobRequest> => {
    if (_codec == null) {
      _codec = message<JobRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.post != null) {
          w.uint32(10)
          PostJob.codec().encode(obj.post, w)
        }

        if (obj.query != null) {
          w.uint32(18)
          JobQuery.codec().encode(obj.query, w)
        }

        if (obj.revive != null) {
          w.uint32(26)
          JobRevive.codec().encode(obj.revive, w)
        }

        if (obj.control != null) {
          w.uint32(34)
          JobControl.codec().encode(obj.control, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {}

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.post = PostJob.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.post
              })
              break
            }
            case 2: {
              obj.query = JobQuery.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.query
              })
              break
            }
            case 3: {
              obj.revive = JobRevive.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.revive
              })
              break
            }
            case 4: {
              obj.control = JobControl.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.control
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
              yield * PostJob.codec().stream(reader, reader.uint32(), `${prefix}.post`, {
                limits: opts.limits?.post
              })

              break
            }
            case 2: {
              yield * JobQuery.codec().stream(reader, reader.uint32(), `${prefix}.query`, {
                limits: opts.limits?.query
              })

              break
            }
            case 3: {
              yield * JobRevive.codec().stream(reader, reader.uint32(), `${prefix}.revive`, {
                limits: opts.limits?.revive
              })

              break
            }
            case 4: {
              yield * JobControl.codec().stream(reader, reader.uint32(), `${prefix}.control`, {
                limits: opts.limits?.control
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

  export interface JobRequestPostSignedManifestFieldEvent {
    field: '$.post.signedManifest'
    value: Uint8Array<ArrayBuffer>
  }

  export interface JobRequestPostKernelFieldEvent {
    field: '$.post.kernel'
    value: Uint8Array<ArrayBuffer>
  }

  export interface JobRequestPostInputsFieldEvent {
    field: '$.post.inputs[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface JobRequestPostQuorumFieldEvent {
    field: '$.post.quorum'
    value: number
  }

  export interface JobRequestPostCreditPerUnitFieldEvent {
    field: '$.post.creditPerUnit'
    value: number
  }

  export interface JobRequestPostPolicyFieldEvent {
    field: '$.post.policy'
    value: string
  }

  export interface JobRequestPostRingersIndexFieldEvent {
    field: '$.post.ringers[].index'
    value: number
    index: number
  }

  export interface JobRequestPostRingersOutputSha256FieldEvent {
    field: '$.post.ringers[].outputSha256'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface JobRequestQueryJobIdFieldEvent {
    field: '$.query.jobId'
    value: string
  }

  export interface JobRequestQueryOutputsFromFieldEvent {
    field: '$.query.outputsFrom'
    value: number
  }

  export interface JobRequestQueryOutputsMaxFieldEvent {
    field: '$.query.outputsMax'
    value: number
  }

  export interface JobRequestReviveJobIdFieldEvent {
    field: '$.revive.jobId'
    value: string
  }

  export interface JobRequestControlJobIdFieldEvent {
    field: '$.control.jobId'
    value: string
  }

  export interface JobRequestControlActionFieldEvent {
    field: '$.control.action'
    value: string
  }

  export function encode (obj: Partial<JobRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, JobRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<JobRequest>): JobRequest {
    return decodeMessage(buf, JobRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<JobRequest>): Generator<JobRequestPostSignedManifestFieldEvent | JobRequestPostKernelFieldEvent | JobRequestPostInputsFieldEvent | JobRequestPostQuorumFieldEvent | JobRequestPostCreditPerUnitFieldEvent | JobRequestPostPolicyFieldEvent | JobRequestPostRingersIndexFieldEvent | JobRequestPostRingersOutputSha256FieldEvent | JobRequestQueryJobIdFieldEvent | JobRequestQueryOutputsFromFieldEvent | JobRequestQueryOutputsMaxFieldEvent | JobRequestReviveJobIdFieldEvent | JobRequestControlJobIdFieldEvent | JobRequestControlActionFieldEvent> {
    return streamMessage(buf, JobRequest.codec(), opts)
  }
}

export interface ClientErrors {
  kind: string
  deviceClass: string
  results: number
  peers: number
  sample: string
}

export namespace ClientErrors {
  let _codec: Codec<ClientErrors>

  export const codec = (): Codec<ClientErrors> => {
    if (_codec == null) {
      _codec = message<ClientErrors>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.kind != null && obj.kind !== '')) {
          w.uint32(10)
          w.string(obj.kind)
        }

        if ((obj.deviceClass != null && obj.deviceClass !== '')) {
          w.uint32(18)
          w.string(obj.deviceClass)
        }

        if ((obj.results != null && obj.results !== 0)) {
          w.uint32(24)
          w.uint32(obj.results)
        }

        if ((obj.peers != null && obj.peers !== 0)) {
          w.uint32(32)
          w.uint32(obj.peers)
        }

        if ((obj.sample != null && obj.sample !== '')) {
          w.uint32(42)
          w.string(obj.sample)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          kind: '',
          deviceClass: '',
          results: 0,
          peers: 0,
          sample: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.kind = reader.string()
              break
            }
            case 2: {
              obj.deviceClass = reader.string()
              break
            }
            case 3: {
              obj.results = reader.uint32()
              break
            }
            case 4: {
              obj.peers = reader.uint32()
              break
            }
            case 5: {
              obj.sample = reader.string()
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
                field: `${prefix}.kind`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.deviceClass`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.results`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.peers`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.sample`,
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

  export interface ClientErrorsKindFieldEvent {
    field: '$.kind'
    value: string
  }

  export interface ClientErrorsDeviceClassFieldEvent {
    field: '$.deviceClass'
    value: string
  }

  export interface ClientErrorsResultsFieldEvent {
    field: '$.results'
    value: number
  }

  export interface ClientErrorsPeersFieldEvent {
    field: '$.peers'
    value: number
  }

  export interface ClientErrorsSampleFieldEvent {
    field: '$.sample'
    value: string
  }

  export function encode (obj: Partial<ClientErrors>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ClientErrors.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ClientErrors>): ClientErrors {
    return decodeMessage(buf, ClientErrors.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ClientErrors>): Generator<ClientErrorsKindFieldEvent | ClientErrorsDeviceClassFieldEvent | ClientErrorsResultsFieldEvent | ClientErrorsPeersFieldEvent | ClientErrorsSampleFieldEvent> {
    return streamMessage(buf, ClientErrors.codec(), opts)
  }
}

export interface WorkUnitOutput {
  index: number
  output: Uint8Array<ArrayBuffer>
}

export namespace WorkUnitOutput {
  let _codec: Codec<WorkUnitOutput>

  export const codec = (): Codec<WorkUnitOutput> => {
    if (_codec == null) {
      _codec = message<WorkUnitOutput>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.index != null && obj.index !== 0)) {
          w.uint32(8)
          w.uint32(obj.index)
        }

        if ((obj.output != null && obj.output.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.output)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          index: 0,
          output: uint8ArrayAlloc(0)
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
              obj.output = reader.bytes()
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
                field: `${prefix}.output`,
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

  export interface WorkUnitOutputIndexFieldEvent {
    field: '$.index'
    value: number
  }

  export interface WorkUnitOutputOutputFieldEvent {
    field: '$.output'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<WorkUnitOutput>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, WorkUnitOutput.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WorkUnitOutput>): WorkUnitOutput {
    return decodeMessage(buf, WorkUnitOutput.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WorkUnitOutput>): Generator<WorkUnitOutputIndexFieldEvent | WorkUnitOutputOutputFieldEvent> {
    return streamMessage(buf, WorkUnitOutput.codec(), opts)
  }
}

export interface JobInfo {
  jobId: string
  kernelName: string
  kernelId: string
  state: string
  workUnits: number
  validated: number
  inProgress: number
  unsent: number
  failed: number
  volunteers: number
  createdAtMs: number
  etaMs: number
  output: string
  outputs: WorkUnitOutput[]
  policy: string
  invalidResults: number
  replicasIssued: number
  ringers: number
  ringerChecks: number
  ringerFailures: number
  hold: string
  holdReason: string
  clientErrorResults: number
  clientErrors: ClientErrors[]
  probes: number
  probeFailures: number
  workers: number
  validatedRecently: number
  pausedWorkers: number
  pauseReasons: PauseCount[]
}

export namespace JobInfo {
  let _codec: Codec<JobInfo>

  export const codec = (): Codec<JobInfo> => {
    if (_codec == null) {
      _codec = message<JobInfo>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.jobId != null && obj.jobId !== '')) {
          w.uint32(10)
          w.string(obj.jobId)
        }

        if ((obj.kernelName != null && obj.kernelName !== '')) {
          w.uint32(18)
          w.string(obj.kernelName)
        }

        if ((obj.kernelId != null && obj.kernelId !== '')) {
          w.uint32(26)
          w.string(obj.kernelId)
        }

        if ((obj.state != null && obj.state !== '')) {
          w.uint32(34)
          w.string(obj.state)
        }

        if ((obj.workUnits != null && obj.workUnits !== 0)) {
          w.uint32(40)
          w.uint32(obj.workUnits)
        }

        if ((obj.validated != null && obj.validated !== 0)) {
          w.uint32(48)
          w.uint32(obj.validated)
        }

        if ((obj.inProgress != null && obj.inProgress !== 0)) {
          w.uint32(56)
          w.uint32(obj.inProgress)
        }

        if ((obj.unsent != null && obj.unsent !== 0)) {
          w.uint32(64)
          w.uint32(obj.unsent)
        }

        if ((obj.failed != null && obj.failed !== 0)) {
          w.uint32(72)
          w.uint32(obj.failed)
        }

        if ((obj.volunteers != null && obj.volunteers !== 0)) {
          w.uint32(80)
          w.uint32(obj.volunteers)
        }

        if ((obj.createdAtMs != null && obj.createdAtMs !== 0)) {
          w.uint32(88)
          w.uint64Number(obj.createdAtMs)
        }

        if ((obj.etaMs != null && obj.etaMs !== 0)) {
          w.uint32(96)
          w.uint64Number(obj.etaMs)
        }

        if ((obj.output != null && obj.output !== '')) {
          w.uint32(106)
          w.string(obj.output)
        }

        if (obj.outputs != null && obj.outputs.length > 0) {
          for (const value of obj.outputs) {
            w.uint32(114)
            WorkUnitOutput.codec().encode(value, w)
          }
        }

        if ((obj.policy != null && obj.policy !== '')) {
          w.uint32(122)
          w.string(obj.policy)
        }

        if ((obj.invalidResults != null && obj.invalidResults !== 0)) {
          w.uint32(128)
          w.uint32(obj.invalidResults)
        }

        if ((obj.replicasIssued != null && obj.replicasIssued !== 0)) {
          w.uint32(136)
          w.uint32(obj.replicasIssued)
        }

        if ((obj.ringers != null && obj.ringers !== 0)) {
          w.uint32(144)
          w.uint32(obj.ringers)
        }

        if ((obj.ringerChecks != null && obj.ringerChecks !== 0)) {
          w.uint32(152)
          w.uint32(obj.ringerChecks)
        }

        if ((obj.ringerFailures != null && obj.ringerFailures !== 0)) {
          w.uint32(160)
          w.uint32(obj.ringerFailures)
        }

        if ((obj.hold != null && obj.hold !== '')) {
          w.uint32(170)
          w.string(obj.hold)
        }

        if ((obj.holdReason != null && obj.holdReason !== '')) {
          w.uint32(178)
          w.string(obj.holdReason)
        }

        if ((obj.clientErrorResults != null && obj.clientErrorResults !== 0)) {
          w.uint32(184)
          w.uint32(obj.clientErrorResults)
        }

        if (obj.clientErrors != null && obj.clientErrors.length > 0) {
          for (const value of obj.clientErrors) {
            w.uint32(194)
            ClientErrors.codec().encode(value, w)
          }
        }

        if ((obj.probes != null && obj.probes !== 0)) {
          w.uint32(200)
          w.uint32(obj.probes)
        }

        if ((obj.probeFailures != null && obj.probeFailures !== 0)) {
          w.uint32(208)
          w.uint32(obj.probeFailures)
        }

        if ((obj.workers != null && obj.workers !== 0)) {
          w.uint32(216)
          w.uint32(obj.workers)
        }

        if ((obj.validatedRecently != null && obj.validatedRecently !== 0)) {
          w.uint32(224)
          w.uint32(obj.validatedRecently)
        }

        if ((obj.pausedWorkers != null && obj.pausedWorkers !== 0)) {
          w.uint32(232)
          w.uint32(obj.pausedWorkers)
        }

        if (obj.pauseReasons != null && obj.pauseReasons.length > 0) {
          for (const value of obj.pauseReasons) {
            w.uint32(242)
            PauseCount.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          jobId: '',
          kernelName: '',
          kernelId: '',
          state: '',
          workUnits: 0,
          validated: 0,
          inProgress: 0,
          unsent: 0,
          failed: 0,
          volunteers: 0,
          createdAtMs: 0,
          etaMs: 0,
          output: '',
          outputs: [],
          policy: '',
          invalidResults: 0,
          replicasIssued: 0,
          ringers: 0,
          ringerChecks: 0,
          ringerFailures: 0,
          hold: '',
          holdReason: '',
          clientErrorResults: 0,
          clientErrors: [],
          probes: 0,
          probeFailures: 0,
          workers: 0,
          validatedRecently: 0,
          pausedWorkers: 0,
          pauseReasons: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.jobId = reader.string()
              break
            }
            case 2: {
              obj.kernelName = reader.string()
              break
            }
            case 3: {
              obj.kernelId = reader.string()
              break
            }
            case 4: {
              obj.state = reader.string()
              break
            }
            case 5: {
              obj.workUnits = reader.uint32()
              break
            }
            case 6: {
              obj.validated = reader.uint32()
              break
            }
            case 7: {
              obj.inProgress = reader.uint32()
              break
            }
            case 8: {
              obj.unsent = reader.uint32()
              break
            }
            case 9: {
              obj.failed = reader.uint32()
              break
            }
            case 10: {
              obj.volunteers = reader.uint32()
              break
            }
            case 11: {
              obj.createdAtMs = reader.uint64Number()
              break
            }
            case 12: {
              obj.etaMs = reader.uint64Number()
              break
            }
            case 13: {
              obj.output = reader.string()
              break
            }
            case 14: {
              if (opts.limits?.outputs != null && obj.outputs.length === opts.limits.outputs) {
                throw new MaxLengthError('Decode error - repeated field "outputs" had too many elements')
              }

              obj.outputs.push(WorkUnitOutput.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.outputs$
              }))
              break
            }
            case 15: {
              obj.policy = reader.string()
              break
            }
            case 16: {
              obj.invalidResults = reader.uint32()
              break
            }
            case 17: {
              obj.replicasIssued = reader.uint32()
              break
            }
            case 18: {
              obj.ringers = reader.uint32()
              break
            }
            case 19: {
              obj.ringerChecks = reader.uint32()
              break
            }
            case 20: {
              obj.ringerFailures = reader.uint32()
              break
            }
            case 21: {
              obj.hold = reader.string()
              break
            }
            case 22: {
              obj.holdReason = reader.string()
              break
            }
            case 23: {
              obj.clientErrorResults = reader.uint32()
              break
            }
            case 24: {
              if (opts.limits?.clientErrors != null && obj.clientErrors.length === opts.limits.clientErrors) {
                throw new MaxLengthError('Decode error - repeated field "clientErrors" had too many elements')
              }

              obj.clientErrors.push(ClientErrors.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.clientErrors$
              }))
              break
            }
            case 25: {
              obj.probes = reader.uint32()
              break
            }
            case 26: {
              obj.probeFailures = reader.uint32()
              break
            }
            case 27: {
              obj.workers = reader.uint32()
              break
            }
            case 28: {
              obj.validatedRecently = reader.uint32()
              break
            }
            case 29: {
              obj.pausedWorkers = reader.uint32()
              break
            }
            case 30: {
              if (opts.limits?.pauseReasons != null && obj.pauseReasons.length === opts.limits.pauseReasons) {
                throw new MaxLengthError('Decode error - repeated field "pauseReasons" had too many elements')
              }

              obj.pauseReasons.push(PauseCount.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.pauseReasons$
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
          outputs: 0,
          clientErrors: 0,
          pauseReasons: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.jobId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.kernelName`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.kernelId`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.state`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.workUnits`,
                value: reader.uint32()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.validated`,
                value: reader.uint32()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.inProgress`,
                value: reader.uint32()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.unsent`,
                value: reader.uint32()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.failed`,
                value: reader.uint32()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.volunteers`,
                value: reader.uint32()
              }
              break
            }
            case 11: {
              yield {
                field: `${prefix}.createdAtMs`,
                value: reader.uint64Number()
              }
              break
            }
            case 12: {
              yield {
                field: `${prefix}.etaMs`,
                value: reader.uint64Number()
              }
              break
            }
            case 13: {
              yield {
                field: `${prefix}.output`,
                value: reader.string()
              }
              break
            }
            case 14: {
              if (opts.limits?.outputs != null && obj.outputs === opts.limits.outputs) {
                throw new MaxLengthError('Streaming decode error - repeated field "outputs" had too many elements')
              }

              for (const evt of WorkUnitOutput.codec().stream(reader, reader.uint32(), `${prefix}.outputs[]`, {
                limits: opts.limits?.outputs$
              })) {
                yield {
                  ...evt,
                  index: obj.outputs
                }
              }

              obj.outputs++

              break
            }
            case 15: {
              yield {
                field: `${prefix}.policy`,
                value: reader.string()
              }
              break
            }
            case 16: {
              yield {
                field: `${prefix}.invalidResults`,
                value: reader.uint32()
              }
              break
            }
            case 17: {
              yield {
                field: `${prefix}.replicasIssued`,
                value: reader.uint32()
              }
              break
            }
            case 18: {
              yield {
                field: `${prefix}.ringers`,
                value: reader.uint32()
              }
              break
            }
            case 19: {
              yield {
                field: `${prefix}.ringerChecks`,
                value: reader.uint32()
              }
              break
            }
            case 20: {
              yield {
                field: `${prefix}.ringerFailures`,
                value: reader.uint32()
              }
              break
            }
            case 21: {
              yield {
                field: `${prefix}.hold`,
                value: reader.string()
              }
              break
            }
            case 22: {
              yield {
                field: `${prefix}.holdReason`,
                value: reader.string()
              }
              break
            }
            case 23: {
              yield {
                field: `${prefix}.clientErrorResults`,
                value: reader.uint32()
              }
              break
            }
            case 24: {
              if (opts.limits?.clientErrors != null && obj.clientErrors === opts.limits.clientErrors) {
                throw new MaxLengthError('Streaming decode error - repeated field "clientErrors" had too many elements')
              }

              for (const evt of ClientErrors.codec().stream(reader, reader.uint32(), `${prefix}.clientErrors[]`, {
                limits: opts.limits?.clientErrors$
              })) {
                yield {
                  ...evt,
                  index: obj.clientErrors
                }
              }

              obj.clientErrors++

              break
            }
            case 25: {
              yield {
                field: `${prefix}.probes`,
                value: reader.uint32()
              }
              break
            }
            case 26: {
              yield {
                field: `${prefix}.probeFailures`,
                value: reader.uint32()
              }
              break
            }
            case 27: {
              yield {
                field: `${prefix}.workers`,
                value: reader.uint32()
              }
              break
            }
            case 28: {
              yield {
                field: `${prefix}.validatedRecently`,
                value: reader.uint32()
              }
              break
            }
            case 29: {
              yield {
                field: `${prefix}.pausedWorkers`,
                value: reader.uint32()
              }
              break
            }
            case 30: {
              if (opts.limits?.pauseReasons != null && obj.pauseReasons === opts.limits.pauseReasons) {
                throw new MaxLengthError('Streaming decode error - repeated field "pauseReasons" had too many elements')
              }

              for (const evt of PauseCount.codec().stream(reader, reader.uint32(), `${prefix}.pauseReasons[]`, {
                limits: opts.limits?.pauseReasons$
              })) {
                yield {
                  ...evt,
                  index: obj.pauseReasons
                }
              }

              obj.pauseReasons++

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

  export interface JobInfoJobIdFieldEvent {
    field: '$.jobId'
    value: string
  }

  export interface JobInfoKernelNameFieldEvent {
    field: '$.kernelName'
    value: string
  }

  export interface JobInfoKernelIdFieldEvent {
    field: '$.kernelId'
    value: string
  }

  export interface JobInfoStateFieldEvent {
    field: '$.state'
    value: string
  }

  export interface JobInfoWorkUnitsFieldEvent {
    field: '$.workUnits'
    value: number
  }

  export interface JobInfoValidatedFieldEvent {
    field: '$.validated'
    value: number
  }

  export interface JobInfoInProgressFieldEvent {
    field: '$.inProgress'
    value: number
  }

  export interface JobInfoUnsentFieldEvent {
    field: '$.unsent'
    value: number
  }

  export interface JobInfoFailedFieldEvent {
    field: '$.failed'
    value: number
  }

  export interface JobInfoVolunteersFieldEvent {
    field: '$.volunteers'
    value: number
  }

  export interface JobInfoCreatedAtMsFieldEvent {
    field: '$.createdAtMs'
    value: number
  }

  export interface JobInfoEtaMsFieldEvent {
    field: '$.etaMs'
    value: number
  }

  export interface JobInfoOutputFieldEvent {
    field: '$.output'
    value: string
  }

  export interface JobInfoOutputsIndexFieldEvent {
    field: '$.outputs[].index'
    value: number
    index: number
  }

  export interface JobInfoOutputsOutputFieldEvent {
    field: '$.outputs[].output'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface JobInfoPolicyFieldEvent {
    field: '$.policy'
    value: string
  }

  export interface JobInfoInvalidResultsFieldEvent {
    field: '$.invalidResults'
    value: number
  }

  export interface JobInfoReplicasIssuedFieldEvent {
    field: '$.replicasIssued'
    value: number
  }

  export interface JobInfoRingersFieldEvent {
    field: '$.ringers'
    value: number
  }

  export interface JobInfoRingerChecksFieldEvent {
    field: '$.ringerChecks'
    value: number
  }

  export interface JobInfoRingerFailuresFieldEvent {
    field: '$.ringerFailures'
    value: number
  }

  export interface JobInfoHoldFieldEvent {
    field: '$.hold'
    value: string
  }

  export interface JobInfoHoldReasonFieldEvent {
    field: '$.holdReason'
    value: string
  }

  export interface JobInfoClientErrorResultsFieldEvent {
    field: '$.clientErrorResults'
    value: number
  }

  export interface JobInfoClientErrorsKindFieldEvent {
    field: '$.clientErrors[].kind'
    value: string
    index: number
  }

  export interface JobInfoClientErrorsDeviceClassFieldEvent {
    field: '$.clientErrors[].deviceClass'
    value: string
    index: number
  }

  export interface JobInfoClientErrorsResultsFieldEvent {
    field: '$.clientErrors[].results'
    value: number
    index: number
  }

  export interface JobInfoClientErrorsPeersFieldEvent {
    field: '$.clientErrors[].peers'
    value: number
    index: number
  }

  export interface JobInfoClientErrorsSampleFieldEvent {
    field: '$.clientErrors[].sample'
    value: string
    index: number
  }

  export interface JobInfoProbesFieldEvent {
    field: '$.probes'
    value: number
  }

  export interface JobInfoProbeFailuresFieldEvent {
    field: '$.probeFailures'
    value: number
  }

  export interface JobInfoWorkersFieldEvent {
    field: '$.workers'
    value: number
  }

  export interface JobInfoValidatedRecentlyFieldEvent {
    field: '$.validatedRecently'
    value: number
  }

  export interface JobInfoPausedWorkersFieldEvent {
    field: '$.pausedWorkers'
    value: number
  }

  export interface JobInfoPauseReasonsReasonFieldEvent {
    field: '$.pauseReasons[].reason'
    value: string
    index: number
  }

  export interface JobInfoPauseReasonsVolunteersFieldEvent {
    field: '$.pauseReasons[].volunteers'
    value: number
    index: number
  }

  export function encode (obj: Partial<JobInfo>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, JobInfo.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<JobInfo>): JobInfo {
    return decodeMessage(buf, JobInfo.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<JobInfo>): Generator<JobInfoJobIdFieldEvent | JobInfoKernelNameFieldEvent | JobInfoKernelIdFieldEvent | JobInfoStateFieldEvent | JobInfoWorkUnitsFieldEvent | JobInfoValidatedFieldEvent | JobInfoInProgressFieldEvent | JobInfoUnsentFieldEvent | JobInfoFailedFieldEvent | JobInfoVolunteersFieldEvent | JobInfoCreatedAtMsFieldEvent | JobInfoEtaMsFieldEvent | JobInfoOutputFieldEvent | JobInfoOutputsIndexFieldEvent | JobInfoOutputsOutputFieldEvent | JobInfoPolicyFieldEvent | JobInfoInvalidResultsFieldEvent | JobInfoReplicasIssuedFieldEvent | JobInfoRingersFieldEvent | JobInfoRingerChecksFieldEvent | JobInfoRingerFailuresFieldEvent | JobInfoHoldFieldEvent | JobInfoHoldReasonFieldEvent | JobInfoClientErrorResultsFieldEvent | JobInfoClientErrorsKindFieldEvent | JobInfoClientErrorsDeviceClassFieldEvent | JobInfoClientErrorsResultsFieldEvent | JobInfoClientErrorsPeersFieldEvent | JobInfoClientErrorsSampleFieldEvent | JobInfoProbesFieldEvent | JobInfoProbeFailuresFieldEvent | JobInfoWorkersFieldEvent | JobInfoValidatedRecentlyFieldEvent | JobInfoPausedWorkersFieldEvent | JobInfoPauseReasonsReasonFieldEvent | JobInfoPauseReasonsVolunteersFieldEvent> {
    return streamMessage(buf, JobInfo.codec(), opts)
  }
}

export interface PauseCount {
  reason: string
  volunteers: number
}

export namespace PauseCount {
  let _codec: Codec<PauseCount>

  export const codec = (): Codec<PauseCount> => {
    if (_codec == null) {
      _codec = message<PauseCount>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.reason != null && obj.reason !== '')) {
          w.uint32(10)
          w.string(obj.reason)
        }

        if ((obj.volunteers != null && obj.volunteers !== 0)) {
          w.uint32(16)
          w.uint32(obj.volunteers)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          reason: '',
          volunteers: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.reason = reader.string()
              break
            }
            case 2: {
              obj.volunteers = reader.uint32()
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
                field: `${prefix}.reason`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.volunteers`,
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

  export interface PauseCountReasonFieldEvent {
    field: '$.reason'
    value: string
  }

  export interface PauseCountVolunteersFieldEvent {
    field: '$.volunteers'
    value: number
  }

  export function encode (obj: Partial<PauseCount>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, PauseCount.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PauseCount>): PauseCount {
    return decodeMessage(buf, PauseCount.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PauseCount>): Generator<PauseCountReasonFieldEvent | PauseCountVolunteersFieldEvent> {
    return streamMessage(buf, PauseCount.codec(), opts)
  }
}

export interface JobResponse {
  error: string
  message: string
  job?: JobInfo
}

export namespace JobResponse {
  let _codec: Codec<JobResponse>

  export const codec = (): Codec<JobResponse> => {
    if (_codec == null) {
      _codec = message<JobResponse>((obj, w, opts = {}) => {
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

        if (obj.job != null) {
          w.uint32(26)
          JobInfo.codec().encode(obj.job, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          error: '',
          message: ''
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
              obj.job = JobInfo.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.job
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
              yield * JobInfo.codec().stream(reader, reader.uint32(), `${prefix}.job`, {
                limits: opts.limits?.job
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

  export interface JobResponseErrorFieldEvent {
    field: '$.error'
    value: string
  }

  export interface JobResponseMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export interface JobResponseJobJobIdFieldEvent {
    field: '$.job.jobId'
    value: string
  }

  export interface JobResponseJobKernelNameFieldEvent {
    field: '$.job.kernelName'
    value: string
  }

  export interface JobResponseJobKernelIdFieldEvent {
    field: '$.job.kernelId'
    value: string
  }

  export interface JobResponseJobStateFieldEvent {
    field: '$.job.state'
    value: string
  }

  export interface JobResponseJobWorkUnitsFieldEvent {
    field: '$.job.workUnits'
    value: number
  }

  export interface JobResponseJobValidatedFieldEvent {
    field: '$.job.validated'
    value: number
  }

  export interface JobResponseJobInProgressFieldEvent {
    field: '$.job.inProgress'
    value: number
  }

  export interface JobResponseJobUnsentFieldEvent {
    field: '$.job.unsent'
    value: number
  }

  export interface JobResponseJobFailedFieldEvent {
    field: '$.job.failed'
    value: number
  }

  export interface JobResponseJobVolunteersFieldEvent {
    field: '$.job.volunteers'
    value: number
  }

  export interface JobResponseJobCreatedAtMsFieldEvent {
    field: '$.job.createdAtMs'
    value: number
  }

  export interface JobResponseJobEtaMsFieldEvent {
    field: '$.job.etaMs'
    value: number
  }

  export interface JobResponseJobOutputFieldEvent {
    field: '$.job.output'
    value: string
  }

  export interface JobResponseJobOutputsIndexFieldEvent {
    field: '$.job.outputs[].index'
    value: number
    index: number
  }

  export interface JobResponseJobOutputsOutputFieldEvent {
    field: '$.job.outputs[].output'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface JobResponseJobPolicyFieldEvent {
    field: '$.job.policy'
    value: string
  }

  export interface JobResponseJobInvalidResultsFieldEvent {
    field: '$.job.invalidResults'
    value: number
  }

  export interface JobResponseJobReplicasIssuedFieldEvent {
    field: '$.job.replicasIssued'
    value: number
  }

  export interface JobResponseJobRingersFieldEvent {
    field: '$.job.ringers'
    value: number
  }

  export interface JobResponseJobRingerChecksFieldEvent {
    field: '$.job.ringerChecks'
    value: number
  }

  export interface JobResponseJobRingerFailuresFieldEvent {
    field: '$.job.ringerFailures'
    value: number
  }

  export interface JobResponseJobHoldFieldEvent {
    field: '$.job.hold'
    value: string
  }

  export interface JobResponseJobHoldReasonFieldEvent {
    field: '$.job.holdReason'
    value: string
  }

  export interface JobResponseJobClientErrorResultsFieldEvent {
    field: '$.job.clientErrorResults'
    value: number
  }

  export interface JobResponseJobClientErrorsKindFieldEvent {
    field: '$.job.clientErrors[].kind'
    value: string
    index: number
  }

  export interface JobResponseJobClientErrorsDeviceClassFieldEvent {
    field: '$.job.clientErrors[].deviceClass'
    value: string
    index: number
  }

  export interface JobResponseJobClientErrorsResultsFieldEvent {
    field: '$.job.clientErrors[].results'
    value: number
    index: number
  }

  export interface JobResponseJobClientErrorsPeersFieldEvent {
    field: '$.job.clientErrors[].peers'
    value: number
    index: number
  }

  export interface JobResponseJobClientErrorsSampleFieldEvent {
    field: '$.job.clientErrors[].sample'
    value: string
    index: number
  }

  export interface JobResponseJobProbesFieldEvent {
    field: '$.job.probes'
    value: number
  }

  export interface JobResponseJobProbeFailuresFieldEvent {
    field: '$.job.probeFailures'
    value: number
  }

  export interface JobResponseJobWorkersFieldEvent {
    field: '$.job.workers'
    value: number
  }

  export interface JobResponseJobValidatedRecentlyFieldEvent {
    field: '$.job.validatedRecently'
    value: number
  }

  export interface JobResponseJobPausedWorkersFieldEvent {
    field: '$.job.pausedWorkers'
    value: number
  }

  export interface JobResponseJobPauseReasonsReasonFieldEvent {
    field: '$.job.pauseReasons[].reason'
    value: string
    index: number
  }

  export interface JobResponseJobPauseReasonsVolunteersFieldEvent {
    field: '$.job.pauseReasons[].volunteers'
    value: number
    index: number
  }

  export function encode (obj: Partial<JobResponse>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, JobResponse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<JobResponse>): JobResponse {
    return decodeMessage(buf, JobResponse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<JobResponse>): Generator<JobResponseErrorFieldEvent | JobResponseMessageFieldEvent | JobResponseJobJobIdFieldEvent | JobResponseJobKernelNameFieldEvent | JobResponseJobKernelIdFieldEvent | JobResponseJobStateFieldEvent | JobResponseJobWorkUnitsFieldEvent | JobResponseJobValidatedFieldEvent | JobResponseJobInProgressFieldEvent | JobResponseJobUnsentFieldEvent | JobResponseJobFailedFieldEvent | JobResponseJobVolunteersFieldEvent | JobResponseJobCreatedAtMsFieldEvent | JobResponseJobEtaMsFieldEvent | JobResponseJobOutputFieldEvent | JobResponseJobOutputsIndexFieldEvent | JobResponseJobOutputsOutputFieldEvent | JobResponseJobPolicyFieldEvent | JobResponseJobInvalidResultsFieldEvent | JobResponseJobReplicasIssuedFieldEvent | JobResponseJobRingersFieldEvent | JobResponseJobRingerChecksFieldEvent | JobResponseJobRingerFailuresFieldEvent | JobResponseJobHoldFieldEvent | JobResponseJobHoldReasonFieldEvent | JobResponseJobClientErrorResultsFieldEvent | JobResponseJobClientErrorsKindFieldEvent | JobResponseJobClientErrorsDeviceClassFieldEvent | JobResponseJobClientErrorsResultsFieldEvent | JobResponseJobClientErrorsPeersFieldEvent | JobResponseJobClientErrorsSampleFieldEvent | JobResponseJobProbesFieldEvent | JobResponseJobProbeFailuresFieldEvent | JobResponseJobWorkersFieldEvent | JobResponseJobValidatedRecentlyFieldEvent | JobResponseJobPausedWorkersFieldEvent | JobResponseJobPauseReasonsReasonFieldEvent | JobResponseJobPauseReasonsVolunteersFieldEvent> {
    return streamMessage(buf, JobResponse.codec(), opts)
  }
}
