// softmax_cross_entropy: the training loss of a classifier, per image. x: logits [N, K]; t: the
// labels, one f32 class index per image (the target parameter, room for at least N; an index and
// not a one-hot row: N floats written per step instead of N·K, and f32 holds every class index
// exactly); y: [N] the loss of each image, log Σ_k exp(x[n,k]) − x[n,t[n]].
// One invocation per image (K is a class count: the loop is short next to the network before it).
// Stable: with m = max_k x[n,k], e_k = exp(x_k − m) ≤ 1 never overflows; when the label is the
// arg-max (m − x_y = 0, a well-classified image) the loss is log(1 + r) with r = Σ_{k≠y} e_k summed
// on its own, through log1p, so a loss of 1e-7 keeps its digits instead of becoming log(1.0000001)
// (f32's log near 1 is only accurate to about 1e-7 absolute).
// A label outside [0, K) or not an integer (the host checks first; this is the backstop) gives NaN,
// which the forward pass's finite check reports.
override WG: u32 = 64;

/**
 * log(1 + r) for r ≥ 0 with a relative error near f32's also for small r: below 1/16 its series to
 * r⁸ (the first term left out is under 1e-10 of the sum), above it log itself (1 + r no longer
 * loses digits that matter). Not Goldberg's log(1 + r)·r/((1 + r) − 1): the compiler may fold
 * (1 + r) − 1 to r.
 */
fn log1p(r: f32) -> f32 {
  if (r < 0.0625) {
    return r * (1.0 - r * (1.0 / 2.0 - r * (1.0 / 3.0 - r * (1.0 / 4.0 - r * (1.0 / 5.0 - r * (1.0 / 6.0 - r * (1.0 / 7.0 - r / 8.0)))))));
  }
  return log(1.0 + r);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let n = gid.x + gid.y * nwg.x * WG;
  if (n >= u.n) { return; }
  let base = n * u.k;
  let lab = t[n];
  if (!(lab >= 0.0 && lab < f32(u.k) && lab == floor(lab))) {
    y[n] = bitcast<f32>(0x7fc00000u | (u.k & 0u)); // a quiet NaN (made at run time: WGSL rejects a constant NaN)
    return;
  }
  let c = u32(lab);
  var m = -3.402823e38;
  for (var k = 0u; k < u.k; k++) { m = max(m, x[base + k]); }
  var r = 0.0; // Σ_{k≠y} exp(x_k − m)
  for (var k = 0u; k < u.k; k++) {
    if (k != c) { r += exp(x[base + k] - m); }
  }
  let xy = x[base + c];
  if (xy == m) {
    y[n] = log1p(r);
  } else {
    y[n] = (m - xy) + log(r + exp(xy - m));
  }
}
