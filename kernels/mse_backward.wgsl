// mse_backward: dx[n,i] = 2 (x[n,i] − t[n,i]) / M · dy[n], the gradient of mse.wgsl's per-image
// loss (x, t, dx: [N, M] flat, dy: [N]). One invocation per element.
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  dx[i] = 2.0 * (x[i] - t[i]) / f32(u.m) * dy[i / u.m];
}
