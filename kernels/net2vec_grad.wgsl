// net2vec_grad: the gradient of Net2Vec's segmentation loss (mean over the batch's n·S pixels) with
// respect to one weight column, for a chunk of 4 concepts: the transposed product
// grad[c][k] = (1/(n·S)) Σ_p dz_c(p)·I_k(p), walked over unit k's set bits in unitBits
// [units][n][pWords] (its n·pWords words are contiguous): each zero word is one load, each set bit one
// vec4 gather of dz [Q][n·S]; a dense column would be n·S multiply-adds. One workgroup per (column k,
// chunk q), so no two workgroups write one sum (no atomics): workgroups (units + 1) × Q. Its WG
// invocations take words t, t + WG, … and their sums meet in a fixed tree in workgroup memory
// (deterministic); WG is a power of two. Column k = units is the bias: Σ_p dz_c(p) from the
// per-workgroup sums net2vec_logits left in partials [Q][groups][loss, dz], and with it the batch's
// mean loss, added to lossSum[c] (the running sum the host reads and clears). Rows of the padding
// concepts (4Q > C) are written too; nothing reads them.
override WG: u32 = 64;

var<workgroup> gradT: array<vec4f, WG>;
var<workgroup> lossT: array<vec4f, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let k = wid.x;
  let q = wid.y;
  let total = u.n * u.pixels;
  var a = vec4f(0.0);
  var l = vec4f(0.0);
  if (k < u.units) {
    let words = u.n * u.pWords;
    let base = k * words;
    let d0 = q * total;
    for (var w = t; w < words; w += WG) {
      var bits = unitBits[base + w];
      if (bits == 0u) { continue; }
      let p0 = d0 + (w / u.pWords) * u.pixels + (w % u.pWords) * 32u;
      while (bits != 0u) {
        a += dz[p0 + firstTrailingBit(bits)];
        bits &= bits - 1u;
      }
    }
  } else {
    for (var g = t; g < u.groups; g += WG) {
      l += partials[(q * u.groups + g) * 2u];
      a += partials[(q * u.groups + g) * 2u + 1u];
    }
  }
  gradT[t] = a;
  lossT[t] = l;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (t < h) {
      gradT[t] += gradT[t + h];
      lossT[t] += lossT[t + h];
    }
    workgroupBarrier();
  }
  if (t < 4u) {
    let c = 4u * q + t;
    grad[c * (u.units + 1u) + k] = gradT[0][t] / f32(total);
    if (k == u.units) { lossSum[c] += lossT[0][t] / f32(total); }
  }
}
