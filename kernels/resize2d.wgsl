// resize2d: bilinear (or NEAREST) resize of each plane from h×w to oh×ow.
// Source coordinate of output pixel o: alignCorners ? o*(in-1)/(out-1) : (o+0.5)*in/out - 0.5
// (half-pixel centres, clamped at the border), the ONNX / PyTorch conventions.
override WG: u32 = 64;

fn srcCoord(o: u32, inSize: u32, outSize: u32) -> f32 {
  if (u.alignCorners == 1u) {
    if (outSize <= 1u) { return 0.0; }
    return f32(o) * f32(inSize - 1u) / f32(outSize - 1u);
  }
  return max((f32(o) + 0.5) * f32(inSize) / f32(outSize) - 0.5, 0.0);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let ox = i % u.ow;
  let oy = (i / u.ow) % u.oh;
  let base = (i / (u.ow * u.oh)) * u.h * u.w;
//#if NEAREST
  let sy = min(u32(floor(f32(oy) * f32(u.h) / f32(u.oh))), u.h - 1u);
  let sx = min(u32(floor(f32(ox) * f32(u.w) / f32(u.ow))), u.w - 1u);
  y[i] = x[base + sy * u.w + sx];
//#else
  let fy = srcCoord(oy, u.h, u.oh);
  let fx = srcCoord(ox, u.w, u.ow);
  let y0 = min(u32(floor(fy)), u.h - 1u);
  let x0 = min(u32(floor(fx)), u.w - 1u);
  let y1 = min(y0 + 1u, u.h - 1u);
  let x1 = min(x0 + 1u, u.w - 1u);
  let ty = fy - f32(y0);
  let tx = fx - f32(x0);
  let top = mix(x[base + y0 * u.w + x0], x[base + y0 * u.w + x1], tx);
  let bot = mix(x[base + y1 * u.w + x0], x[base + y1 * u.w + x1], tx);
  y[i] = mix(top, bot, ty);
//#endif
}
