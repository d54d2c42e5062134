/**
 * The visitor page: renders VolunteerState and sends commands (start/stop, shares, key export and
 * import, statements). No business logic here: every decision is in src/volunteer.
 */
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { VolunteerClient } from '../volunteer/client.ts'
import { PAUSE_REASON_TEXT } from '../volunteer/governor.ts'
import { visitorPageOptions } from '../volunteer/page-options.ts'
import { formatCredit, formatPercent, formatRate, formatUnitsPerMinute } from './format.ts'
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
  field('throughput', `${formatRate(s.numbersPerSecond)} · ${formatUnitsPerMinute(s.unitsPerMinute)}`)
  $('slot-count').textContent = String(s.slots)
  $('running').replaceChildren(...s.running.map(r => {
    const li = document.createElement('li')
    li.textContent = `${r.replicaId}: ${Math.floor(100 * r.done / Math.max(r.total, 1))}%`
    return li
  }))
  $('error').textContent = s.lastError ?? ''
  const wasRun = document.body.dataset.run
  // the control that took over keeps the keyboard focus (a disabled button drops it to the body)
  const focusHere = document.activeElement === startButton || document.activeElement === stopButton
  startButton.disabled = s.run === 'running'
  stopButton.disabled = s.run !== 'running'
  if (focusHere) (s.run === 'running' ? stopButton : startButton).focus()
  if (wasRun != null && wasRun !== s.run) $('run-announce').textContent = s.run === 'running' ? 'Contributing: workers are running.' : 'Stopped: no worker is running.'
  document.body.dataset.run = s.run
  document.body.dataset.connection = s.connection
  renderGovernor(s)
  renderDashboard(s)
  renderGemm(s)
}

/** The matmul (GEMM) slot: backend, adapter, GFLOP/s. */
function renderGemm (s: VolunteerState): void {
  const g = s.gemm
  field('gemmBackend', g == null ? '–' : g.backend === 'webgpu' ? 'WebGPU' : g.backend === 'wasm' ? `WASM SIMD${g.fallbackReason != null ? ` (${g.fallbackReason})` : ''}` : 'not started')
  // one GPU story: before the matrix slot has run, the adapter the page found (the Device line's)
  const found = s.device.gpu
  const probed = found == null ? 'none found' : `${[found.vendor, found.architecture, found.description].filter(x => x !== '').join(' ') || 'adapter'}${found.fallback ? ', fallback adapter' : ''}`
  field('gemmAdapter', g?.adapter == null ? probed : `${g.adapter}${g.fallbackAdapter === true ? ', fallback adapter' : ''}`)
  field('gemmGflops', g == null || g.tilesDone === 0 ? '–' : `${g.gflops.toFixed(2)} GFLOP/s (${g.backend}), ${g.tilesDone} tile(s)`)
  if (g != null) document.body.dataset.gemmBackend = g.backend
}

function renderGovernor (s: VolunteerState): void {
  const g = s.governor
  field('cpuShare', formatPercent(g.cpuShare))
  field('gpuShare', formatPercent(g.gpuShare))
  field('cores', String(g.cores))
  const plan = `${g.plannedWorkers} worker(s) computing ${formatPercent(g.dutyCycle)} of the time` +
    (g.reachableCpuShare + 1e-6 < g.cpuShare ? ` (this page has ${s.slots} worker slot(s): at most ${formatPercent(g.reachableCpuShare)})` : '')
  field('plan', plan)
  field('pause', g.paused ? `paused: ${g.pauseReasons.map(r => PAUSE_REASON_TEXT[r]).join('; ')}` : 'not paused')
  document.body.dataset.paused = String(g.paused)
  document.body.dataset.pauseReasons = g.pauseReasons.join(' ')
  if (document.activeElement !== cpuShare) cpuShare.value = String(Math.round(g.cpuShare * 100))
  if (document.activeElement !== gpuShare) gpuShare.value = String(Math.round(g.gpuShare * 100))
}

function renderDashboard (s: VolunteerState): void {
  // what the workers' slices count (wall time the governor allowed), not a measurement of the
  // process: on a busy machine the OS may give the workers less than this
  field('cpuUse', `${formatPercent(s.cpuUse)} of the cores' time, as the workers' slices count it (share ${formatPercent(s.governor.cpuShare)}; the system may give less when busy)`)
  const busy = $('dashboard').querySelector<HTMLElement>('[data-field="cpuBusy"]')!
  busy.dataset.ms = String(Math.round(s.cpuBusyMs))
  field('cpuBusy', `${(s.cpuBusyMs / 1000).toFixed(1)} s`)
  field('gpuUse', s.gpuUse == null ? `no GPU work yet (share ${formatPercent(s.governor.gpuShare)})` : `${formatPercent(s.gpuUse)} (share ${formatPercent(s.governor.gpuShare)})`)
  field('creditPending', `${s.resultsPending} result(s) awaiting validation; ${formatCredit(s.creditGranted)} credit granted`)
  field('peers', String(s.peers))
  const kernels = Object.entries(s.unitsByKernel)
  const list = $('units-by-kernel')
  const text = kernels.map(([k, n]) => `${k}: ${n}`).join('|')
  if (list.dataset.text !== text) {
    list.dataset.text = text
    list.replaceChildren(...(kernels.length === 0 ? [['none yet', '']] : kernels).map(([k, n]) => {
      const li = document.createElement('li')
      li.textContent = n === '' ? String(k) : `${k}: ${n}`
      return li
    }))
  }
  const d = s.device
  field('device', `${d.cores} logical cores` + (d.memoryGiB != null ? `, ~${d.memoryGiB} GiB memory` : '') +
    (d.gpu != null ? `, WebGPU: ${[d.gpu.vendor, d.gpu.architecture, d.gpu.description].filter(x => x !== '').join(' ') || 'adapter'}${d.gpu.fallback ? ' (software fallback)' : ''}` : ', no WebGPU adapter'))
  updateChart(s)
}

