/**
 * The visitor page: renders VolunteerState and sends commands (start/stop, shares, key export and
 * import, statements). No business logic here: every decision is in src/volunteer.
 */
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { VolunteerClient } from '../volunteer/client.ts'
import { DEMO_NETWORK, TYPICAL_BATTERY_WH, WATTS_PER_BUSY_CORE, estimateCost } from '../volunteer/cost.ts'
import { gpuStory } from '../volunteer/device.ts'
import { PAUSE_REASON_TEXT } from '../volunteer/governor.ts'
import { visitorPageOptions } from '../volunteer/page-options.ts'
import { formatBytes, formatCredit, formatPercent, formatRange, formatRate, formatUnitsPerMinute, splitId } from './format.ts'
import type { GpuStory } from '../volunteer/device.ts'
import type { VolunteerState } from '../volunteer/client.ts'
import type { PayoutClaimTx } from '../volunteer/payout.ts'
import type { EIP1193Provider } from 'viem'

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T
const startButton = $<HTMLButtonElement>('start')
const stopButton = $<HTMLButtonElement>('stop')

function field (name: string, text: string): void {
  const el = document.querySelector<HTMLElement>(`[data-field="${name}"]`)
  if (el != null && el.textContent !== text) el.textContent = text
}

/**
 * A peer id shown short ("12D3Koo…x7Qa"): the middle stays in the element for screen readers and
 * copying (visually hidden), the full id is its title, and its Copy button copies it whole.
 */
function renderId (name: string, id: string | null, missing: string): void {
  const el = document.querySelector<HTMLElement>(`[data-field="${name}"]`)!
  const button = document.querySelector<HTMLButtonElement>(`button[data-copy="${name}"]`)!
  if (el.dataset.id === (id ?? '')) return
  el.dataset.id = id ?? ''
  button.hidden = id == null
  if (id == null) { el.textContent = missing; el.removeAttribute('title'); return }
  const parts = splitId(id)
  const span = (cls: string, text: string): HTMLSpanElement => Object.assign(document.createElement('span'), { className: cls, textContent: text })
  el.replaceChildren(span('id-head', parts.head), ...(parts.middle === '' ? [] : [span('id-middle', parts.middle), span('id-tail', parts.tail)]))
  el.title = id
}

for (const button of document.querySelectorAll<HTMLButtonElement>('button[data-copy]')) {
  button.addEventListener('click', () => {
    const id = document.querySelector<HTMLElement>(`[data-field="${button.dataset.copy ?? ''}"]`)?.dataset.id ?? ''
    if (id === '') return
    const said = (text: string): void => {
      button.textContent = text
      setTimeout(() => { button.textContent = 'Copy' }, 2000)
    }
    navigator.clipboard.writeText(id).then(() => { said('copied') }, () => { said('not copied: select the id') })
  })
}

function render (s: VolunteerState): void {
  field('connection', s.connection)
  renderId('hubPeerId', s.hubPeerId, s.connection === 'connected' ? 'connected' : 'not connected yet')
  renderId('peerId', s.peerId, 'being created')
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
  const gpu = gpuStory(s.device, s.gemm)
  renderGovernor(s)
  renderCost(s, gpu)
  renderDashboard(s, gpu)
  renderGpu(s, gpu)
  renderHubs(s)
}

/** The hubs table's column headers by column (narrow screens show them beside each value: style.css). */
const HUB_COLUMNS: Record<string, string> = { url: 'Hub', connection: 'Connection', leases: 'Leases', outbox: 'To send', pending: 'Pending', validated: 'Validated', credit: 'Credit', actions: 'Actions' }

