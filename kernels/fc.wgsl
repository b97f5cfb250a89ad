// fc: fully connected y[n,o] = b[o] + sum_i x[n,i] * w[o,i]; x is [N, in] (flattened), w is [out, in].
//
// Tiling: a workgroup of WG invocations computes an OB×NB block of outputs, OB = 4 outputs o0.. of
// NB = 16 images n0.. . Invocation t sums a strided slice of the dot products (i = t, t + WG, ...): per i it
// loads OB weights and NB inputs and does OB·NB multiply-adds into registers, then the workgroup
// reduces its WG partial blocks in workgroup memory (a tree of log2(WG) barriers). Why: a batch reads
// each weight row once per NB images instead of once per image (AlexNet fc6 is 151 MB of weights:
// one workgroup per (n, o), this kernel's first form, streamed them from memory N times, 0.8 GFLOP/s
// on lavapipe at batch 32), and per i there are (OB + NB) loads for OB·NB multiply-adds instead of 2
// loads for 1. Long rows (AlexNet fc6: 9216) still run in parallel across the WG invocations.
// Measured on lavapipe (AlexNet's light graph, batch 32, GPU timestamps): fc6 2.9 s → 0.39 s, fc7
// 1.57 s → 0.16 s (0.7–0.9 → 5–7 GFLOP/s); the whole forward 6.4 s → 3.2 s, and batch 1 0.42 →
// 0.25 s. OB×NB = 4×8, 8×8, 2×16 were within 20 % or slower; WG 32 keeps `part` at 8 KB (WebGPU
// guarantees 16 KB of workgroup memory).
// Outputs and images past the ends are masked (their loads skipped, their sums not written).
//
// Weights larger than one storage binding (AlexNet fc6 on lavapipe) are split by rows: a dispatch
// then covers outputs [oOffset, oOffset + outF) of outTotal, with w and b holding just those rows.
// Variants: HAS_BIAS, RELU; FEW, for batches of up to 4 images (engine/ops/dense.ts, FC.fewMaxBatch):
// blocks of 16 outputs × 4 images, the same 64 sums per invocation, so that a batch of 1 to 4 does
// not run 12 or more empty image slots per input feature (AlexNet's fc7 at 4 images on lavapipe:
// 64–69 → 25–44 ms).
// From 16 images on, where the device has subgroups, fc runs on conv2d_gemm instead (its WT_ROWS variant).
override WG: u32 = 32;
//#if FEW
const OB: u32 = 16u; // outputs per workgroup
const NB: u32 = 4u; // images per workgroup
//#else
const OB: u32 = 4u; // outputs per workgroup
const NB: u32 = 16u; // images per workgroup
//#endif
var<workgroup> part: array<array<f32, 64>, WG>; // OB*NB partial sums per invocation

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32, @builtin(num_workgroups) nwg: vec3u) {
  let oBlocks = (u.outF + OB - 1u) / OB;
  let idx = wid.x + wid.y * nwg.x; // one workgroup per (image block, output block)
  let o0 = (idx % oBlocks) * OB;
  let n0 = (idx / oBlocks) * NB;
  let valid = n0 < u.n; // the grid may have a few workgroups past the end
  let no = min(OB, u.outF - min(o0, u.outF));
  let nn = min(NB, u.n - min(n0, u.n));
  var s: array<f32, 64>;
  for (var k = 0u; k < OB * NB; k++) { s[k] = 0.0; }
  if (valid) {
    for (var i = t; i < u.inF; i += WG) {
      var w: array<f32, OB>;
      for (var a = 0u; a < OB; a++) { w[a] = select(0.0, wt[(o0 + a) * u.inF + i], a < no); }
      for (var b = 0u; b < NB; b++) {
        if (b < nn) {
          let xv = x[(n0 + b) * u.inF + i];
          for (var a = 0u; a < OB; a++) { s[a * NB + b] += w[a] * xv; }
        }
      }
    }
  }
  part[t] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (t < stride) {
      for (var k = 0u; k < OB * NB; k++) { part[t][k] += part[t + stride][k]; }
    }
    workgroupBarrier();
  }
  // the OB*NB results, WG at a time: entry k is output (a, b) = (k / NB, k % NB)
  if (!valid) { return; }
  for (var k = t; k < OB * NB; k += WG) {
    let a = k / NB;
    let b = k % NB;
    if (a < no && b < nn) {
      var r = part[0][k];
//#if HAS_BIAS
      r += bias[o0 + a];
//#endif
//#if RELU
      r = max(r, 0.0);
//#endif
      y[(n0 + b) * u.outTotal + u.oOffset + o0 + a] = r;
    }
  }
}