let chart: uPlot | undefined
let chartLast = 0
function updateChart (s: VolunteerState): void {
  const last = s.history[s.history.length - 1]
  // no empty box before there is anything to draw
  $('chart').hidden = last == null
  if (last == null || last.t === chartLast) return
  chartLast = last.t
  const data: uPlot.AlignedData = [s.history.map(h => h.t), s.history.map(h => h.numbersPerSecond / 1e9), s.history.map(h => h.cpuUse * 100)]
  if (chart == null) {
    const el = $('chart')
    chart = new uPlot({
      width: Math.max(300, el.clientWidth || 600),
      height: 200,
      series: [{}, { label: 'throughput (G numbers/s)', stroke: '#1d7a46', scale: 'rate' }, { label: 'time in work slices (% of cores)', stroke: '#2f6feb', scale: '%' }],
      axes: [{}, { scale: 'rate', label: 'G/s' }, { scale: '%', side: 1, label: '%', grid: { show: false } }],
      scales: { '%': { range: [0, 100] } }
    }, data, el)
  } else {
    chart.setData(data)
  }
}

function showStatus (id: string, text: string, isError: boolean): void {
  const el = $(id)
  el.textContent = text
  el.classList.toggle('error', isError)
}

function download (name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }))
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => { URL.revokeObjectURL(url) }, 10_000)
}

const cpuShare = $<HTMLInputElement>('cpu-share')
const gpuShare = $<HTMLInputElement>('gpu-share')

const client = await VolunteerClient.create(visitorPageOptions())
client.subscribe(render)
const always = $<HTMLInputElement>('always')
// the visitor's own choice: 24 h (the client's default) or always on this device
startButton.addEventListener('click', () => { void client.start(always.checked ? { untilMs: null } : {}) })
stopButton.addEventListener('click', () => { void client.stop() })
cpuShare.addEventListener('change', () => { void client.setShares({ cpuShare: Number(cpuShare.value) / 100 }) })
gpuShare.addEventListener('change', () => { void client.setShares({ gpuShare: Number(gpuShare.value) / 100 }) })

$('export-key').addEventListener('click', () => {
  const input = $<HTMLInputElement>('export-passphrase')
  showStatus('backup-status', 'Encrypting the key…', false)
  client.exportKey(input.value).then(text => {
    download(`sparecycles-key-${client.snapshot.peerId.slice(-8)}.json`, text)
    input.value = ''
    showStatus('backup-status', 'Key backup downloaded. Keep the file and the passphrase: both are needed to import it.', false)
  }, (err: Error) => { showStatus('backup-status', `Not exported: ${err.message}`, true) })
})

$('import-key').addEventListener('click', () => {
  const file = $<HTMLInputElement>('import-file').files?.[0]
  const passphrase = $<HTMLInputElement>('import-passphrase').value
  if (file == null) { showStatus('backup-status', 'Choose a key backup file first.', true); return }
  showStatus('backup-status', 'Decrypting the key…', false)
  file.text().then(text => client.importKey(text, passphrase)).then(peerId => {
    showStatus('backup-status', `Imported ${peerId}; reloading…`, false)
    location.reload()
  }, (err: Error) => { showStatus('backup-status', `Key not imported (your current key is kept): ${err.message}`, true) })
})

$('download-statement').addEventListener('click', () => {
  client.creditStatement().then(st => {
    download(`sparecycles-statement-${st.peerId.slice(-8)}.json`, JSON.stringify(st, null, 2))
    showStatus('statement-status', `Statement downloaded: ${st.entries} receipt(s), ${formatCredit(st.totalCredit)} credit.`, false)
  }, (err: Error) => { showStatus('statement-status', `No statement: ${err.message}`, true) })
})

$<HTMLInputElement>('statement-file').addEventListener('change', (event) => {
  const file = (event.target as HTMLInputElement).files?.[0]
  if (file == null) return
  file.text().then(text => client.verifyStatement(text)).then(report => {
    showStatus('statement-status', report.ok
      ? `Verified: ${report.entries.length} receipt(s) signed by hub ${report.hubPeerId}, ${formatCredit(report.verifiedCredit)} credit.`
      : `NOT verified: ${report.entries.filter(e => e.status !== 'ok').length} bad receipt(s). ${report.problems.join(' ')}`, !report.ok)
    $('statement-report').replaceChildren(...report.entries.map(e => {
      const li = document.createElement('li')
      li.className = e.status === 'ok' ? 'ok' : 'fail'
      li.textContent = `#${e.index} ${e.status}${e.seq != null ? ` seq ${e.seq}, ${e.credit} credit` : ''}${e.reason !== '' ? `: ${e.reason}` : ''}`
      return li
    }))
  }, (err: Error) => { showStatus('statement-status', `Not a statement: ${err.message}`, true) })
})
document.body.dataset.ready = 'true'