/** The hubs table (one row per hub, figures from perHub) and the own hub's recommendations; rebuilt only when they change. */
function renderHubs (s: VolunteerState): void {
  const rows = s.hubs.map(h => {
    const f = h.peerId != null ? s.perHub[h.peerId] : undefined
    return { ...h, leases: f?.leases ?? 0, outbox: f?.outbox ?? 0, pending: f?.pending ?? 0, validated: f?.validated ?? 0, credit: f?.credit ?? 0 }
  })
  const body = $('hub-table').querySelector('tbody')!
  const key = JSON.stringify(rows)
  if (body.dataset.key !== key) {
    body.dataset.key = key
    body.replaceChildren(...rows.map(h => {
      const tr = document.createElement('tr')
      tr.dataset.hubUrl = h.url
      tr.dataset.hubPeerId = h.peerId ?? ''
      const cell = (col: string, text: string, title?: string): HTMLTableCellElement => {
        const td = Object.assign(document.createElement('td'), { textContent: text })
        td.dataset.col = col
        td.dataset.label = HUB_COLUMNS[col] ?? col
        if (title != null) td.title = title
        return td
      }
      const actions = document.createElement('td')
      actions.dataset.col = 'actions'
      actions.dataset.label = HUB_COLUMNS.actions
      const statement = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Statement', className: 'hub-statement' })
      statement.disabled = h.peerId == null
      statement.setAttribute('aria-label', `Download the credit statement of ${h.url}`)
      statement.addEventListener('click', () => { if (h.peerId != null) downloadStatement(h.peerId) })
      actions.append(statement)
      if (!h.primary) {
        const remove = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Remove', className: 'hub-remove' })
        remove.setAttribute('aria-label', `Stop working for ${h.url}`)
        remove.addEventListener('click', () => {
          client.removeHub(h.url).then(() => { showStatus('hubs-status', `No longer working for ${h.url} (after the units it is running).`, false) },
            (err: Error) => { showStatus('hubs-status', `Not removed: ${err.message}`, true) })
        })
        actions.append(' ', remove)
      }
      // the exact amount beside the rounded text, for scripts that compare it with a ledger
      const creditCell = cell('credit', formatCredit(h.credit))
      creditCell.dataset.credit = String(h.credit)
      const connection = h.connection + (h.lastError != null && h.connection !== 'connected' ? ` (${h.lastError})` : '')
      tr.append(cell('url', h.primary ? `${h.url} (this page's hub)` : h.url, h.peerId ?? undefined), cell('connection', connection), cell('leases', String(h.leases)), cell('outbox', String(h.outbox)),
        cell('pending', String(h.pending)), cell('validated', String(h.validated)), creditCell, actions)
      return tr
    }))
  }
  const list = $('recommended-hubs')
  const recKey = JSON.stringify(s.recommendedHubs)
  if (list.dataset.key !== recKey) {
    list.dataset.key = recKey
    $('recommended').hidden = s.recommendedHubs.length === 0
    list.replaceChildren(...s.recommendedHubs.map(url => {
      const li = Object.assign(document.createElement('li'), { textContent: `${url} ` })
      const add = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Add', className: 'hub-add-recommended' })
      add.setAttribute('aria-label', `Work for ${url} as well`)
      add.addEventListener('click', () => { addHub(url) })
      li.append(add)
      return li
    }))
  }
}

function addHub (url: string): void {
  showStatus('hubs-status', `Adding ${url}…`, false)
  client.addHub(url).then(kept => { showStatus('hubs-status', `Working for ${kept} as well.`, false); hubUrlInput.value = '' },
    (err: Error) => { showStatus('hubs-status', `Not added: ${err.message}`, true) })
}

/** Download the credit statement of one hub (default: the page's own). */
function downloadStatement (hubPeerId?: string): void {
  client.creditStatement(hubPeerId).then(st => {
    download(`sparecycles-statement-${st.peerId.slice(-8)}-${st.hubPeerId.slice(-8)}.json`, JSON.stringify(st, null, 2))
    showStatus('statement-status', `Statement downloaded: ${st.entries} receipt(s), ${formatCredit(st.totalCredit)} credit.`, false)
  }, (err: Error) => { showStatus('statement-status', `No statement: ${err.message}`, true) })
}

/** The one GPU line: the adapter (or that there is none), where matrix tiles run, the last tile's GFLOP/s. */
function renderGpu (s: VolunteerState, gpu: GpuStory): void {
  field('gemmAdapter', gpu.adapter)
  field('gemmBackend', gpu.backend)
  $('gpu-rate').hidden = gpu.throughput == null
  if (gpu.throughput != null) field('gemmGflops', gpu.throughput)
  document.body.dataset.gpu = gpu.kind
  if (s.gemm != null) document.body.dataset.gemmBackend = s.gemm.backend
}

