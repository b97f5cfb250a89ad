// global_pool: one invocation per (n, c) plane reduces H*W values to their mean (or MAX).
struct U { planes: u32, hw: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.planes) { return; }
  let base = i * u.hw;
//#if MAX
  var acc = -3.402823e38;
  for (var k = 0u; k < u.hw; k++) { acc = max(acc, x[base + k]); }
  y[i] = acc;
//#else
  var acc = 0.0;
  for (var k = 0u; k < u.hw; k++) { acc += x[base + k]; }
  y[i] = acc / f32(u.hw);
//#endif
}
