// clamp: y = min(max(a·x + b, lo), hi) elementwise, the clamp of an affine map: Clip (a = 1, b = 0,
// lo = min, hi = max; an absent bound arrives as ±FLT_MAX) and HardSigmoid (a = alpha, b = beta,
// lo = 0, hi = 1). One invocation per element.
// PATTERN (a recording pass) also writes the piece each element fell on, the pattern that frozen
// passes and reverse rules replay: pattern[i] = 1 where lo < a·x + b < hi strictly (inside: slope a),
// 2 where the output is hi (above; also every element when lo > hi), 0 where it is lo (below).
// FROZEN replays one recorded image's pattern (index i % per) for every image of the batch:
// y = a·x + b inside, lo below, hi above (a pass without biases gets b = lo = hi = 0 from the host:
// the constant outputs of saturated units are constant terms too).
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
//#if FROZEN
  let p = pattern[i % u.per];
  y[i] = select(select(u.lo, u.hi, p == 2u), u.a * x[i] + u.b, p == 1u);
//#else
  let t = u.a * x[i] + u.b;
  let v = min(max(t, u.lo), u.hi);
  y[i] = v;
//#if PATTERN
  pattern[i] = select(select(0u, 2u, v == u.hi), 1u, u.lo < t && t < u.hi);
//#endif
//#endif
}
