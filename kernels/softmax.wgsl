// softmax: over `c` channels with stride `inner` (axis 1 of [N, C, inner]); one invocation per
// (n, inner position) row; max-subtracted for stability. LOG variant writes log-softmax.
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= u.rows) { return; }
  let base = (r / u.inner) * u.c * u.inner + r % u.inner;
  var m = -3.402823e38;
  for (var k = 0u; k < u.c; k++) { m = max(m, x[base + k * u.inner]); }
  var s = 0.0;
  for (var k = 0u; k < u.c; k++) { s += exp(x[base + k * u.inner] - m); }
  for (var k = 0u; k < u.c; k++) {
    let v = x[base + k * u.inner] - m;
//#if LOG
    y[base + k * u.inner] = v - log(s);
//#else
    y[base + k * u.inner] = exp(v) / s;
//#endif
  }
}
