/**
 * The one place that turns a page into VolunteerOptions: worker factories (bundled by Vite from
 * `new Worker(new URL(…, import.meta.url))`), the kernel's .wasm URL, the hub's /hub.json and the
 * slot count. The visitor page (src/ui/main.ts) and the embed frame (src/embed/frame.ts) both
 * build their client from here. Browser only.
 */
import primesWasmUrl from '../../build/kernels/primes-sieve.wasm?url'
import { embedWorkerSlots } from '../embed/config.ts'
import type { VolunteerOptions } from './create-volunteer.ts'

const wasmWorker = (): Worker => new Worker(new URL('../../workers/wasm-runner.ts', import.meta.url), { type: 'module', name: 'wasm-runner' })
const gpuWorker = (): Worker => new Worker(new URL('../../workers/gpu-runner.ts', import.meta.url), { type: 'module', name: 'gpu-runner' })
const kernelWorker = (): Worker => new Worker(new URL('../../workers/kernel-runner.ts', import.meta.url), { type: 'module', name: 'kernel-runner' })

/** The hub's /hub.json next to the page. */
function hubInfoUrl (): string {
  return new URL('/hub.json', location.href).toString()
}

/**
 * The visitor page: every runner. Query parameters: `workers=N` (worker slots, ≥ 1; default
 * cores − 1), `gpu=off` (matmul on WASM SIMD only), `loseGpuAtTile=n` (destroy the GPU device
 * during the n-th tile, a real device loss, for tests), `p2p=off` (blobs from the hub only, none
 * served to other volunteers).
 */
export function visitorPageOptions (params: URLSearchParams = new URLSearchParams(location.search)): VolunteerOptions {
  const workers = Number(params.get('workers'))
  return {
    hubInfoUrl: hubInfoUrl(),
    wasmUrl: primesWasmUrl,
    createWorker: wasmWorker,
    slots: params.has('workers') && Number.isFinite(workers) ? Math.max(1, Math.floor(workers)) : undefined,
    createGpuWorker: gpuWorker,
    createKernelWorker: kernelWorker,
    gpuInit: { preferGpu: params.get('gpu') !== 'off', loseDeviceAtTile: params.has('loseGpuAtTile') ? Number(params.get('loseGpuAtTile')) : undefined },
    peerToPeer: params.get('p2p') !== 'off',
    addHubs: true
  }
}

/**
 * The partner-site embed frame: WASM slots only (the consent text names a prime-counting program),
 * its own database, and the partner's site key on every work request; no WebRTC with other
 * volunteers (the consent text does not ask for it).
 * @param workers the frame's `workers` parameter (1-4; anything else is 1)
 * @param siteOrigin the embedding page's origin as the browser reports it ('' where it does not)
 */
export function embedFrameOptions (siteKey: string, workers: string | null, siteOrigin = ''): VolunteerOptions {
  return {
    hubInfoUrl: hubInfoUrl(),
    wasmUrl: primesWasmUrl,
    createWorker: wasmWorker,
    slots: embedWorkerSlots(workers),
    dbName: 'sparecycles-embed',
    siteKey,
    siteOrigin,
    peerToPeer: false
  }
}
