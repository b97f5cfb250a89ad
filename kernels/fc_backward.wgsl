// fc_backward: the reverse of fc (y[n,o] = sum_i x[n,i] * W[o,i] + b[o]; x [N, in], W [out, in]).
//   (default) input gradient:  dx[n,i] = sum_o dy[n,o] * W[o,i]   (binding 2 = W, out [N, in])
//   WEIGHT    weight gradient: dW[o,i] = sum_n dy[n,o] * x[n,i]   (binding 2 = x, out [out, in])
// One invocation per output element (adjacent invocations read adjacent i: coalesced). The bias
// gradient db[o] = sum_n dy[n,o] is channel_sum with hw = 1.
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= u.total) { return; }
  let i = idx % u.inF;
  let r = idx / u.inF; // n (input gradient) or o (WEIGHT)
  var acc = 0.0;
//#if WEIGHT
  for (var n = 0u; n < u.n; n++) { acc += dy[n * u.outF + r] * b[n * u.inF + i]; }
//#else
  for (var o = 0u; o < u.outF; o++) { acc += dy[r * u.outF + o] * b[o * u.inF + i]; }
//#endif
  out[idx] = acc;
}
