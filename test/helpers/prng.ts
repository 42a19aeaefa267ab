// One seedable PRNG for tests, shared with the simulator (src/sim/random.ts).
export { prng } from '../../src/sim/random.js';
