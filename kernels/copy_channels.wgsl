// copy_channels: writes x [N, cx, hw] into y [N, cy, hw] at channel offset c0 (concat along axis 1).
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let p = i % u.hw;
  let c = (i / u.hw) % u.cx;
  let n = i / (u.hw * u.cx);
  y[(n * u.cy + u.c0 + c) * u.hw + p] = x[i];
}
