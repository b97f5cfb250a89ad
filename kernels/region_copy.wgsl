// region_copy: region mode (engine/region.ts) copy between two rectangle layouts of a value:
// y's rectangle of image b (origin org[orgOut + 2b], rhOut×rwOut, channels c0..c0+cx of cy, at
// rbOut) gets x's values there: from x's own rectangle (origin org[orgIn + 2b], rhIn×rwIn, cx
// channels, at rbIn) where it covers the pixel, else from x's clean prefix [cx][H][W].
// Concat writes each input into the output's rectangle with it; with a full output (rhOut = H,
// rwOut = W, origins 0, rbOut = 0) it turns a rectangle value back into whole maps. One invocation
// per output element (total = N·cx·rhOut·rwOut).
override WG: u32 = 64;

// #include "region_index.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= u.total) { return; }
  let px = t % u.rwOut;
  let py = (t / u.rwOut) % u.rhOut;
  let q = t / (u.rwOut * u.rhOut);
  let c = q % u.cx;
  let b = q / u.cx;
  let iy = org[u.orgOut + 2u * b] + i32(py);
  let ix = org[u.orgOut + 2u * b + 1u] + i32(px);
  let v = x[regionIndex(iy, ix, u.w, c * u.h * u.w, u.rbIn + (b * u.cx + c) * u.rhIn * u.rwIn, org[u.orgIn + 2u * b], org[u.orgIn + 2u * b + 1u], u.rhIn, u.rwIn)];
  y[u.rbOut + ((b * u.cy + u.c0 + c) * u.rhOut + py) * u.rwOut + px] = v;
}
