import { decodeMessage, encodeMessage, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface KernelManifest {
  abi: number
  name: string
  version: string
  backend: string
  kernelId: string
  memoryBytes: number
  maxOutputBytes: number
  deadlineMs: number
  researcherKey: Uint8Array<ArrayBuffer>
  createdAtMs: number
  output: string
  workgroupSize: number
  outputBytes: number
}

export namespace KernelManifest {
  let _codec: Codec<KernelManifest>

  export const codec = (): Codec<KernelManifest> => {
    if (_codec == null) {
      _codec = message<KernelManifest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.abi != null && obj.abi !== 0)) {
          w.uint32(8)
          w.uint32(obj.abi)
        }

        if ((obj.name != null && obj.name !== '')) {
          w.uint32(18)
          w.string(obj.name)
        }

        if ((obj.version != null && obj.version !== '')) {
          w.uint32(26)
          w.string(obj.version)
        }

        if ((obj.backend != null && obj.backend !== '')) {
          w.uint32(34)
          w.string(obj.backend)
        }

        if ((obj.kernelId != null && obj.kernelId !== '')) {
          w.uint32(42)
          w.string(obj.kernelId)
        }

        if ((obj.memoryBytes != null && obj.memoryBytes !== 0)) {
          w.uint32(48)
          w.uint64Number(obj.memoryBytes)
        }

        if ((obj.maxOutputBytes != null && obj.maxOutputBytes !== 0)) {
          w.uint32(56)
          w.uint32(obj.maxOutputBytes)
        }

        if ((obj.deadlineMs != null && obj.deadlineMs !== 0)) {
          w.uint32(64)
          w.uint32(obj.deadlineMs)
        }

        if ((obj.researcherKey != null && obj.researcherKey.byteLength > 0)) {
          w.uint32(74)
          w.bytes(obj.researcherKey)
        }

        if ((obj.createdAtMs != null && obj.createdAtMs !== 0)) {
          w.uint32(80)
          w.uint64Number(obj.createdAtMs)
        }

        if ((obj.output != null && obj.output !== '')) {
          w.uint32(90)
          w.string(obj.output)
        }

        if ((obj.workgroupSize != null && obj.workgroupSize !== 0)) {
          w.uint32(96)
          w.uint32(obj.workgroupSize)
        }

        if ((obj.outputBytes != null && obj.outputBytes !== 0)) {
          w.uint32(104)
          w.uint32(obj.outputBytes)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          abi: 0,
          name: '',
          version: '',
          backend: '',
          kernelId: '',
          memoryBytes: 0,
          maxOutputBytes: 0,
          deadlineMs: 0,
          researcherKey: uint8ArrayAlloc(0),
          createdAtMs: 0,
          output: '',
          workgroupSize: 0,
          outputBytes: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.abi = reader.uint32()
              break
            }
            case 2: {
              obj.name = reader.string()
              break
            }
            case 3: {
              obj.version = reader.string()
              break
            }
            case 4: {
              obj.backend = reader.string()
              break
            }
            case 5: {
              obj.kernelId = reader.string()
              break
            }
            case 6: {
              obj.memoryBytes = reader.uint64Number()
              break
            }
            case 7: {
              obj.maxOutputBytes = reader.uint32()
              break
            }
            case 8: {
              obj.deadlineMs = reader.uint32()
              break
            }
            case 9: {
              obj.researcherKey = reader.bytes()
              break
            }
            case 10: {
              obj.createdAtMs = reader.uint64Number()
              break
            }
            case 11: {
              obj.output = reader.string()
              break
            }
            case 12: {
              obj.workgroupSize = reader.uint32()
              break
            }
            case 13: {
              obj.outputBytes = reader.uint32()
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
                field: `${prefix}.abi`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.name`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.version`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.backend`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.kernelId`,
                value: reader.string()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.memoryBytes`,
                value: reader.uint64Number()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.maxOutputBytes`,
                value: reader.uint32()
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
                field: `${prefix}.researcherKey`,
                value: reader.bytes()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.createdAtMs`,
                value: reader.uint64Number()
              }
              break
            }
            case 11: {
              yield {
                field: `${prefix}.output`,
                value: reader.string()
              }
              break
            }
            case 12: {
              yield {
                field: `${prefix}.workgroupSize`,
                value: reader.uint32()
              }
              break
            }
            case 13: {
              yield {
                field: `${prefix}.outputBytes`,
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

  export interface KernelManifestAbiFieldEvent {
    field: '$.abi'
    value: number
  }

  export interface KernelManifestNameFieldEvent {
    field: '$.name'
    value: string
  }

  export interface KernelManifestVersionFieldEvent {
    field: '$.version'
    value: string
  }

  export interface KernelManifestBackendFieldEvent {
    field: '$.backend'
    value: string
  }

  export interface KernelManifestKernelIdFieldEvent {
    field: '$.kernelId'
    value: string
  }

  export interface KernelManifestMemoryBytesFieldEvent {
    field: '$.memoryBytes'
    value: number
  }

  export interface KernelManifestMaxOutputBytesFieldEvent {
    field: '$.maxOutputBytes'
    value: number
  }

  export interface KernelManifestDeadlineMsFieldEvent {
    field: '$.deadlineMs'
    value: number
  }

  export interface KernelManifestResearcherKeyFieldEvent {
    field: '$.researcherKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface KernelManifestCreatedAtMsFieldEvent {
    field: '$.createdAtMs'
    value: number
  }

  export interface KernelManifestOutputFieldEvent {
    field: '$.output'
    value: string
  }

  export interface KernelManifestWorkgroupSizeFieldEvent {
    field: '$.workgroupSize'
    value: number
  }

  export interface KernelManifestOutputBytesFieldEvent {
    field: '$.outputBytes'
    value: number
  }

  export function encode (obj: Partial<KernelManifest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, KernelManifest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<KernelManifest>): KernelManifest {
    return decodeMessage(buf, KernelManifest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<KernelManifest>): Generator<KernelManifestAbiFieldEvent | KernelManifestNameFieldEvent | KernelManifestVersionFieldEvent | KernelManifestBackendFieldEvent | KernelManifestKernelIdFieldEvent | KernelManifestMemoryBytesFieldEvent | KernelManifestMaxOutputBytesFieldEvent | KernelManifestDeadlineMsFieldEvent | KernelManifestResearcherKeyFieldEvent | KernelManifestCreatedAtMsFieldEvent | KernelManifestOutputFieldEvent | KernelManifestWorkgroupSizeFieldEvent | KernelManifestOutputBytesFieldEvent> {
    return streamMessage(buf, KernelManifest.codec(), opts)
  }
}

export interface SignedManifest {
  manifest: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
}

export namespace SignedManifest {
  let _codec: Codec<SignedManifest>

  export const codec = (): Codec<SignedManifest> => {
    if (_codec == null) {
      _codec = message<SignedManifest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.manifest != null && obj.manifest.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.manifest)
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
          manifest: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.manifest = reader.bytes()
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
                field: `${prefix}.manifest`,
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

  export interface SignedManifestManifestFieldEvent {
    field: '$.manifest'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedManifestSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<SignedManifest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SignedManifest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SignedManifest>): SignedManifest {
    return decodeMessage(buf, SignedManifest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SignedManifest>): Generator<SignedManifestManifestFieldEvent | SignedManifestSignatureFieldEvent> {
    return streamMessage(buf, SignedManifest.codec(), opts)
  }
}
