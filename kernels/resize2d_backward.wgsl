// resize2d_backward: the adjoint of resize2d's bilinear path (half-pixel centres clamped at 0, or
// alignCorners), gather form: one invocation per input pixel (iy, ix) sums dy over the output
// pixels whose interpolation touches it, dx = sum_{oy,ox} dy[oy,ox] * wy(oy, iy) * wx(ox, ix), with
// the per-axis weights recomputed exactly as the forward does (in f32): for source coordinate f,
// i0 = min(floor(f), in-1), i1 = min(i0+1, in-1), t = f - i0, weight (1-t) on i0 and t on i1 (both
// on in-1 at the clamped border). Outputs touching i have i0 in {i-1, i}, i.e. f in [i-1, i+1):
// the candidate range is derived from the scale with a margin of one output on each side.
override WG: u32 = 64;

fn srcCoord(o: u32, inSize: u32, outSize: u32) -> f32 {
  if (u.alignCorners == 1u) {
    if (outSize <= 1u) { return 0.0; }
    return f32(o) * f32(inSize - 1u) / f32(outSize - 1u);
  }
  return max((f32(o) + 0.5) * f32(inSize) / f32(outSize) - 0.5, 0.0);
}

// Weight of input index i in the interpolation of output o along one axis.
fn weight(o: u32, i: u32, inSize: u32, outSize: u32) -> f32 {
  let f = srcCoord(o, inSize, outSize);
  let i0 = min(u32(floor(f)), inSize - 1u);
  let i1 = min(i0 + 1u, inSize - 1u);
  let t = f - f32(i0);
  return select(0.0, 1.0 - t, i0 == i) + select(0.0, t, i1 == i);
}

// Outputs [lo, hi) whose source coordinate may fall in [i-1, i+1).
fn candidates(i: u32, inSize: u32, outSize: u32) -> vec2i {
  var lo: f32;
  var hi: f32;
  if (u.alignCorners == 1u) {
    if (outSize <= 1u || inSize <= 1u) { return vec2i(0, i32(outSize)); }
    let r = f32(outSize - 1u) / f32(inSize - 1u);
    lo = (f32(i) - 1.0) * r;
    hi = (f32(i) + 1.0) * r;
  } else {
    let r = f32(outSize) / f32(inSize);
    lo = (f32(i) - 0.5) * r - 0.5;
    hi = (f32(i) + 1.5) * r - 0.5;
  }
  return vec2i(max(i32(floor(lo)) - 1, 0), min(i32(ceil(hi)) + 1, i32(outSize)));
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let ix = i % u.w;
  let iy = (i / u.w) % u.h;
  let base = (i / (u.w * u.h)) * u.oh * u.ow;
  let ry = candidates(iy, u.h, u.oh);
  let rx = candidates(ix, u.w, u.ow);
  var acc = 0.0;
  for (var oy = ry.x; oy < ry.y; oy++) {
    let wy = weight(u32(oy), iy, u.h, u.oh);
    if (wy == 0.0) { continue; }
    var row = 0.0;
    for (var ox = rx.x; ox < rx.y; ox++) {
      row += dy[base + u32(oy) * u.ow + u32(ox)] * weight(u32(ox), ix, u.w, u.ow);
    }
    acc += wy * row;
  }
  dx[i] = acc;
}
