/**
 * Build the partner-site loader: src/embed/loader.ts -> dist/embed.js, a minified IIFE (esbuild),
 * plus dist/embed.d.ts (the JS API's declarations) and dist/embed.json (size and integrity).
 * Prints the size (raw and gzipped) and the sha384 integrity value partners put in the script tag;
 * fails when the gzipped loader is over 5 KB. `vite build` runs it after the pages (vite.config.ts,
 * since vite empties dist/ first); by hand:
 *
 *   node --import tsx scripts/build-embed.ts
 */
import { createHash } from 'node:crypto'
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

export const EMBED_LIMIT_GZIP_BYTES = 5 * 1024

export interface EmbedBuild { bytes: number, gzipBytes: number, integrity: string }

/** @throws Error when the gzipped loader is over EMBED_LIMIT_GZIP_BYTES */
export async function buildEmbed (root: string, outDir = `${root}/dist`, log = (line: string): void => { process.stdout.write(`${line}\n`) }): Promise<EmbedBuild> {
  mkdirSync(outDir, { recursive: true })
  const result = await build({
    entryPoints: [`${root}/src/embed/loader.ts`],
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2022'],
    platform: 'browser',
    write: false,
    legalComments: 'none',
    charset: 'utf8',
    logLevel: 'warning'
  })
  const code = result.outputFiles[0].contents
  writeFileSync(`${outDir}/embed.js`, code)
  copyFileSync(`${root}/src/embed/embed.d.ts`, `${outDir}/embed.d.ts`)
  const gzipBytes = gzipSync(code, { level: 9 }).length
  const integrity = `sha384-${createHash('sha384').update(code).digest('base64')}`
  writeFileSync(`${outDir}/embed.json`, `${JSON.stringify({ file: 'embed.js', bytes: code.length, gzipBytes, integrity }, null, 2)}\n`)
  log(`dist/embed.js: ${code.length} bytes, ${gzipBytes} bytes gzipped (limit ${EMBED_LIMIT_GZIP_BYTES}); integrity="${integrity}"`)
  if (gzipBytes > EMBED_LIMIT_GZIP_BYTES) throw new Error(`embed.js is ${gzipBytes} bytes gzipped, over the ${EMBED_LIMIT_GZIP_BYTES}-byte limit`)
  return { bytes: code.length, gzipBytes, integrity }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    await buildEmbed(fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, ''))
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`)
    process.exit(1)
  }
}
