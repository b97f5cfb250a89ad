// global_avgpool_backward: dx[n,c,p] = dy[n,c] / hw (the mean's gradient broadcast over the plane).
struct U { total: u32, hw: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  dx[i] = dy[i / u.hw] / f32(u.hw);
}
