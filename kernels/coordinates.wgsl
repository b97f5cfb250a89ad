// coordinates: the coordinate images e_j of Algorithm 1, generated on the GPU: image b of the
// batch is all zeros except a 1 at flat position first + b (positions past `per` stay all zero).
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  y[i] = select(0.0, 1.0, i % u.per == u.first + i / u.per);
}
