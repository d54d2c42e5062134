/**
 * Compile contracts/*.sol with the npm `solc` (solc-js, the version package-lock.json pins),
 * importing OpenZeppelin from node_modules, into build/contracts/<Name>.json:
 *   { "contractName", "abi", "bytecode": "0x…", "deployedBytecode": "0x…", "solcVersion" }
 * build/ is gitignored: the artifacts are never committed. Run by `npm run build:contracts`
 * (part of `npm run build`). Exits 1 on any compiler error.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
// solc-js has no types; its compile() takes and returns standard JSON as strings
const solc = require('solc') as { version: () => string, compile: (input: string, callbacks: { import: (path: string) => { contents: string } | { error: string } }) => string }

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const srcDir = join(root, 'contracts')
const outDir = join(root, 'build', 'contracts')

const sources: Record<string, { content: string }> = {}
for (const f of readdirSync(srcDir).filter(f => f.endsWith('.sol')).sort()) sources[`contracts/${f}`] = { content: readFileSync(join(srcDir, f), 'utf8') }

const input = {
  language: 'Solidity',
  sources,
  settings: {
    // the EVM version EDR's default hardfork (and every current chain) runs
    evmVersion: 'cancun',
    optimizer: { enabled: true, runs: 200 },
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } }
  }
}

function findImport (path: string): { contents: string } | { error: string } {
  try {
    if (path.startsWith('@openzeppelin/')) return { contents: readFileSync(require.resolve(path), 'utf8') }
    return { contents: readFileSync(join(root, path), 'utf8') }
  } catch (err) {
    return { error: `cannot import ${path}: ${(err as Error).message}` }
  }
}

interface SolcOutput {
  errors?: Array<{ severity: 'error' | 'warning' | 'info', formattedMessage: string }>
  contracts?: Record<string, Record<string, { abi: unknown[], evm: { bytecode: { object: string }, deployedBytecode: { object: string } } }>>
}
const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport })) as SolcOutput
const errors = (output.errors ?? []).filter(e => e.severity === 'error')
for (const e of output.errors ?? []) process.stderr.write(e.formattedMessage)
if (errors.length > 0) process.exit(1)

mkdirSync(outDir, { recursive: true })
let n = 0
for (const [file, contracts] of Object.entries(output.contracts ?? {})) {
  if (!file.startsWith('contracts/')) continue
  for (const [name, c] of Object.entries(contracts)) {
    writeFileSync(join(outDir, `${name}.json`), JSON.stringify({ contractName: name, abi: c.abi, bytecode: `0x${c.evm.bytecode.object}`, deployedBytecode: `0x${c.evm.deployedBytecode.object}`, solcVersion: solc.version() }, null, 2) + '\n')
    n++
  }
}
process.stderr.write(`contracts: ${n} compiled with solc ${solc.version()} into ${outDir}\n`)
