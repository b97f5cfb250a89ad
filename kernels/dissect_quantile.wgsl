// dissect_quantile: one data sweep of dissection's per-unit quantile thresholds (engine/dissect.ts,
// UnitQuantiles, has the whole scheme). act is N×K×hw f32 (batch, units, pixels); workgroup (k, g)
// reads CHUNK consecutive values of unit k's N·hw (value j = act[(⌊j/hw⌋·K + k)·hw + j mod hw]),
// WG invocations striding through them, and adds what it found to unit k's totals with few global
// atomics. Keys are the order-preserving u32s of the f32s (sign bit set for ≥ 0, all bits flipped for
// < 0). Which sweep it is comes from state[0], a storage word the host writes between sweeps, so a
// model plan's cached dispatches serve every sweep:
//   0 first: keys[4k..4k+3] = (atomicMin key, atomicMax key, count lo, count hi) of the values (the
//            count a 64-bit sum: the carry goes to the high word), and the histogram below;
//   1 bins:  the histogram alone.
//   2 done:  nothing.
// The histogram of unit k's values in [lo, hi]: hist[k·(BINS+2) + 1 + b], word 0 counting the values
// below lo and word BINS + 1 those above hi (exact comparisons), binned one of two ways per unit,
// params[4k + 3]:
//   0 equal widths: params[4k..] = (lo, hi, scale) as f32 bits, b = ⌊(v − lo)·scale⌋ (capped at
//     BINS − 1), a monotone function of v;
//   1 runs of floats: params[4k..] = (loKey, hiKey, shift), b = (key − loKey) >> shift (the first
//     sweep: 0, 2^32 − 1, 32 − log2 BINS, bins by the keys' top bits, half a binade each for 1024).
// Counts go to a workgroup histogram first (BINS + 2 words of workgroup memory) and only its non-zero
// words to the global one: CHUNK = 4096 values per workgroup against at most BINS + 2 global atomics.
override WG: u32 = 64;
override BINS: u32 = 1024;
override CHUNK: u32 = 4096;

const FIRST = 0u;
const BINNED = 1u;

var<workgroup> local: array<atomic<u32>, BINS + 2u>;
var<workgroup> extremes: array<atomic<u32>, 2>;

fn orderedKey(v: f32) -> u32 {
  let b = bitcast<u32>(v);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let k = wid.x;
  let mode = state[0];
  let words = BINS + 2u;
  for (var b = t; b < words; b += WG) { atomicStore(&local[b], 0u); }
  if (t == 0u) {
    atomicStore(&extremes[0], 0xffffffffu);
    atomicStore(&extremes[1], 0u);
  }
  workgroupBarrier();
  let total = u.batch * u.hw;
  let first = wid.y * CHUNK;
  let end = min(first + CHUNK, total);
  let p0 = params[4u * k];
  let p1 = params[4u * k + 1u];
  let p2 = params[4u * k + 2u];
  let byValue = params[4u * k + 3u] == 0u;
  let binned = mode == FIRST || mode == BINNED;
  var kmin = 0xffffffffu;
  var kmax = 0u;
  for (var j = first + t; j < end; j += WG) {
    let v = act[((j / u.hw) * u.units + k) * u.hw + j % u.hw];
    let key = orderedKey(v);
    if (mode == FIRST) {
      kmin = min(kmin, key);
      kmax = max(kmax, key);
    }
    if (binned && byValue) {
      let lo = bitcast<f32>(p0);
      if (v < lo) { atomicAdd(&local[0], 1u); }
      else if (v > bitcast<f32>(p1)) { atomicAdd(&local[BINS + 1u], 1u); }
      else { atomicAdd(&local[1u + u32(min((v - lo) * bitcast<f32>(p2), f32(BINS - 1u)))], 1u); }
    } else if (binned) {
      if (key < p0) { atomicAdd(&local[0], 1u); }
      else if (key > p1) { atomicAdd(&local[BINS + 1u], 1u); }
      else { atomicAdd(&local[1u + min((key - p0) >> p2, BINS - 1u)], 1u); }
    }
  }
  if (mode == FIRST && first + t < end) {
    atomicMin(&extremes[0], kmin);
    atomicMax(&extremes[1], kmax);
  }
  workgroupBarrier();
  if (mode == FIRST && t == 0u && first < end) {
    atomicMin(&keys[4u * k], atomicLoad(&extremes[0]));
    atomicMax(&keys[4u * k + 1u], atomicLoad(&extremes[1]));
    let c = end - first;
    let old = atomicAdd(&keys[4u * k + 2u], c);
    if (old > 0xffffffffu - c) { atomicAdd(&keys[4u * k + 3u], 1u); }
  }
  if (binned) {
    for (var b = t; b < words; b += WG) {
      let c = atomicLoad(&local[b]);
      if (c > 0u) { atomicAdd(&hist[k * words + b], c); }
    }
  }
}
