// lrn: cross-channel local response normalisation (AlexNet, GoogLeNet; Caffe ACROSS_CHANNELS, ONNX LRN):
// y = x / (bias + alpha/size * sum_{c' in [c - (size-1)/2, c + size/2]} x[c']^2)^beta.
// Layout [n][c][hw]; one invocation per output element.
// REGION (region mode, engine/region.ts): LRN mixes channels at one pixel only, so a changed
// rectangle stays the same rectangle: x's and y's rectangles [N][C][rh][rw] sit at floats rbIn and
// rbOut of buffers that start with the clean prefix (y's prefix is written by setClean), and hw is
// rh·rw. Only the rectangles are computed.
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
//#if REGION
  let xb = u.rbIn;
  let yb = u.rbOut;
//#else
  let xb = 0u;
  let yb = 0u;
//#endif
  let p = i % u.hw;
  let c = i32((i / u.hw) % u.c);
  let n = i / (u.hw * u.c);
  let lo = max(c - i32((u.size - 1u) / 2u), 0);
  let hi = min(c + i32(u.size / 2u), i32(u.c) - 1);
  var s = 0.0;
  for (var k = lo; k <= hi; k++) {
    let v = x[xb + (n * u.c + u32(k)) * u.hw + p];
    s += v * v;
  }
  y[yb + i] = x[xb + i] / pow(u.bias + u.alphaOverSize * s, u.beta);
}
