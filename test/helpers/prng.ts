// The seeded PRNG (mulberry32, src/common/prng.ts) random property runs draw from, reproducible from their seed.
export { Prng } from '../../src/common/prng.js';
