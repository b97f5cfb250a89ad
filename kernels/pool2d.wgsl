// pool2d: max or average pooling over KH×KW windows, NCHW, one invocation per output element.
// Window of output (oy,ox): rows [oy*sh - pt, oy*sh - pt + kh) clipped to the input; for average
// pooling the divisor is the window clipped to the padded extent [-pt, hEnd) × [-pl, wEnd) when
// countPad = 1 (Caffe; ONNX count_include_pad=1), else the number of real input pixels.
// Max pooling (MAX variant) scans row-major and keeps the FIRST maximum (strict >), as Caffe does;
// with SWITCHES it also writes the winner's flat index iy*W+ix within its input plane (-1 when the
// window holds no input pixel): the switches that unpooling and the frozen forward pass use.
struct U {
  total: u32, h: u32, w: u32, oh: u32,
  ow: u32, kh: u32, kw: u32, sh: u32,
  sw: u32, pt: i32, pl: i32, hEnd: i32,
  wEnd: i32, countPad: u32,
}
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
//#if SWITCHES
@group(0) @binding(3) var<storage, read_write> switches: array<i32>;
//#endif
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let ox = i % u.ow;
  let oy = (i / u.ow) % u.oh;
  let plane = i / (u.ow * u.oh); // n*C + c
  let base = plane * u.h * u.w;
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
      let v = x[base + u32(iy) * u.w + u32(ix)];
      if (v > best || arg < 0) { best = v; arg = iy * i32(u.w) + ix; }
    }
  }
  if (arg < 0) { best = 0.0; }
  y[i] = best;
//#if SWITCHES
  switches[i] = arg;
//#endif
//#else
  var s = 0.0;
  for (var iy = y0; iy < y1; iy++) {
    for (var ix = x0; ix < x1; ix++) { s += x[base + u32(iy) * u.w + u32(ix)]; }
  }
  var cnt = (y1 - y0) * (x1 - x0);
  if (u.countPad == 1u) {
    cnt = (min(ys + i32(u.kh), u.hEnd) - ys) * (min(xs + i32(u.kw), u.wEnd) - xs);
  }
  y[i] = select(0.0, s / f32(cnt), cnt > 0);
//#endif
}
