/**
 * Types shared by every worker slot (primes WASM, GPU/matmul, researcher kernels) and by
 * `runInWorker` (run-in-worker.ts): the unit a slot runs, the report it returns, the worker
 * factory, and the one family of errors a run can end with.
 *
 * Error family (all extend {@link RunnerError}):
 *
 * | class | when | what the caller does |
 * |---|---|---|
 * | RunAbortedError | the caller's AbortSignal aborted (Stop) | release the replica, report nothing |
 * | KernelLoadError | the worker or its kernel/inputs could not be loaded | keep the lease, retry later |
 * | DeadlineExceededError | the run used up its deadline of governor-allowed compute time | report a client error |
 * | WorkerCrashedError | the worker fired `error` or `messageerror` | report a client error |
 * | RunPreemptedError | the governor paused a run that cannot pause (ABI 1); the worker was terminated | wait for resume, rerun the unit |
 *
 * Errors the kernel itself throws inside the worker (KernelRunError, ...) are not wrapped: their
 * name and message cross to the page and become a client error.
 */
import type { DeviceClass, ResultOutcome } from '../protocol/index.ts'
import type { ErrorName } from '../protocol/index.ts'

export type { ThrottleSettings } from '../../workers/duty-cycle.ts'

export interface RunnableUnit {
  kernel: string
  /** Kernel input bytes (primes-sieve: [lo, hi) as two u64 LE). */
  input: Uint8Array
  /** Limit for this run, in ms of compute time the governor allowed (paused time does not count). */
  deadlineMs: number
}

export interface RunReport {
  outcome: ResultOutcome
  output: Uint8Array
  /** Wall time from the start of `run` to the report, in ms. */
  elapsedMs: number
  errorMessage: string
  /** The class of device that computed it (default 'wasm'); replicas are compared within a class. */
  deviceClass?: DeviceClass
}

/**
 * Makes a Web Worker (or anything with its shape: see `WorkerLike` in run-in-worker.ts).
 * May throw KernelLoadError when this page cannot make one.
 */
export type WorkerFactory = () => Worker

/** Base of the errors a worker run ends with (never thrown itself). */
export class RunnerError extends Error {
  static override readonly name: ErrorName = 'RunnerError'
  override readonly name: ErrorName = 'RunnerError'
  constructor (message: string) {
    super(message)
  }
}

/** The run was stopped by the visitor (not a client error: the replica is released, not reported). */
export class RunAbortedError extends RunnerError {
  static override readonly name: ErrorName = 'RunAbortedError'
  override readonly name: ErrorName = 'RunAbortedError'
  constructor (message = 'run stopped') {
    super(message)
  }
}

/**
 * The worker or its kernel could not be loaded (e.g. the hub serving the .wasm is unreachable).
 * Transient: the replica is kept and retried, not reported as a client error.
 */
export class KernelLoadError extends RunnerError {
  static override readonly name: ErrorName = 'KernelLoadError'
  override readonly name: ErrorName = 'KernelLoadError'
}

/** The run used up its deadline (compute time the governor allowed); its worker was terminated. */
export class DeadlineExceededError extends RunnerError {
  static override readonly name: ErrorName = 'DeadlineExceededError'
  override readonly name: ErrorName = 'DeadlineExceededError'
}

/** The worker fired `error` or `messageerror` (it crashed, or a message could not be read); it was terminated. */
export class WorkerCrashedError extends RunnerError {
  static override readonly name: ErrorName = 'WorkerCrashedError'
  override readonly name: ErrorName = 'WorkerCrashedError'
}

/**
 * The governor paused while a run that cannot pause inside (an ABI 1 kernel: one long call) was
 * going; the worker was terminated so it stops using the CPU at once. Rerun the unit on resume.
 */
export class RunPreemptedError extends RunnerError {
  static override readonly name: ErrorName = 'RunPreemptedError'
  override readonly name: ErrorName = 'RunPreemptedError'
}

/**
 * The report for a run that ended with `err`: DeadlineExceededError, WorkerCrashedError and any
 * error from the kernel become a client error (message `Name: message`, at most 1000 chars).
 * @throws err itself when it is a RunAbortedError, KernelLoadError or RunPreemptedError (the
 *   caller releases, retries or reruns the unit)
 */
export function failureReport (err: unknown, startedAt: number, deviceClass?: DeviceClass): RunReport {
  if (err instanceof RunAbortedError || err instanceof KernelLoadError || err instanceof RunPreemptedError) throw err
  const e = err as Error | undefined
  // `<ErrorName>: <message>`: the hub groups client errors by the name (job status's error kinds)
  const message = `${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`
  return clientErrorReport(message, startedAt, deviceClass)
}

/** A client-error report (no output) with `message` cut to 1000 chars. */
export function clientErrorReport (message: string, startedAt: number, deviceClass?: DeviceClass): RunReport {
  return {
    outcome: 'client-error',
    output: new Uint8Array(0),
    elapsedMs: Math.round(performance.now() - startedAt),
    errorMessage: message.slice(0, 1000),
    ...(deviceClass != null ? { deviceClass } : {})
  }
}
