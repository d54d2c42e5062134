/**
 * Researcher commands of the `sparecycles` CLI: `key init`, `kernel init|build|test`, and
 * `job post|status|results`. Every failure is one line on stderr and a non-zero exit.
 */
import { Option } from 'commander'
import { buildKernel, compareOutputs, initKernel, testKernel } from './kernel.ts'
import { formatOutput } from './inputs.ts'
import { DEFAULT_RESEARCHER_KEY, initResearcherKey } from './researcher-key.ts'
import { controlJob, formatStatus, jobResults, jobStatus, postJob, reviveJob } from './job-commands.ts'
import { parsePositiveInt } from './flags.ts'
import { InvalidArgumentError } from 'commander'
import type { Command } from 'commander'
import type { KernelBackend } from '../protocol/kernel-manifest.ts'

const out = (line: string): void => { process.stdout.write(`${line}\n`) }

export function registerResearcherCommands (program: Command): void {
  const key = program.command('key').description('researcher keys')
  key.command('init')
    .description('make a researcher key (Ed25519), or keep the one there, and print its peer id for hub operators to allow')
    .option('--key <file>', 'where to keep the key', DEFAULT_RESEARCHER_KEY)
    .action(async (opts: { key: string }) => {
      const { peerId, created } = await initResearcherKey(opts.key)
      out(created ? `researcher key written to ${opts.key}` : `researcher key ${opts.key} exists already; kept it`)
      out(`peer id ${peerId}`)
    })

  const kernel = program.command('kernel').description('write, build and test kernels (ABI: docs/kernel-abi.md)')
  kernel.command('init <name>')
    .description('make a kernel skeleton with its manifest, sample inputs and expected outputs')
    .addOption(new Option('--backend <backend>', 'kernel backend').choices(['wasm', 'webgpu']).default('wasm'))
    .addOption(new Option('--abi <version>', 'kernel ABI: 2 runs in slices that obey the volunteer\'s CPU share and pauses, 1 is one call per unit').choices(['1', '2']).default('2'))
    .option('--dir <dir>', 'directory to create (default: ./<name>)')
    .action((name: string, opts: { backend: KernelBackend, abi: string, dir?: string }) => {
      if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(name)) throw new Error(`<name>: must be 1-64 of [a-z0-9-], got '${name}'`)
      const dir = opts.dir ?? name
      const files = initKernel(name, opts.backend, dir, Number(opts.abi))
      out(`created ${files.map(f => `${dir}/${f}`).join(', ')}`)
      out(`next: sparecycles kernel build ${dir} && sparecycles kernel test ${dir} --input ${dir}/sample-inputs.json --expect ${dir}/expected-outputs.json`)
    })
  kernel.command('build [dir]')
    .description('compile the kernel and run the load-time checks; prints its id (sha-256)')
    .action(async (dir = '.') => {
      const built = await buildKernel(dir)
      out(`built ${built.entry} (${built.bytes} bytes)`)
      out(`kernel id ${built.kernelId}`)
    })
  kernel.command('test [dir]')
    .description('run the built kernel locally in Node on sample work units, then again in reverse order (and, wasm, in one reused instance); prints outputs and times, refuses outputs that differ')
    .requiredOption('--input <file-or-generator>', 'inputs JSON file or range:FROM:TO:STEP')
    .option('--expect <file>', 'expected-outputs JSON file to compare with')
    .action(async (dir: string | undefined, opts: { input: string, expect?: string }) => {
      const { manifest, kernelId, runs, mismatches } = await testKernel(dir ?? '.', opts.input)
      out(`kernel ${manifest.name} ${manifest.version} (${manifest.backend}) id ${kernelId}`)
      for (const run of runs) {
        out(run.ok ? `unit ${run.index}: ${formatOutput(run.output!, manifest.output)} in ${run.ms.toFixed(2)} ms` : `unit ${run.index}: FAILED ${run.error} after ${run.ms.toFixed(2)} ms`)
      }
      // a kernel whose outputs differ between passes is refused even when the first pass matched
      if (mismatches.length > 0) throw new Error(`${mismatches.length} unit(s) not deterministic: ${mismatches[0]}`)
      const failures = opts.expect != null ? compareOutputs(runs, opts.expect) : runs.filter(r => !r.ok).map(r => `unit ${r.index}: ${r.error}`)
      if (failures.length > 0) throw new Error(`${failures.length} unit(s) failed: ${failures[0]}`)
      out(`${opts.expect != null ? `all ${runs.length} outputs match ${opts.expect}` : `all ${runs.length} units ran`}; the same again in reverse order${manifest.backend === 'wasm' ? ' and in one reused instance' : ''}`)
    })

  const job = program.command('job').description('post kernel jobs to a hub and collect their output')
  job.command('post')
    .description('sign and post a built kernel with its inputs; prints the job id')
    .requiredOption('--hub <multiaddr>', 'the hub\'s libp2p multiaddr (with /p2p/<peer id>)')
    .requiredOption('--kernel <dir>', 'kernel directory (kernel.json + built entry)')
    .requiredOption('--inputs <file-or-generator>', 'inputs JSON file or range:FROM:TO:STEP')
    .option('--quorum <q>', 'agreeing results from distinct volunteers per work unit (1-8)', (v: string) => {
      const q = parsePositiveInt(v)
      if (q > 8) throw new InvalidArgumentError(`must be at most 8: '${v}'`)
      return q
    }, 2)
    .option('--credit <c>', 'credit per valid result', (v: string) => {
      const c = Number(v)
      if (!Number.isFinite(c) || c < 0) throw new InvalidArgumentError(`not a non-negative number: '${v}'`)
      return c
    }, 1)
    .addOption(new Option('--policy <p>', 'validation: replicate (--quorum agreeing results per unit) or adaptive (replicate until a volunteer is trusted, then mostly one result)').choices(['replicate', 'adaptive']).default('replicate'))
    .option('--ringers <n>', 'units to compute here first, whose answers the hub then checks volunteers against (auto: about the square root of the units, at most 32; 0: none)', (v: string) => {
      if (v === 'auto') return v
      if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`not a count or 'auto': '${v}'`)
      return Number(v)
    }, 'auto')
    .option('--key <file>', 'researcher key', DEFAULT_RESEARCHER_KEY)
    .action(async (opts: { hub: string, kernel: string, inputs: string, quorum: number, credit: number, key: string, policy: string, ringers: number | 'auto' }) => {
      const posted = await postJob({ ...opts, onRinger: line => { process.stderr.write(line + '\n') } })
      out(`posted ${posted.jobId}: ${posted.workUnits} work units of kernel ${posted.kernelName} (${posted.kernelId})`)
      out(posted.jobId)
    })
  job.command('status <jobId>')
    .description('show progress; --watch follows it with a live progress bar until it ends')
    .requiredOption('--hub <multiaddr>', 'the hub\'s libp2p multiaddr')
    .option('--watch', 'follow until the job ends', false)
    .option('--key <file>', 'researcher key', DEFAULT_RESEARCHER_KEY)
    .action(async (jobId: string, opts: { hub: string, watch: boolean, key: string }) => {
      out(formatStatus(await jobStatus({ ...opts, jobId })))
    })
  job.command('revive <jobId>')
    .description('reopen the failed work units of one of your jobs (e.g. after fixing what made volunteers\' runs fail)')
    .requiredOption('--hub <multiaddr>', 'the hub\'s libp2p multiaddr')
    .option('--key <file>', 'researcher key', DEFAULT_RESEARCHER_KEY)
    .action(async (jobId: string, opts: { hub: string, key: string }) => {
      out(formatStatus(await reviveJob({ ...opts, jobId })))
    })
  for (const [action, description] of [
    ['cancel', 'stop one of your jobs for good: nothing more is leased (validated outputs stay)'],
    ['pause', 'stop leasing one of your jobs until you resume it'],
    ['resume', 'lease a paused job again (the hub pauses a job whose kernel fails on the hub too); its failed units open again']
  ] as const) {
    job.command(`${action} <jobId>`)
      .description(description)
      .requiredOption('--hub <multiaddr>', 'the hub\'s libp2p multiaddr')
      .option('--key <file>', 'researcher key', DEFAULT_RESEARCHER_KEY)
      .action(async (jobId: string, opts: { hub: string, key: string }) => {
        out(formatStatus(await controlJob({ ...opts, jobId, action })))
      })
  }
  job.command('results <jobId>')
    .description('write the validated outputs of a job to a JSON file')
    .requiredOption('--hub <multiaddr>', 'the hub\'s libp2p multiaddr')
    .requiredOption('--out <file>', 'where to write the outputs')
    .option('--key <file>', 'researcher key', DEFAULT_RESEARCHER_KEY)
    .action(async (jobId: string, opts: { hub: string, out: string, key: string }) => {
      const { job: info, written } = await jobResults({ ...opts, jobId })
      out(`wrote ${written} of ${info.workUnits} outputs of ${info.jobId} (${info.state}) to ${opts.out}`)
    })
}
