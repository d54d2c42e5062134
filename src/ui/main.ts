/**
 * The visitor page: renders VolunteerState and sends start/stop. No business logic here.
 */
import { VolunteerClient } from '../volunteer/client.ts'
import { formatCredit, formatRate } from './format.ts'
import primesWasmUrl from '../../build/kernels/primes-sieve.wasm?url'
import type { VolunteerState } from '../volunteer/client.ts'

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T
const startButton = $<HTMLButtonElement>('start')
const stopButton = $<HTMLButtonElement>('stop')

function field (name: string, text: string): void {
  const el = document.querySelector<HTMLElement>(`[data-field="${name}"]`)
  if (el != null && el.textContent !== text) el.textContent = text
}

function render (s: VolunteerState): void {
  field('connection', s.connection)
  field('hubPeerId', s.hubPeerId ?? '–')
  field('peerId', s.peerId)
  field('run', s.run)
  field('workers', `${s.workers} of ${s.slots}`)
  field('unitsDone', String(s.unitsDone))
  field('resultsPending', String(s.resultsPending))
  field('resultsValidated', String(s.resultsValidated))
  field('resultsRejected', String(s.resultsRejected))
  field('creditGranted', formatCredit(s.creditGranted))
  field('throughput', formatRate(s.throughput))
  $('slot-count').textContent = String(s.slots)
  $('running').replaceChildren(...s.running.map(r => {
    const li = document.createElement('li')
    li.textContent = `${r.replicaId}: ${Math.floor(100 * r.done / Math.max(r.total, 1))}%`
    return li
  }))
  $('error').textContent = s.lastError ?? ''
  startButton.disabled = s.run === 'running'
  stopButton.disabled = s.run !== 'running'
  document.body.dataset.run = s.run
  document.body.dataset.connection = s.connection
}

const params = new URLSearchParams(location.search)
const slots = params.has('workers') ? Math.max(1, Number(params.get('workers'))) : undefined

const client = await VolunteerClient.create({
  hubInfoUrl: new URL('/hub.json', location.href).toString(),
  wasmUrl: primesWasmUrl,
  createWorker: () => new Worker(new URL('../../workers/wasm-runner.ts', import.meta.url), { type: 'module', name: 'wasm-runner' }),
  slots
})
client.subscribe(render)
startButton.addEventListener('click', () => { void client.start() })
stopButton.addEventListener('click', () => { void client.stop() })
document.body.dataset.ready = 'true'
