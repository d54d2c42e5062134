/**
 * The kernel catalogue: every kernel the hub can hand out, with its validation policy, its
 * assimilator and what a page needs to run it. Built-in kernels (primes-sieve/1, matmul-f32/1) are
 * definitions passed in by HubCore; researcher kernels (`k1:` refs) live in the store's `kernels`
 * table and are loaded from it — at open, before any protocol is served, and again on a miss, so a
 * second hub process on the same store learns a kernel posted to the first.
 *
 * Capability matching (`runnableAs`): a built-in kernel runs where the page lists its id in
 * `capabilities.kernels`; a researcher kernel where the page lists its ABI in `kernelAbis`; either
 * way on the first of the kernel's backends (its preference order) that the page offers and, for
 * webgpu, whose adapter's limits fit. The device class is `deviceClassOf(backend, gpu)`.
 */
import { deviceClassOf } from '../protocol/capabilities.ts'
import type { Backend, DeviceClass } from '../protocol/capabilities.ts'
import type { Capabilities, GpuAdapter } from '../protocol/pb/messages.ts'
import type { ErrorName } from '../protocol/errors.ts'
import type { BlobStore } from './blob-store.ts'
import type { KernelRow, RepoReader, RepoTx, WorkUnitRow } from './repository.ts'

/** A kernel id without a definition in the catalogue or the store. */
export class UnknownKernelError extends Error {
  static override readonly name: ErrorName = 'UnknownKernelError'
  override readonly name: ErrorName = 'UnknownKernelError'
}

/** What validation and assimilation may read besides the result: the hub's blobs and the job's spec. */
export interface KernelContext {
  blobs: BlobStore
  /** The job's spec (parsed `job_specs.spec`). */
  spec: unknown
  /** Directory of the hub's data (job outputs live under `<dataDir>/jobs/<jobId>`). */
  dataDir: string
}

/** How one kernel's canonical outputs combine into its job's output (a JSON value). */
export interface KernelAssimilator<T = any> {
  /** Fold one canonical output in. @throws to refuse the output (the transaction rolls back) */
  fold: (acc: T, output: Uint8Array, wu: WorkUnitRow, ctx: KernelContext) => T
  /**
   * Take a folded output back out (a canonical result proven wrong after it was assimilated: its
   * unit is reopened). Kernels without it never have an assimilated unit reopened.
   */
  unfold?: (acc: T, output: Uint8Array, wu: WorkUnitRow, ctx: KernelContext) => T
}

export interface KernelDef {
  /** Kernel id as work units name it: `primes-sieve/1`, `matmul-f32/1`, `k1:<ticket sha-256 hex>`. */
  id: string
  /** Backends it runs on, most preferred first (matmul: webgpu, then its wasm fallback). */
  backends: readonly Backend[]
  /** Researcher kernels: the kernel ABI version a page must implement. Built-ins: undefined. */
  abi?: number
  /**
   * True when the output is bit-for-bit reproducible on every device: results of different
   * device classes may then be compared, and work units are not pinned to one class.
   */
  exact: boolean
  /**
   * Shape check of a successful output before it is stored.
   * @throws BadOutputError (or a subclass naming the problem, e.g. TileShapeError)
   */
  checkOutput: (output: Uint8Array, wu: WorkUnitRow) => void
  /**
   * Certificate validation (Freivalds' check): each successful result is judged on its own,
   * valid when `ok`; replicas are never compared (so never pinned to a device class either).
   */
  certify?: (ctx: KernelContext, wu: WorkUnitRow, output: Uint8Array) => { ok: boolean, reason: string }
  /**
   * The hub's own check of one successful output, by recomputing a random sample of it (primes:
   * re-sieving a few of the unit's count blocks with the same WASM kernel in Node). Synchronous,
   * a few ms at most: it runs inside the validation transaction. `random` gives uniform [0, 1)
   * draws the peer cannot predict. The validator decides when to call it (trust and policy,
   * trust.ts); `checkedOps` (in the kernel's estOps units) is what the check cost the hub.
   */
  spotCheck?: (ctx: KernelContext, wu: WorkUnitRow, output: Uint8Array, random: () => number) => SpotCheckVerdict
  /**
   * The hub's referee between two outputs of one unit that differ: recompute one piece where they
   * disagree (primes: one count block whose claimed counts differ, chosen with `random`) and say
   * which of the two is wrong there (at least one is, since they differ). Synchronous, one
   * piece's cost. Null when the outputs differ in nothing it can recompute.
   */
  arbitrate?: (ctx: KernelContext, wu: WorkUnitRow, a: Uint8Array, b: Uint8Array, random: () => number) => ArbitrationVerdict | null
  /** For the webgpu backend: do this adapter's limits fit the kernel? (default: yes) */
  gpuFits?: (gpu: GpuAdapter) => boolean
  assimilator: KernelAssimilator
}

