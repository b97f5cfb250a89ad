// global_pool: one invocation per (n, c) plane reduces H*W values to their mean (or MAX).
// REGION (engine/region.ts): x is the clean input [C,H,W] followed by the batch's rectangles
// [N][C][rh][rw] (image b's origin at org[orgIn + 2b]); each pixel of the map is read from the
// image's rectangle where it covers it, else from the clean prefix, in the same order as the
// plain kernel (so the result is the same), without expanding the rectangles to whole maps.
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.planes) { return; }
//#if REGION
  let b = i / u.c;
  let base = (i % u.c) * u.hw;
  let rbase = u.rbIn + i * u.rhIn * u.rwIn;
  let ry = u32(org[u.orgIn + 2u * b]);
  let rx = u32(org[u.orgIn + 2u * b + 1u]);
//#else
  let base = i * u.hw;
//#endif
//#if MAX
  var acc = -3.402823e38;
//#else
  var acc = 0.0;
//#endif
  for (var k = 0u; k < u.hw; k++) {
//#if REGION
    let iy = k / u.w;
    let ix = k - iy * u.w;
    // unsigned wrap makes iy < ry fail the < rhIn test
    let inR = iy - ry < u.rhIn && ix - rx < u.rwIn;
    let v = x[select(base + k, rbase + (iy - ry) * u.rwIn + (ix - rx), inR)];
//#else
    let v = x[base + k];
//#endif
//#if MAX
    acc = max(acc, v);
//#else
    acc += v;
//#endif
  }
//#if MAX
  y[i] = acc;
//#else
  y[i] = acc / f32(u.hw);
//#endif
}
