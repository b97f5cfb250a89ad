// net2vec_image_grad: the gradient of Net2Vec's classification loss (mean over the batch's n images):
// grad[c][k] = (1/n) Σ_img dz[c][img]·x[img][k], and for the bias (k = units) (1/n) Σ_img dz[c][img]
// with the batch's mean loss added to lossSum[c]. One invocation per (c, k), i = c·(units + 1) + k,
// summing the n images in order (deterministic).
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  let stride = u.units + 1u;
  if (i >= u.concepts * stride) { return; }
  let c = i / stride;
  let k = i % stride;
  var g = 0.0;
  if (k < u.units) {
    for (var img = 0u; img < u.n; img++) { g += dz[c * u.n + img] * x[img * u.units + k]; }
  } else {
    var l = 0.0;
    for (var img = 0u; img < u.n; img++) {
      g += dz[c * u.n + img];
      l += losses[c * u.n + img];
    }
    lossSum[c] += l / f32(u.n);
  }
  grad[i] = g / f32(u.n);
}