/** Before Start: what runs, on how many cores, the GPU, an energy estimate with its basis, the network measured. */
function renderCost (s: VolunteerState, gpu: GpuStory): void {
  const c = estimateCost(s.governor)
  field('costMatrix', gpu.kind === 'gpu' || gpu.kind === 'software' ? `matrix tiles on WebGPU (${gpu.adapter})` : gpu.kind === 'unknown' ? 'matrix tiles on WebGPU if an adapter is found, else on the CPU' : gpu.kind === 'none' ? 'no matrix tiles' : 'matrix tiles on the CPU (WebAssembly: no WebGPU adapter)')
  field('costCores', `at your ${formatPercent(c.cpuShare)} share, ${c.workers} worker(s) computing ${formatPercent(c.dutyCycle)} of the time: about ${c.busyCores.toFixed(1)} of this machine's ${c.cores} logical cores kept busy while the tab is open and not paused.`)
  field('costGpu', gpu.kind === 'gpu'
    ? `yes: ${gpu.adapter}, busy at most ${formatPercent(s.governor.gpuShare)} of the time (GPU share). Its power is not included below.`
    : gpu.kind === 'software'
      ? `no hardware GPU: ${gpu.adapter} computes matrix tiles, up to ${formatPercent(s.governor.gpuShare)} of the time (GPU share), besides the cores above; not included below.`
      : gpu.kind === 'unknown' ? 'looking for a WebGPU adapter.' : gpu.kind === 'none' ? 'not used on this page.' : 'not used: no WebGPU adapter: matrix tiles run on the CPU (WebAssembly).')
  field('costPower', `about ${formatRange(c.watts, 'W')} more while it runs: ${formatRange(c.whPerHour, 'Wh')} of electricity an hour, turned into as much heat (fans may spin up); ` +
    `on battery, about ${formatRange(c.batteryPercentPerHour, '%')} of a ${TYPICAL_BATTERY_WH} Wh laptop battery an hour (it pauses by itself below 20%). ` +
    `Basis: ${c.busyCores.toFixed(1)} busy cores × ${formatRange(WATTS_PER_BUSY_CORE, 'W')} per busy logical core, typical figures from processor makers' rated power (a laptop and a desktop chip), not a measurement of this device.`)
  field('demoBytes', formatBytes(DEMO_NETWORK.bytesPerVolunteerHour))
  field('demoPerUnit', formatBytes(DEMO_NETWORK.bytesPerReplica))
  field('demoCommand', DEMO_NETWORK.command)
  field('demoDate', DEMO_NETWORK.date)
  const t = s.traffic
  const page = $('cost').querySelector<HTMLElement>('[data-field="costNetworkPage"]')!
  page.hidden = t.runningMs === 0
  if (t.runningMs > 0) field('costNetworkPage', ` This page, measured: ${trafficText(t)}.`)
}

