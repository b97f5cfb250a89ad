// conv2d_direct: y[n,co,oy,ox] = b[co] + sum_{ci in group(co), ky, kx} x[n,ci,iy,ix] * w[co,ci',ky,kx]
// with iy = oy*sh - pt + ky*dh, ix = ox*sw - pl + kx*dw (taps outside the input are zero padding).
// One invocation computes one output element. Layout NCHW; w is [Cout, Cin/group, KH, KW].
// Generic and slow: the reference path for any stride/padding/dilation/groups, and for depthwise.
// Variants: HAS_BIAS adds b; RELU clamps at 0 (fused activation).
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let ox = i % u.ow;
  let oy = (i / u.ow) % u.oh;
  let co = (i / (u.ow * u.oh)) % u.cout;
  let n = i / (u.ow * u.oh * u.cout);
  let g = co / u.coutPerGroup;
  var acc = 0.0;
  let iy0 = i32(oy * u.sh) - u.pt;
  let ix0 = i32(ox * u.sw) - u.pl;
  for (var c = 0u; c < u.cinPerGroup; c++) {
    let ci = g * u.cinPerGroup + c;
    let xBase = (n * u.cin + ci) * u.h * u.w;
    let wBase = (co * u.cinPerGroup + c) * u.kh * u.kw;
    for (var ky = 0u; ky < u.kh; ky++) {
      let iy = iy0 + i32(ky * u.dh);
      if (iy < 0 || iy >= i32(u.h)) { continue; }
      for (var kx = 0u; kx < u.kw; kx++) {
        let ix = ix0 + i32(kx * u.dw);
        if (ix < 0 || ix >= i32(u.w)) { continue; }
        acc += x[xBase + u32(iy) * u.w + u32(ix)] * wt[wBase + ky * u.kw + kx];
      }
    }
  }
//#if HAS_BIAS
  acc += bias[co];
//#endif
//#if RELU
  acc = max(acc, 0.0);
//#endif
  y[i] = acc;
}
