/** The seeded uniform [0, 1) generator (mulberry32) the hub uses for reproducible runs, for tests. */
export { seededRandom } from '../src/hub/trust.ts'