/** A spot check's verdict: `ok` false means the output is wrong (the result is invalid, its peer a cheater). */
export interface SpotCheckVerdict {
  ok: boolean
  /** Why not ok (empty when ok). */
  reason: string
  /** Work the hub did to check, in the kernel's estOps units (primes: numbers re-sieved). */
  checkedOps: number
  /** True when the kernel could not check this output at all (no evidence either way: the validator replicates instead). */
  unchecked?: boolean
}

/** An arbitration between two outputs: which is wrong (one or both), with the same cost unit as a spot check. */
export interface ArbitrationVerdict {
  aWrong: boolean
  bWrong: boolean
  /** What was recomputed and what each claimed. */
  reason: string
  /** Work the hub did, in the kernel's estOps units. */
  checkedOps: number
}

/** WebGPU's guaranteed minimum limits, assumed for a limit a page reports as 0 (unknown). */
export const WEBGPU_DEFAULT_LIMITS = {
  maxComputeWorkgroupStorageSize: 16_384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxStorageBufferBindingSize: 128 * 1024 * 1024,
  maxBufferSize: 256 * 1024 * 1024
} as const

/** A GPU limit, with 0 read as the WebGPU default. */
export function gpuLimit (gpu: GpuAdapter, name: keyof typeof WEBGPU_DEFAULT_LIMITS): number {
  return gpu[name] > 0 ? gpu[name] : WEBGPU_DEFAULT_LIMITS[name]
}

/** True when a kernel's work units are pinned to the first device class leased (homogeneous redundancy). */
export function pinsDeviceClass (def: KernelDef): boolean {
  return !def.exact && def.certify == null
}

/**
 * The device class a page with `caps` would run `def` as, or null when it cannot run it.
 */
export function runnableAs (def: KernelDef, caps: Capabilities): DeviceClass | null {
  if (def.abi == null ? !caps.kernels.includes(def.id) : !caps.kernelAbis.includes(def.abi)) return null
  for (const backend of def.backends) {
    if (!caps.backends.includes(backend)) continue
    if (backend === 'webgpu') {
      if (caps.gpu != null && def.gpuFits != null && !def.gpuFits(caps.gpu)) continue
      return deviceClassOf('webgpu', caps.gpu)
    }
    return deviceClassOf(backend)
  }
  return null
}

export class KernelCatalogue {
  private readonly defs = new Map<string, KernelDef>()

  /**
   * @param builtins built-in kernel definitions
   * @param fromRow builds a researcher kernel's definition from its stored row (ticket)
   */
  constructor (builtins: readonly KernelDef[], private readonly fromRow: (row: KernelRow) => KernelDef) {
    for (const def of builtins) this.defs.set(def.id, def)
  }

  /** Load every researcher kernel of the store. */
  async load (reader: RepoReader): Promise<void> {
    for (const row of await reader.listKernels()) {
      if (!this.defs.has(row.id)) this.defs.set(row.id, this.fromRow(row))
    }
  }

  /**
   * Add a kernel for this process only (tests, tools); researcher kernels go through `register`.
   * @throws Error when the id is taken
   */
  define (def: KernelDef): void {
    if (this.defs.has(def.id)) throw new Error(`kernel ${def.id} is already in the catalogue`)
    this.defs.set(def.id, def)
  }

  /** Store a researcher kernel (idempotent) and add it. */
  async register (tx: RepoTx, row: KernelRow): Promise<KernelDef> {
    await tx.insertKernel(row)
    const def = this.defs.get(row.id) ?? this.fromRow(row)
    this.defs.set(row.id, def)
    return def
  }

  /**
   * The definition of a kernel id; a miss re-reads the store (another hub process may have added it).
   * @throws UnknownKernelError when neither the catalogue nor the store knows it
   */
  async resolve (reader: RepoReader, id: string): Promise<KernelDef> {
    const known = this.defs.get(id)
    if (known != null) return known
    const row = await reader.getKernel(id)
    if (row == null) throw new UnknownKernelError(`no kernel ${id} in the catalogue`)
    const def = this.fromRow(row)
    this.defs.set(id, def)
    return def
  }

  /** The definitions of these ids (each resolved as by `resolve`). @throws UnknownKernelError */
  async resolveAll (reader: RepoReader, ids: readonly string[]): Promise<KernelDef[]> {
    const out: KernelDef[] = []
    for (const id of ids) out.push(await this.resolve(reader, id))
    return out
  }
}
