// binary: elementwise y = a + b (MUL variant: a * b) over tensors of the same shape.
// ACC variant accumulates into the output: y = y + a (for sums of three or more inputs).
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
//#if ACC
  y[i] = y[i] + a[i];
//#else
//#if MUL
  y[i] = a[i] * b[i];
//#else
  y[i] = a[i] + b[i];
//#endif
//#endif
}
