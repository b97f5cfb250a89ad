// maxout_seed: the reverse pass's seed of each image's MaxOut objective, from the activations a
// (B images of l values: channels of hw positions) the step recorded. Image b's target is
// channel goal[2b] and position goal[2b + 1]: a position (≥ 0) seeds that one unit with 1
// (its value is the objective); −1 seeds the whole channel with the gradient of the mean of its
// rectified values, 1/hw where a > 0 and leak/hw elsewhere (a leaky positive part: a linear
// layer's channel mean alone is maximised by a uniform colour, and a leak keeps a channel that
// starts all negative moving).
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let b = i / u.l;
  let r = i % u.l;
  let c = i32(r / u.hw);
  let p = i32(r % u.hw);
  let ch = goal[2u * b];
  let pos = goal[2u * b + 1u];
  var s = 0.0;
  if (c == ch) {
    if (pos >= 0) {
      s = select(0.0, 1.0, p == pos);
    } else {
      s = select(u.leak, 1.0, a[i] > 0.0) / f32(u.hw);
    }
  }
  y[i] = s;
}