/** The page's own measured traffic: bytes so far and, after 10 s of running, per hour. */
function trafficText (t: VolunteerState['traffic']): string {
  return `${formatBytes(t.sentBytes)} sent, ${formatBytes(t.receivedBytes)} received since the page loaded` +
    (t.bytesPerHour != null ? `; ${formatBytes(t.bytesPerHour)} an hour contributing` : t.runningMs > 0 ? '; the rate an hour after 10 s of contributing' : '')
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

/** Browser to browser: volunteers connected over WebRTC, blob bytes from the hub and from peers, served. */
function renderPeerToPeer (p: VolunteerState['p2p']): void {
  const dash = $('dashboard')
  const peers = dash.querySelector<HTMLElement>('[data-field="p2pPeers"]')!
  peers.dataset.peers = String(p.peersConnected)
  peers.dataset.relayed = String(p.relayed)
  field('p2pPeers', `${p.peersConnected}${p.relayed ? ' (reachable through the hub\'s relay)' : ' (not reachable yet)'}`)
  const fetched = dash.querySelector<HTMLElement>('[data-field="blobsFetched"]')!
  fetched.dataset.fromHubBytes = String(p.fromHubBytes)
  fetched.dataset.fromPeersBytes = String(p.fromPeersBytes)
  fetched.dataset.fromHubBlobs = String(p.fromHubBlobs)
  fetched.dataset.fromPeersBlobs = String(p.fromPeersBlobs)
  field('blobsFetched', p.fromHubBlobs + p.fromPeersBlobs === 0
    ? 'none yet'
    : `${formatBytes(p.fromPeersBytes)} from other volunteers (${p.fromPeersBlobs}), ${formatBytes(p.fromHubBytes)} from the hub (${p.fromHubBlobs})`)
  const served = dash.querySelector<HTMLElement>('[data-field="blobsServed"]')!
  served.dataset.servedBytes = String(p.servedBytes)
  served.dataset.badPeers = String(p.badPeers)
  field('blobsServed', `${p.servedBytes === 0 ? 'nothing yet' : formatBytes(p.servedBytes)}${p.badPeers > 0 ? `; ${p.badPeers} peer(s) sent wrong bytes and are not asked again` : ''}`)
}

function renderDashboard (s: VolunteerState, gpu: GpuStory): void {
  // what the workers' slices count (wall time the governor allowed), not a measurement of the
  // process: on a busy machine the OS may give the workers less than this
  field('cpuUse', `${formatPercent(s.cpuUse)} of the cores' time, as the workers' slices count it (share ${formatPercent(s.governor.cpuShare)}; the system may give less when busy)`)
  const busy = $('dashboard').querySelector<HTMLElement>('[data-field="cpuBusy"]')!
  busy.dataset.ms = String(Math.round(s.cpuBusyMs))
  field('cpuBusy', `${(s.cpuBusyMs / 1000).toFixed(1)} s`)
  // a real estimate from the browser (Compute Pressure's ownContributionEstimate), never made up
  field('ownContribution', s.ownContribution == null ? 'not reported by this browser' : formatPercent(s.ownContribution))
  // GPU use only where a GPU (or a WebGPU adapter) is used: the GPU line in Status says which
  for (const el of $('dashboard').querySelectorAll<HTMLElement>('.gpu-use')) el.hidden = gpu.kind === 'cpu' || gpu.kind === 'none'
  field('gpuUse', s.gpuUse == null ? `no GPU work yet (share ${formatPercent(s.governor.gpuShare)})` : `${formatPercent(s.gpuUse)} (share ${formatPercent(s.governor.gpuShare)})`)
  const traffic = $('dashboard').querySelector<HTMLElement>('[data-field="traffic"]')!
  traffic.dataset.bytes = String(s.traffic.sentBytes + s.traffic.receivedBytes)
  traffic.dataset.sentBytes = String(s.traffic.sentBytes)
  traffic.dataset.runningMs = String(Math.round(s.traffic.runningMs))
  field('traffic', s.traffic.sentBytes + s.traffic.receivedBytes === 0 ? 'nothing sent yet' : trafficText(s.traffic))
  field('creditPending', `${s.resultsPending} result(s) awaiting validation; ${formatCredit(s.creditGranted)} credit granted`)
  field('peers', String(s.peers))
  renderPeerToPeer(s.p2p)
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
  field('device', `${d.cores} logical cores` + (d.memoryGiB != null ? `, ~${d.memoryGiB} GiB memory` : '') + ' (the GPU: see Status)')
  updateChart(s)
}

let chart: uPlot | undefined
let chartLast = 0
let chartData: uPlot.AlignedData = [[], [], []]
const chartDetails = $<HTMLDetailsElement>('chart-details')
function updateChart (s: VolunteerState): void {
  const last = s.history[s.history.length - 1]
  // no empty box before there is anything to draw
  $('chart').hidden = last == null
  chartDetails.hidden = last == null
  if (last == null || last.t === chartLast) return
  chartLast = last.t
  const data: uPlot.AlignedData = [s.history.map(h => h.t), s.history.map(h => h.numbersPerSecond / 1e9), s.history.map(h => h.cpuUse * 100)]
  chartData = data
  $('chart').dataset.samples = String(data[0].length)
  updateChartTable()
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

/** The chart's samples as a table (the same data array), filled while the <details> is open. */
function updateChartTable (): void {
  if (!chartDetails.open) return
  const [times, rates, slices] = chartData as [number[], number[], number[]]
  const body = $('chart-table').querySelector('tbody')!
  const rows = Array.from(times, (t, i) => {
    const tr = document.createElement('tr')
    for (const text of [new Date(t * 1000).toLocaleTimeString('en-GB'), `${(rates[i] ?? 0).toFixed(2)} G/s`, `${(slices[i] ?? 0).toFixed(1)}%`]) {
      tr.append(Object.assign(document.createElement('td'), { textContent: text }))
    }
    return tr
  })
  body.replaceChildren(...rows)
  body.dataset.samples = String(rows.length)
}
chartDetails.addEventListener('toggle', updateChartTable)

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
const hubUrlInput = $<HTMLInputElement>('hub-url')
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

$('download-statement').addEventListener('click', () => { downloadStatement() })
$('add-hub').addEventListener('click', () => { addHub(hubUrlInput.value) })

$<HTMLInputElement>('statement-file').addEventListener('change', (event) => {
  const file = (event.target as HTMLInputElement).files?.[0]
  if (file == null) return
  file.text().then(text => client.verifyStatement(text)).then(report => {
    showStatus('statement-status', report.ok
      ? `Verified: ${report.entries.length} receipt(s) signed by ${report.ledgerPeerId !== report.hubPeerId ? `ledger key ${report.ledgerPeerId} of hub` : 'hub'} ${report.hubPeerId}, ${formatCredit(report.verifiedCredit)} credit.`
      : `NOT verified: ${report.entries.filter(e => e.status !== 'ok').length} bad receipt(s). ${report.problems.join(' ')}`, !report.ok)
    $('statement-report').replaceChildren(...report.entries.map(e => {
      const li = document.createElement('li')
      li.className = e.status === 'ok' ? 'ok' : 'fail'
      li.textContent = `#${e.index} ${e.status}${e.seq != null ? ` seq ${e.seq}, ${e.credit} credit` : ''}${e.reason !== '' ? `: ${e.reason}` : ''}`
      return li
    }))
  }, (err: Error) => { showStatus('statement-status', err.name === 'BadLedgerDelegationError' ? `NOT verified: ${err.message}` : `Not a statement: ${err.message}`, true) })
})
// Token payout (issue 16): bind an address, show its claim; a wallet on the page (EIP-1193) can send it
const payoutAddress = $<HTMLInputElement>('payout-address')
const hubUrl = location.origin
let claimTx: PayoutClaimTx | undefined
$('payout-bind').addEventListener('click', () => {
  showStatus('payout-status', 'Signing and sending the binding…', false)
  client.bindPayoutAddress(hubUrl, payoutAddress.value.trim()).then(r => {
    showStatus('payout-status', `Bound: credit of this key goes to ${r.address} (ledger entry ${r.seq}).`, false)
  }, (err: Error) => { showStatus('payout-status', `Not bound: ${err.message}`, true) })
})
$('payout-check').addEventListener('click', () => {
  client.payoutClaim(hubUrl, payoutAddress.value.trim()).then(tx => {
    claimTx = tx
    field('payoutTokens', `${tx.tokens} SPARE`)
    field('payoutEpoch', String(tx.epoch))
    field('payoutClaimed', tx.claimedTokens != null ? `${tx.claimedTokens} SPARE` : 'unknown (the hub does not run the chain)')
    field('payoutClaimable', tx.claimableTokens != null ? `${tx.claimableTokens} SPARE` : 'unknown')
    field('payoutTo', tx.distributor)
    field('payoutChain', String(tx.chainId))
    $<HTMLTextAreaElement>('payout-data').value = tx.data
    $('payout-claim-info').hidden = false
    $('payout-claim').hidden = wallet() == null
    showStatus('payout-status', `Epoch ${tx.epoch} gives ${tx.account} ${tx.tokens} SPARE in all (what it already claimed is subtracted on chain).`, false)
  }, (err: Error) => {
    claimTx = undefined
    $('payout-claim-info').hidden = true
    $('payout-claim').hidden = true
    showStatus('payout-status', `Nothing to claim: ${err.message}`, true)
  })
})
$('payout-claim').addEventListener('click', () => {
  const w = wallet()
  if (claimTx == null || w == null) return
  import('../volunteer/payout.ts').then(async m => await m.claimWithWallet(claimTx as PayoutClaimTx, w)).then(r => {
    showStatus('payout-status', `Claim sent: transaction ${r.hash}.`, false)
  }, (err: Error) => { showStatus('payout-status', `Claim not sent: ${err.message}`, true) })
})
function wallet (): EIP1193Provider | undefined {
  return (window as unknown as { ethereum?: EIP1193Provider }).ethereum
}
document.body.dataset.ready = 'true'
