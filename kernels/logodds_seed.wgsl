// logodds_seed: the reverse pass's seed of a fooling objective (survey §7.1): the gradient of the
// log-odds of each image's target class t, log(p_t / (1 − p_t)) = a_t − log Σ_{i≠t} exp(a_i), with
// respect to the logits a (B images of l classes): 1 at t and −softmax over the other classes
// elsewhere. It is log p_t's gradient (one-hot − softmax) divided by 1 − p_t, so it does not vanish
// as p_t → 1 (in float32, 1 − p_t is 0 once p_t rounds to 1): a target confidence of 99.99 % is
// log-odds 9.21, reached like any other value. The shift by the largest other logit keeps exp off
// overflow and underflow. One thread per logit; each loops over its image's l logits (l ≤ a few
// thousand classes: cheap beside the forward pass).
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let b = i / u.l;
  let j = i32(i % u.l);
  let t = goal[b];
  if (j == t) {
    y[i] = 1.0;
    return;
  }
  let base = b * u.l;
  var m = -3.4e38;
  for (var k = 0u; k < u.l; k++) {
    if (i32(k) != t) { m = max(m, a[base + k]); }
  }
  var s = 0.0;
  for (var k = 0u; k < u.l; k++) {
    if (i32(k) != t) { s += exp(a[base + k] - m); }
  }
  y[i] = -exp(a[i] - m) / s;
}
