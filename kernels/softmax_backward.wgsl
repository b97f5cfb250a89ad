// softmax_backward: over `c` channels with stride `inner` (axis 1 of [N, C, inner]), from the
// forward output y: dx = y * (dy - sum_k dy_k * y_k). LOG variant (y = log-softmax):
// dx = dy - exp(y) * sum_k dy_k. One invocation per (n, inner position) row, as softmax.wgsl.
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= u.rows) { return; }
  let base = (r / u.inner) * u.c * u.inner + r % u.inner;
  var s = 0.0;
  for (var k = 0u; k < u.c; k++) {
    let j = base + k * u.inner;
//#if LOG
    s += dy[j];
//#else
    s += dy[j] * y[j];
//#endif
  }
  for (var k = 0u; k < u.c; k++) {
    let j = base + k * u.inner;
//#if LOG
    dx[j] = dy[j] - exp(y[j]) * s;
//#else
    dx[j] = y[j] * (dy[j] - s);
//#endif
  }
}
