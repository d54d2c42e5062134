/** The contract shared by browser and hub. Imports nothing else in src. */
export * from './ids.ts'
export * from './errors.ts'
export * from './messages.ts'
export * from './schema.ts'
export * from './signing.ts'
export * from './wire.ts'
export * from './primes.ts'
