// Specs of network dissection's kernels (kernels/dissect_*.wgsl; engine/dissect.ts runs them). What
// changes between sweeps or batches (the sweep, the number of label planes) travels in a small
// `state` storage buffer written by the host, so a model plan's cached dispatches stay valid.
import { spec, r, rw } from './spec.ts';

const u32s = { type: 'array<u32>' };
const atomics = { type: 'array<atomic<u32>>' };

export const dissectQuantile = spec({
  name: 'dissect_quantile',
  uniforms: [['units', 'u32'], ['hw', 'u32'], ['batch', 'u32']],
  // state [sweep]; act [N][K][hw]; params [K][4] (per sweep); keys [K][4] (min, max, count lo, hi); hist [K][BINS + 2]
  bindings: [r('state', u32s), r('act'), r('params', u32s), rw('keys', atomics), rw('hist', atomics)],
  overrides: { WG: 64, BINS: 1024, CHUNK: 4096 },
});

export const dissectTally = spec({
  name: 'dissect_tally',
  uniforms: [['units', 'u32'], ['h', 'u32'], ['w', 'u32'], ['maskH', 'u32'], ['maskW', 'u32'], ['concepts', 'u32']],
  // state [planes]; act [N][K][h][w]; thresholds [K]; labels [N][planes][maskH][maskW]; maxima [N][K]; inter [K][C+1]; area [K]
  bindings: [r('state', u32s), r('act'), r('thresholds'), r('labels', u32s), rw('maxima'), rw('inter', atomics), rw('area', atomics)],
  overrides: { WG: 64 },
});
