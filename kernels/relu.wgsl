// relu: y = max(x, 0) elementwise. With MASK it also writes mask = 1 where x > 0 else 0 (as f32),
// the recorded pattern that reverse passes and the frozen forward pass reuse.
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let v = x[i];
  y[i] = max(v, 0.0);
//#if MASK
  mask[i] = select(0.0, 1.0, v > 0.0);
//#endif
}
