// pad_channels: the reverse of a channel slice (slicechannels): dx [N, cx, hw] holds dy [N, cy, hw] in
// channels [c0, c0 + cy) and 0 in every other channel. One invocation per dx element.
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let p = i % u.hw;
  let c = (i / u.hw) % u.cx;
  let n = i / (u.hw * u.cx);
  let inside = c >= u.c0 && c < u.c0 + u.cy;
  let k = select(0u, c - u.c0, inside);
  dx[i] = select(0.0, dy[(n * u.cy + k) * u.hw + p], inside);
}
