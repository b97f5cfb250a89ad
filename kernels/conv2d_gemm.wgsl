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
// (no tap loop, no masks: a plain GEMM over x viewed as [N][Cin][H*W]); REGION is region mode
// (engine/region.ts); SUBGROUPS shares the weight panel through subgroup operations (below).
//
// SUBGROUPS (needs the `subgroups` feature with subgroups of at least 8 invocations; the engine
// picks it when Engine.subgroups is on). Why: on lavapipe every storage-buffer load is compiled to
// a per-lane scalar loop (mask test, descriptor reload, bounds check, scalar load, insert), even
// when the address is the same for every invocation, so the plain variant spends most of its time
// loading the same 8 weights into each of the 8 lanes of a subgroup. Here lane l of a subgroup
// loads weight l of each group of 8 (one per-lane load instead of 8; wt is read as f32) and the
// others get it by subgroupBroadcast with a constant lane, which compiles to a register permute.
// TM = 16 output channels (two loads per k), TN = 4 pixels. scratch/gemm_micro.mts measured it.
//
// WT_ROWS (with SUBGROUPS and POINTWISE, one group): a fully-connected layer y[n,o] = b[o] +
// sum_i x[n,i] W[o,i] as the 1×1 conv it is over x viewed as [N][in][1][1] (fcGemm in engine/conv.ts,
// used by engine/ops/dense.ts), the images as columns. wt is then the parameter's own rows [Cout][Cin]
// (or a slice of them) instead of the panel: a subgroup load fetches one weight per lane wherever it
// lies, so no transposed copy of (say) AlexNet's 151 MB fc6 is made. Why: kernels/fc.wgsl loads 20
// values per 64 multiply-adds, this 2 + 4 per 64, and on lavapipe loads set the pace.
// Y_OFFSET (with POINTWISE over 1×1 maps): outputs go to y[n][yOff + co] in rows of u.cout values, for
// fully-connected layers whose weights are split over dispatches (forward by rows; the input
// gradient, fcInputGrad in engine/conv.ts, by columns: there W [out][in] is itself the panel
// [k = out][co = in]).
override WG: u32 = 64;

const TN: u32 = 4u; // pixels per invocation
//#if SUBGROUPS
const MV: u32 = 4u; // vec4s of output channels per invocation (TM = 4*MV = 16, fixed by the broadcasts below)

// weightsAt(ia, ib): the block's 16 weights of one k, two loads per invocation shared by broadcast
// #include "subgroup_weights.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32, @builtin(subgroup_invocation_id) sl: u32) {
  let lane = sl & 7u;
//#else
const MV: u32 = 2u; // vec4s of output channels per invocation (TM = 4*MV = 8)

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
//#endif
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
//#if SUBGROUPS
//#if WT_ROWS
  // the parameter's own rows [Cout][Cin]: lane l reads rows co0 + l and co0 + 8 + l, clamped to the
  // last row (the sums of rows past the end are not written)
  let wg0 = min(co0 + lane, u.coutPg - 1u) * cinPg;
  let wd = min(co0 + 8u + lane, u.coutPg - 1u) * cinPg - wg0;
  let wstride = 1u;
//#else
  let wg0 = (g * u.kh * u.kw * cinPg * u.coPad4 + co0 / 4u) * 4u + lane; // f32 index of this lane's weight
  let wd = 8u; // to its second weight, 8 channels on
  let wstride = u.coPad4 * 4u;
//#endif
//#else
  let wg0 = g * u.kh * u.kw * cinPg * u.coPad4 + co0 / 4u;
  let wstride = u.coPad4;
//#endif
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
//#if SUBGROUPS
    let wv = weightsAt(wi, wi + wd);
//#else
    var wv: array<vec4f, MV>;
    for (var m = 0u; m < MV; m++) { wv[m] = wt[wi + m]; }
//#endif
    for (var j = 0u; j < TN; j++) {
//#if REGION
      let xv = x[off[j] + ci * cs[j]];
//#else
      let xv = x[off[j] + ci * hw];
//#endif
      for (var m = 0u; m < MV; m++) { acc[j * MV + m] += xv * wv[m]; }
    }
    wi += wstride;
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
//#if SUBGROUPS
        let wv = weightsAt(wi, wi + wd);
//#else
        var wv: array<vec4f, MV>;
        for (var m = 0u; m < MV; m++) { wv[m] = wt[wi + m]; }
//#endif
        for (var j = 0u; j < TN; j++) {
//#if REGION
          let xv = select(0.0, x[off[j] + ci * cs[j]], ok[j]);
//#else
          let xv = select(0.0, x[off[j] + ci * hw], ok[j]);
//#endif
          for (var m = 0u; m < MV; m++) { acc[j * MV + m] += xv * wv[m]; }
        }
        wi += wstride;
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
//#if Y_OFFSET
    let yb = b * u.cout + u.yOff + co0; // ohw = 1, p = 0
//#else
    let yb = (b * u.cout + g * u.coutPg + co0) * u.ohw + p;
//#endif
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
