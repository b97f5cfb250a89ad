// conv2d_gemm: implicit-GEMM convolution, y[n,co,oy,ox] = b[co] + sum_k W[co,k] * X[k,(n,oy,ox)]
// with M = Cout/group (rows), N = batch*OH*OW (columns), K = KH*KW*Cin/group (the im2col index,
// ordered tap-major: k = (ky*KW + kx)*cinPg + ci, so the innermost loop over ci is a plain GEMM
// whose column offsets and padding masks are computed once per tap).
//
// Weights are re-laid out once per model (engine/conv.ts) as wt[g][k][coPad], coPad = Cout/group
// rounded up to a multiple of TM with zero rows, read as vec4s; x and y are NCHW.
//
// Tiling: a workgroup of WG invocations owns a TM×(WG*TN) output tile: TM output channels of one
// group (workgroup_id.y, .z = group) × WG*TN consecutive output pixels. Invocation t computes the
// TM×TN register block of channels co0..co0+TM and pixels n0 + t + j*WG (j < TN), so neighbouring
// invocations read neighbouring pixels and every invocation of a subgroup reads the same weights.
// The weight reads are thus uniform across the workgroup (one load, broadcast), and the whole
// TM×K weight panel of a workgroup is small enough to stay in cache; the activations are read
// straight from the storage buffer, each element reused TM times from a register.
//
// On lavapipe (the CPU Vulkan this project tests on) workgroup memory is ordinary memory and a
// barrier costs a coroutine switch per subgroup, so staging tiles in var<workgroup> only adds
// copies; the register block is what gives reuse. See scratch/conv_bench.mts for the measurements.
//
// Variants: HAS_BIAS adds b; RELU clamps at 0; POINTWISE is the 1×1 / stride 1 / unpadded case
// (no tap loop, no masks: a plain GEMM over x viewed as [N][Cin][H*W]).
struct U {
  npix: u32,      // N = batch*OH*OW
  cin: u32,       // total input channels
  cinPg: u32,     // input channels per group
  hw: u32,        // H*W
  w: u32,
  h: u32,
  ow: u32,
  ohw: u32,       // OH*OW
  cout: u32,      // total output channels
  coutPg: u32,    // output channels per group
  coPad4: u32,    // coPad / 4 (row stride of wt in vec4s)
  kh: u32,
  kw: u32,
  sh: u32,
  sw: u32,
  pt: i32,
  pl: i32,
  dh: u32,
  dw: u32,
//#if REGION
  rhIn: u32,      // region mode: the input's rectangle (rows, cols), its offset in x (after the clean prefix)
  rwIn: u32,
  rbIn: u32,
  orgIn: u32,     // i32 offset of the input's per-image rectangle origins in org
  rbOut: u32,     // offset of the output rectangle in y; ow/ohw/npix describe the output rectangle
  orgOut: u32,
//#endif
}
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<vec4f>;
//#if HAS_BIAS
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
//#if REGION
@group(0) @binding(5) var<storage, read> org: array<i32>;
//#endif
//#else
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
//#if REGION
@group(0) @binding(4) var<storage, read> org: array<i32>;
//#endif
//#endif
override WG: u32 = 64;

const TN: u32 = 4u; // pixels per invocation
const MV: u32 = 2u; // vec4s of output channels per invocation (TM = 4*MV)

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let g = wid.z;
  let co0 = wid.y * (4u * MV);
  let n0 = wid.x * (WG * TN) + t;
  let cinPg = u.cinPg;
  let hw = u.hw;
  // per pixel: image base offset into x (channel 0 of this group), output row/col
  var xb: array<u32, TN>;
  var iy0: array<i32, TN>;
  var ix0: array<i32, TN>;
  var live: array<bool, TN>;
//#if REGION
  // region mode (engine/region.ts): x holds the clean input [Cin,H,W] and then the batch's
  // rectangles [N][Cin][rhIn][rwIn]; an input pixel inside image b's rectangle is read from the
  // rectangle, any other from the clean prefix. Output pixels are those of image b's rectangle.
  var ry: array<i32, TN>;
  var rx: array<i32, TN>;
  let rhw = u.rhIn * u.rwIn;
  let cb = g * cinPg * hw;
