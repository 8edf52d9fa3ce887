// Stable RaError codes for bitstream refusals (docs/bitstreams.md, "Refusals"): defined with every
// other layer's codes in src/common/codes.ts (disjoint sets, one HTTP status table).
export { BitstreamCode, type BitstreamCodeName } from '../common/codes.js';
