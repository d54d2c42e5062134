import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The machine has 2 cores; browser and kernel tests are heavy, so files run one at a time.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000
  }
})
