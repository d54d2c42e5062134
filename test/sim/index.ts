/** The adversarial simulation harness of issue 10 (see scenario.ts, volunteer.ts, strategies/). */
export * from './scenario.ts'
export * from './volunteer.ts'
export * from './strategy.ts'
export * from './output.ts'
export * from './oracle.ts'
export * from './kernel.ts'
export * from './rng.ts'
export * from './strategies/index.ts'
