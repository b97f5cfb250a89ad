// scaled_diff: y = k · (a − b) elementwise; the seed of network inversion's feature loss:
// −∂/∂a ‖a − a0‖² / ‖a0‖² = −2 (a − a0) / ‖a0‖², i.e. k = −2/‖a0‖² (ascent direction).
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  y[i] = u.k * (a[i] - b[i]);
}
