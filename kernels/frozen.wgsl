// frozen: the frozen-subgraph versions of the two non-linear ops (Molchanov et al. Algorithm 1).
// A batch of inputs goes through the piecewise-linear map that one recorded image defines:
//   MASKED_RELU:  y[i] = x[i] * mask[i % per]            (mask: the recorded 0/1 ReLU pattern)
//   SWITCH_POOL:  y[i] = x[plane(i) * hw + sw]  with sw = switches[i % per] (-1 → 0)
// `per` is the size of one image's output, so the one recorded image's pattern applies to every
// image of the batch; `hw` is the input plane size of the pool.
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
//#if MASKED_RELU
  y[i] = x[i] * mask[i % u.per];
//#endif
//#if SWITCH_POOL
  let s = switches[i % u.per];
  let plane = i / u.outPlane;
  y[i] = select(0.0, x[plane * u.hw + u32(max(s, 0))], s >= 0);
//#endif
}