//#endif
  for (var j = 0u; j < TN; j++) {
    let n = n0 + j * WG;
    live[j] = n < u.npix;
    let nn = min(n, u.npix - 1u);
    let b = nn / u.ohw;
    let p = nn - b * u.ohw;
    var oy = p / u.ow;
    var ox = p - oy * u.ow;
//#if REGION
    oy += u32(org[u.orgOut + 2u * b]);
    ox += u32(org[u.orgOut + 2u * b + 1u]);
    ry[j] = org[u.orgIn + 2u * b];
    rx[j] = org[u.orgIn + 2u * b + 1u];
    xb[j] = u.rbIn + (b * u.cin + g * cinPg) * rhw;
//#else
    xb[j] = (b * u.cin + g * cinPg) * hw;
//#endif
    iy0[j] = i32(oy * u.sh) - u.pt;
    ix0[j] = i32(ox * u.sw) - u.pl;
  }
  var acc: array<vec4f, TN * MV>;
  let wg0 = g * u.kh * u.kw * cinPg * u.coPad4 + co0 / 4u;
//#if POINTWISE
  var off: array<u32, TN>;
//#if REGION
  var cs: array<u32, TN>;
  for (var j = 0u; j < TN; j++) {
    let qy = iy0[j] - ry[j];
    let qx = ix0[j] - rx[j];
    let inR = qy >= 0 && qy < i32(u.rhIn) && qx >= 0 && qx < i32(u.rwIn);
    off[j] = select(cb + u32(iy0[j]) * u.w + u32(ix0[j]), xb[j] + u32(qy) * u.rwIn + u32(qx), inR);
    cs[j] = select(hw, rhw, inR);
  }
//#else
  for (var j = 0u; j < TN; j++) { off[j] = xb[j] + u32(iy0[j]) * u.w + u32(ix0[j]); }
//#endif
  var wi = wg0;
  for (var ci = 0u; ci < cinPg; ci++) {
    var wv: array<vec4f, MV>;
    for (var m = 0u; m < MV; m++) { wv[m] = wt[wi + m]; }
    for (var j = 0u; j < TN; j++) {
//#if REGION
      let xv = x[off[j] + ci * cs[j]];
//#else
      let xv = x[off[j] + ci * hw];
//#endif
      for (var m = 0u; m < MV; m++) { acc[j * MV + m] += xv * wv[m]; }
    }
    wi += u.coPad4;
  }
//#else
  var wi = wg0;
  for (var ky = 0u; ky < u.kh; ky++) {
    for (var kx = 0u; kx < u.kw; kx++) {
      var off: array<u32, TN>;
      var ok: array<bool, TN>;
//#if REGION
      var cs: array<u32, TN>;
//#endif
      for (var j = 0u; j < TN; j++) {
        let iy = iy0[j] + i32(ky * u.dh);
        let ix = ix0[j] + i32(kx * u.dw);
        ok[j] = iy >= 0 && iy < i32(u.h) && ix >= 0 && ix < i32(u.w);
//#if REGION
        let qy = iy - ry[j];
        let qx = ix - rx[j];
        let inR = qy >= 0 && qy < i32(u.rhIn) && qx >= 0 && qx < i32(u.rwIn);
        off[j] = select(select(0u, cb + u32(iy) * u.w + u32(ix), ok[j]), xb[j] + u32(qy) * u.rwIn + u32(qx), inR);
        cs[j] = select(hw, rhw, inR);
//#else
        off[j] = select(0u, xb[j] + u32(iy) * u.w + u32(ix), ok[j]);
//#endif
      }
      for (var ci = 0u; ci < cinPg; ci++) {
        var wv: array<vec4f, MV>;
        for (var m = 0u; m < MV; m++) { wv[m] = wt[wi + m]; }
        for (var j = 0u; j < TN; j++) {
//#if REGION
          let xv = select(0.0, x[off[j] + ci * cs[j]], ok[j]);
//#else
          let xv = select(0.0, x[off[j] + ci * hw], ok[j]);
//#endif
          for (var m = 0u; m < MV; m++) { acc[j * MV + m] += xv * wv[m]; }
        }
        wi += u.coPad4;
      }
    }
  }
//#endif
  for (var j = 0u; j < TN; j++) {
    if (!live[j]) { continue; }
    let n = n0 + j * WG;
    let b = n / u.ohw;
    let p = n - b * u.ohw;
//#if REGION
    let yb = u.rbOut + (b * u.cout + g * u.coutPg + co0) * u.ohw + p;
//#else
    let yb = (b * u.cout + g * u.coutPg + co0) * u.ohw + p;
//#endif
    for (var m = 0u; m < MV; m++) {
      for (var c = 0u; c < 4u; c++) {
        let co = co0 + m * 4u + c;
        if (co >= u.coutPg) { break; }
        var r = acc[j * MV + m][c];
//#if HAS_BIAS
        r += bias[g * u.coutPg + co];
//#endif
//#if RELU
        r = max(r, 0.0);
//#endif
        y[yb + (m * 4u + c) * u.ohw] = r;
      }
    }
  }
}
