// conv2d_direct: y[n,co,oy,ox] = b[co] + sum_{ci in group(co), ky, kx} x[n,ci,iy,ix] * w[co,ci',ky,kx]
// with iy = oy*sh - pt + ky*dh, ix = ox*sw - pl + kx*dw (taps outside the input are zero padding).
// One invocation computes one output element. Layout NCHW; w is [Cout, Cin/group, KH, KW].
// Generic and slow: the reference path for any stride/padding/dilation/groups, and for depthwise.
// Variants: HAS_BIAS adds b; RELU clamps at 0 (fused activation); REGION is region mode.
// REGION (engine/region.ts; depthwise and other narrow-group convs): x holds the clean input
// [Cin,H,W] then the batch's rectangles [N][Cin][rhIn][rwIn] at float rbIn (origins org[orgIn + 2n]);
// oh×ow is the output rectangle (origins org[orgOut + 2n]), written at float rbOut into a buffer of
// cy channels per image (a concat's, when the conv writes its slice of it). A tap inside image n's
// input rectangle is read from it, any other from the clean prefix: the GEMM REGION's addressing.
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
//#if REGION
  let gy = oy + u32(org[u.orgOut + 2u * n]);
  let gx = ox + u32(org[u.orgOut + 2u * n + 1u]);
  let ry = org[u.orgIn + 2u * n];
  let rx = org[u.orgIn + 2u * n + 1u];
  let iy0 = i32(gy * u.sh) - u.pt;
  let ix0 = i32(gx * u.sw) - u.pl;
//#else
  let iy0 = i32(oy * u.sh) - u.pt;
  let ix0 = i32(ox * u.sw) - u.pl;
//#endif
  for (var c = 0u; c < u.cinPerGroup; c++) {
    let ci = g * u.cinPerGroup + c;
//#if REGION
    let cBase = ci * u.h * u.w;
    let rBase = u.rbIn + (n * u.cin + ci) * u.rhIn * u.rwIn;
//#else
    let xBase = (n * u.cin + ci) * u.h * u.w;
//#endif
    let wBase = (co * u.cinPerGroup + c) * u.kh * u.kw;
    for (var ky = 0u; ky < u.kh; ky++) {
      let iy = iy0 + i32(ky * u.dh);
      if (iy < 0 || iy >= i32(u.h)) { continue; }
      for (var kx = 0u; kx < u.kw; kx++) {
        let ix = ix0 + i32(kx * u.dw);
        if (ix < 0 || ix >= i32(u.w)) { continue; }
//#if REGION
        let qy = iy - ry;
        let qx = ix - rx;
        let inR = qy >= 0 && qy < i32(u.rhIn) && qx >= 0 && qx < i32(u.rwIn);
        let xi = select(cBase + u32(iy) * u.w + u32(ix), rBase + u32(qy) * u.rwIn + u32(qx), inR);
        acc += x[xi] * wt[wBase + ky * u.kw + kx];
//#else
        acc += x[xBase + u32(iy) * u.w + u32(ix)] * wt[wBase + ky * u.kw + kx];
//#endif
      }
    }
  }
//#if HAS_BIAS
  acc += bias[co];
//#endif
//#if RELU
  acc = max(acc, 0.0);
//#endif
//#if REGION
  y[u.rbOut + ((n * u.cy + co) * u.oh + oy) * u.ow + ox] = acc;
//#else
  y[i] = acc;
//#endif
}
