// pool2d: max or average pooling over KH×KW windows, NCHW, one invocation per output element.
// Window of output (oy,ox): rows [oy*sh - pt, oy*sh - pt + kh) clipped to the input; for average
// pooling the divisor is the window clipped to the padded extent [-pt, hEnd) × [-pl, wEnd) when
// countPad = 1 (Caffe; ONNX count_include_pad=1), else the number of real input pixels.
// Max pooling (MAX variant) scans row-major and keeps the FIRST maximum (strict >), as Caffe does;
// with SWITCHES it also writes the winner's flat index iy*W+ix within its input plane (-1 when the
// window holds no input pixel): the switches that unpooling and the frozen forward pass use.
//#if REGION
// Region mode (engine/region.ts): x is the clean input [C,H,W] followed by the batch's rectangles
// [N][C][rhIn][rwIn] (image b's at org[orgIn + 2b]); y gets the output rectangles [N][C][rhOut][rwOut]
// at rbOut; total = N·C·rhOut·rwOut. Pixels outside an image's input rectangle come from the clean prefix.
//#endif
override WG: u32 = 64;

//#if REGION
// #include "region_index.wgsl"
//#endif

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
//#if REGION
  let plane = i / (u.rwOut * u.rhOut); // n*C + c
  let b = plane / u.c;
  let ox = i % u.rwOut + u32(org[u.orgOut + 2u * b + 1u]);
  let oy = (i / u.rwOut) % u.rhOut + u32(org[u.orgOut + 2u * b]);
  let base = (plane % u.c) * u.h * u.w;
  let rbase = u.rbIn + plane * u.rhIn * u.rwIn;
  let ry = org[u.orgIn + 2u * b];
  let rx = org[u.orgIn + 2u * b + 1u];
//#else
  let ox = i % u.ow;
  let oy = (i / u.ow) % u.oh;
  let plane = i / (u.ow * u.oh); // n*C + c
  let base = plane * u.h * u.w;
//#endif
  let ys = i32(oy * u.sh) - u.pt;
  let xs = i32(ox * u.sw) - u.pl;
  let y0 = max(ys, 0);
  let y1 = min(ys + i32(u.kh), i32(u.h));
  let x0 = max(xs, 0);
  let x1 = min(xs + i32(u.kw), i32(u.w));
//#if MAX
  var best = -3.402823e38;
  var arg = -1;
  for (var iy = y0; iy < y1; iy++) {
    for (var ix = x0; ix < x1; ix++) {
//#if REGION
      let v = x[regionIndex(iy, ix, u.w, base, rbase, ry, rx, u.rhIn, u.rwIn)];
//#else
      let v = x[base + u32(iy) * u.w + u32(ix)];
//#endif
      if (v > best || arg < 0) { best = v; arg = iy * i32(u.w) + ix; }
    }
  }
  if (arg < 0) { best = 0.0; }
//#if REGION
  y[u.rbOut + i] = best;
//#else
  y[i] = best;
//#endif
//#if SWITCHES
  switches[i] = arg;
//#endif
//#else
  var s = 0.0;
  for (var iy = y0; iy < y1; iy++) {
//#if REGION
    for (var ix = x0; ix < x1; ix++) { s += x[regionIndex(iy, ix, u.w, base, rbase, ry, rx, u.rhIn, u.rwIn)]; }
//#else
    for (var ix = x0; ix < x1; ix++) { s += x[base + u32(iy) * u.w + u32(ix)]; }
//#endif
  }
  var cnt = (y1 - y0) * (x1 - x0);
  if (u.countPad == 1u) {
    cnt = (min(ys + i32(u.kh), u.hEnd) - ys) * (min(xs + i32(u.kw), u.wEnd) - xs);
  }
//#if REGION
  y[u.rbOut + i] = select(0.0, s / f32(cnt), cnt > 0);
//#else
  y[i] = select(0.0, s / f32(cnt), cnt > 0);
//#endif
//#endif
}
