// image_adam: one Adam (or, with SGD, momentum) ascent step on an image batch, x ← x + step(d),
// then x is clamped to [lo, hi] (the valid input range). Per-step values live in `state`
// (written each step): [lr, beta1, beta2, eps, 1/(1−beta1^t), 1/(1−beta2^t), lo, hi].
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let g = d[i];
//#if SGD
  // momentum SGD: m ← beta1·m + g; x ← x + lr·m  (v unused)
  let mm = state[1] * m[i] + g;
  m[i] = mm;
  _ = v[0];
  let step = state[0] * mm;
//#else
  let mm = state[1] * m[i] + (1.0 - state[1]) * g;
  let vv = state[2] * v[i] + (1.0 - state[2]) * g * g;
  m[i] = mm;
  v[i] = vv;
  let step = state[0] * (mm * state[4]) / (sqrt(vv * state[5]) + state[3]);
//#endif
  x[i] = clamp(x[i] + step, state[6], state[7]);
}
