// winograd_output: the output transform of Winograd F(2×2, 3×3) (engine/winograd.ts): from the 16
// products m[ξ][co][p] (the grouped conv2d_gemm's output, p = b·tiles + tile), each tile's 2×2
// outputs Y = Aᵀ M A with
//   Aᵀ = [1 1 1 0; 0 1 −1 −1],
// plus the bias (HAS_BIAS) and clamped at 0 (RELU, the conv's fused ReLU), written NCHW into y;
// the last row/column of tiles is cropped where OH or OW is odd. One invocation per (co, p).
//
// REGION (region mode, engine/region.ts): oh×ow is image b's output rectangle, written into the
// rectangles [N][cy][oh][ow] that start at float rbOut (cy: the channels of the buffer written, a
// concat's when the conv writes its slice of one; rbOut then includes the slice's offset).
override WG: u32 = 64;

// #include "winograd_tile.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let p = i % u.npix;
  let co = i / u.npix;
  let tile = winogradTile(p);
  let b = tile.x;
  let ty = tile.y;
  let tx = tile.z;
  let stride = u.cout * u.npix;
  let o = co * u.npix + p;
  var mm: array<f32, 16>;
  for (var k = 0u; k < 16u; k++) { mm[k] = m[k * stride + o]; }
  // Aᵀ M: 2 rows × 4 columns
  var s: array<f32, 8>;
  for (var c = 0u; c < 4u; c++) {
    s[c] = mm[c] + mm[4u + c] + mm[8u + c];
    s[4u + c] = mm[4u + c] - mm[8u + c] - mm[12u + c];
  }
  var bv = 0.0;
//#if HAS_BIAS
  bv = bias[co];
//#endif
  let oy0 = 2u * ty;
  let ox0 = 2u * tx;
//#if REGION
  let yb = u.rbOut + (b * u.cy + co) * u.oh * u.ow;
//#else
  let yb = (b * u.cout + co) * u.oh * u.ow;
//#endif
  for (var r = 0u; r < 2u; r++) {
    let oy = oy0 + r;
    if (oy >= u.oh) { break; }
    let s0 = s[4u * r];
    let s1 = s[4u * r + 1u];
    let s2 = s[4u * r + 2u];
    let s3 = s[4u * r + 3u];
    var yv = vec2f(s0 + s1 + s2, s1 - s2 - s3) + bv;
//#if RELU
    yv = max(yv, vec2f(0.0));
//#endif
    y[yb + oy * u.ow + ox0] = yv.x;
    if (ox0 + 1u < u.ow) { y[yb + oy * u.ow + ox0 + 1u] = yv.y; }
  }
}
