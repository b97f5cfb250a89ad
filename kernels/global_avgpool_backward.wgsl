// global_avgpool_backward: dx[n,c,p] = dy[n,c] / hw (the mean's gradient broadcast over the plane).
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  dx[i] = dy[i / u.hw] / f32(u.hw);
}
