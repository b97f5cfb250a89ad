// softmax_cross_entropy_backward: dx[n,k] = (softmax(x[n])_k − [k = t[n]]) · dy[n], the gradient of
// softmax_cross_entropy.wgsl's per-image loss (x: logits [N, K], t: labels as f32 class indices,
// dy: [N], dx: [N, K]). One invocation per image, as the forward. The label's own term is written
// as −Σ_{k≠y} p_k rather than p_y − 1, so it keeps its digits when p_y is close to 1 (a trained
// classifier's gradient, 1e-6 and below, is not lost to the rounding of p_y).
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let n = gid.x + gid.y * nwg.x * WG;
  if (n >= u.n) { return; }
  let base = n * u.k;
  let c = u32(max(t[n], 0.0)); // the forward checked the label (NaN otherwise)
  var m = -3.402823e38;
  for (var k = 0u; k < u.k; k++) { m = max(m, x[base + k]); }
  var s = 0.0;
  var r = 0.0; // Σ_{k≠y} exp(x_k − m)
  for (var k = 0u; k < u.k; k++) {
    let e = exp(x[base + k] - m);
    s += e;
    if (k != c) { r += e; }
  }
  let g = dy[n] / s;
  for (var k = 0u; k < u.k; k++) {
    if (k == c) {
      dx[base + k] = -r * g;
    } else {
      dx[base + k] = exp(x[base + k] - m) * g;
    }
  }
}
