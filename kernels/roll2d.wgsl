// roll2d: circular shift of every plane by (dy, dx) read from `offsets` (so a new jitter needs
// no new pipeline or bind group): y[i, j] = x[(i − dy) mod H, (j − dx) mod W]. INVERSE shifts by
// (−dy, −dx), undoing the roll (used on the reverse signal).
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let k = gid.x + gid.y * nwg.x * WG;
  if (k >= u.total) { return; }
  let hw = u.h * u.w;
  let j = i32(k % u.w);
  let i = i32((k / u.w) % u.h);
  var dy = offsets[0];
  var dx = offsets[1];
//#if INVERSE
  dy = -dy;
  dx = -dx;
//#endif
  let si = ((i - dy) % i32(u.h) + i32(u.h)) % i32(u.h);
  let sj = ((j - dx) % i32(u.w) + i32(u.w)) % i32(u.w);
  y[k] = x[(k / hw) * hw + u32(si) * u.w + u32(sj)];
}
