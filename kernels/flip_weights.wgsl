// flip_weights: conv weights w [Cout, Cin/g, KH, KW] (g groups of coPg = Cout/g output and
// ciPg = Cin/g input channels) re-arranged for the conv's input gradient (engine/conv.ts):
//   (default) the filters of a stride-1 conv's input gradient, a conv of dy with the weights
//             transposed (Cin <-> Cout within each group) and flipped in space:
//             wt[g·ciPg + ci, co, ky, kx] = w[g·coPg + co, ci, KH-1-ky, KW-1-kx]   → [Cin, coPg, KH, KW]
//   COLS      the weights of the column GEMM (a 1×1 conv from Cout to Cin·KH·KW channels) that
//             col2im then gathers: wt[(g·ciPg + ci)·KH·KW + t, co] = w[g·coPg + co, ci, t]
// Derived on the GPU from the parameter buffer, so training rebuilds it after every optimiser step.
// One invocation per element.
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let taps = u.kh * u.kw;
//#if COLS
  let co = i % u.coPg;
  let t = (i / u.coPg) % taps;
  let r = i / (u.coPg * taps); // g·ciPg + ci
  let gi = r / u.ciPg;
  let ci = r % u.ciPg;
  wt[i] = w[((gi * u.coPg + co) * u.ciPg + ci) * taps + t];
//#else
  let kx = i % u.kw;
  let ky = (i / u.kw) % u.kh;
  let co = (i / taps) % u.coPg;
  let r = i / (taps * u.coPg); // g·ciPg + ci
  let gi = r / u.ciPg;
  let ci = r % u.ciPg;
  wt[i] = w[(((gi * u.coPg + co) * u.ciPg + ci) * u.kh + (u.kh - 1u - ky)) * u.kw + (u.kw - 1u - kx)];
//#endif
}
