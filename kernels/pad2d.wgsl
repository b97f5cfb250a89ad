// pad2d: constant padding of H and W: y [N*C, oh, ow] from x [N*C, h, w] placed at (pt, pl).
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let ox = i32(i % u.ow);
  let oy = i32((i / u.ow) % u.oh);
  let plane = i / (u.ow * u.oh);
  let iy = oy - u.pt;
  let ix = ox - u.pl;
  var v = u.value;
  if (iy >= 0 && iy < i32(u.h) && ix >= 0 && ix < i32(u.w)) { v = x[(plane * u.h + u32(iy)) * u.w + u32(ix)]; }
  y[i] = v;
}
