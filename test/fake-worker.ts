/**
 * A fake Web Worker for Node tests of the page's runners: a real comlink endpoint (a
 * MessageChannel; the "worker" side exposes `api`) that the test controls — crash it (`error` or
 * `messageerror`), let its calls hang, see whether it was terminated.
 */
import { expose } from 'comlink'
import type { WorkerLike } from '../src/volunteer/run-in-worker.ts'

export class FakeWorker implements WorkerLike {
  private readonly channel = new MessageChannel()
  private readonly listeners = new Map<string, Set<(event: unknown) => void>>()
  terminated = false

  constructor (api: object) {
    expose(api, this.channel.port2 as never)
    this.channel.port2.start()
  }

  postMessage (message: unknown, transfer: Transferable[] = []): void {
    if (!this.terminated) this.channel.port1.postMessage(message, transfer as never)
  }

  addEventListener (type: string, listener: (event: any) => void): void {
    if (type === 'message') {
      this.channel.port1.addEventListener('message', listener)
      this.channel.port1.start()
      return
    }
    const set = this.listeners.get(type) ?? new Set()
    set.add(listener)
    this.listeners.set(type, set)
  }

  removeEventListener (type: string, listener: (event: any) => void): void {
    if (type === 'message') this.channel.port1.removeEventListener('message', listener)
    else this.listeners.get(type)?.delete(listener)
  }

  terminate (): void {
    this.terminated = true
    this.channel.port1.close()
    this.channel.port2.close()
  }

  /** Fire `error` (an uncaught exception in the worker) or `messageerror`. */
  crash (type: 'error' | 'messageerror' = 'error', message = 'boom'): void {
    for (const fn of [...this.listeners.get(type) ?? []]) fn({ type, message })
  }
}

export const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** A promise that never settles (a hung kernel call). */
export const never = async (): Promise<never> => await new Promise<never>(() => {})
