// conv_transpose2d: the transpose of conv2d (ONNX ConvTranspose; also the input gradient of a conv).
// y[n,co,oy,ox] = b[co] + sum_{ci in group(co), ky, kx} x[n,ci,iy,ix] * w[ci,co',ky,kx]
// where oy + pt - ky*dh = iy*sh and ox + pl - kx*dw = ix*sw (taps whose position is not a whole
// stride multiple, or falls outside x, contribute nothing). w is [Cin, Cout/group, KH, KW].
// One invocation gathers one output element (no atomics, deterministic).
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let ox = i32(i % u.ow);
  let oy = i32((i / u.ow) % u.oh);
  let co = (i / (u.ow * u.oh)) % u.cout;
  let n = i / (u.ow * u.oh * u.cout);
  let g = co / u.coutPerGroup;
  let col = co % u.coutPerGroup;
  var acc = 0.0;
  for (var ky = 0u; ky < u.kh; ky++) {
    let ty = oy + u.pt - i32(ky * u.dh);
    if (ty < 0 || ty % i32(u.sh) != 0) { continue; }
    let iy = u32(ty) / u.sh;
    if (iy >= u.h) { continue; }
    for (var kx = 0u; kx < u.kw; kx++) {
      let tx = ox + u.pl - i32(kx * u.dw);
      if (tx < 0 || tx % i32(u.sw) != 0) { continue; }
      let ix = u32(tx) / u.sw;
      if (ix >= u.w) { continue; }
      for (var c = 0u; c < u.cinPerGroup; c++) {
        let ci = g * u.cinPerGroup + c;
        acc += x[((n * u.cin + ci) * u.h + iy) * u.w + ix] * wt[((ci * u.coutPerGroup + col) * u.kh + ky) * u.kw + kx];
      }
    }
  }
//#if HAS_BIAS
  acc += bias[co];
//#endif
  y[i] = acc;
}
