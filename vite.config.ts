import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import { buildEmbed } from './scripts/build-embed.ts'

export default defineConfig({
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 2000,
    // pages: the visitor page, and the frame a partner's embed.js loads (src/embed/frame.ts)
    rolldownOptions: {
      input: {
        main: fileURLToPath(new URL('index.html', import.meta.url)),
        'embed-frame': fileURLToPath(new URL('embed-frame.html', import.meta.url))
      }
    }
  },
  worker: { format: 'es' },
  plugins: [{
    // the partner-site loader (dist/embed.js) is a separate tiny IIFE: built after the pages,
    // since vite empties dist/ first (scripts/build-embed.ts prints its size and integrity)
    name: 'sparecycles-embed-loader',
    apply: 'build',
    async closeBundle () {
      await buildEmbed(fileURLToPath(new URL('.', import.meta.url)).replace(/\/$/, ''))
    }
  }]
})
