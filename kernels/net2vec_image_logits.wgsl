// net2vec_image_logits: Net2Vec's classification variant (Fong & Vedaldi 2018), per trained concept c
// and image n: z = Σ_k w[c][k]·x[n][k] + w[c][units] (bias last; x from net2vec_fractions, units
// multiply-adds in order), the target L = bit c of present[n] (net2vec_present). One invocation per
// (c, n), i = c·n + n (the product is small: n × units × C).
//   default (training): M = σ(z), α_c the class balance over images,
//     losses[c][n] = α·L·softplus(−z) + (1−α)(1−L)·softplus(z),  dz[c][n] = α·L·(M − 1) + (1−α)(1−L)·M
//     (raw; net2vec_image_grad takes the mean over the batch).
//   EVAL: prediction z > 0 (M > ½); counts[c] (8 u32: 64-bit intersections, unions, correct, images,
//     each low word then high word) gets the image's share: intersection if predicted and present,
//     union if either, correct if they agree, one image.
override WG: u32 = 64;

//#if EVAL
fn add64(at: u32, v: u32) {
  if (v == 0u) { return; }
  let old = atomicAdd(&counts[at], v);
  if (old + v < old) { atomicAdd(&counts[at + 1u], 1u); }
}
//#else
fn softplus(x: f32) -> f32 {
  return max(x, 0.0) + log(1.0 + exp(-abs(x)));
}
//#endif

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.concepts * u.n) { return; }
  let c = i / u.n;
  let img = i % u.n;
  let row = c * (u.units + 1u);
  var z = weights[row + u.units];
  for (var k = 0u; k < u.units; k++) { z += weights[row + k] * x[img * u.units + k]; }
  let l = (present[img * u.cWords + c / 32u] >> (c % 32u)) & 1u;
//#if EVAL
  let pred = z > 0.0;
  let has = l == 1u;
  add64(c * 8u, select(0u, 1u, pred && has));
  add64(c * 8u + 2u, select(0u, 1u, pred || has));
  add64(c * 8u + 4u, select(0u, 1u, pred == has));
  add64(c * 8u + 6u, 1u);
//#else
  let a = alpha[c];
  let pos = a * f32(l);
  let neg = (1.0 - a) * f32(1u - l);
  let m = 1.0 / (1.0 + exp(-z));
  losses[i] = pos * softplus(-z) + neg * softplus(z);
  dz[i] = pos * (m - 1.0) + neg * m;
//#endif
}
