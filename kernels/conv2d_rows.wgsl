// conv2d_rows: the implicit-GEMM convolution of conv2d_gemm.wgsl for convs with taps along x
// (KW > 1) or a stride, where each invocation's pixels are TN *neighbours in one output row*, so
// that the inputs under one kernel row are loaded once and shared by every tap and pixel that
// reads them: y[n,co,oy,ox] = b[co] + Σ_{ky,kx,ci} W[co,ci,ky,kx] · x[n,ci,oy·sh−pt+ky·dh, ox·sw−pl+kx·dw].
//
// Why: in conv2d_gemm an invocation's TN pixels lie WG apart and every tap reloads their inputs,
// TN loads per (tap, input channel); here pixels ox0..ox0+TN−1 of one row read, under kernel row
// ky, the SEG = (TN−1)·SW + (KW−1)·DW + 1 input columns ix0..ix0+SEG−1 of input row iy: SEG loads
// per (ky, ci) serve KW·TN (tap, pixel) pairs (3×3 stride 1: 6 loads for 12; 7×7 stride 2: 13 for
// 28; 11×11 stride 4: 23 for 44). Loads are what a CPU adapter pays for: `loupe bench`'s roofline
// measures one load from an invocation's own address at the time of 23–27 FMAs on lavapipe, where
// conv2d_gemm does 64 FMAs per 6 loads. Scratch measurements there (same shapes, same run, GPU
// timestamps): 1.3–1.8× conv2d_gemm's speed on SqueezeNet's 3×3 expands, its 7×7/2 conv1, AlexNet's
// 11×11/4, 5×5 and 3×3 layers.
//
// Layout: x and y NCHW; weights the GEMM's panel wt[g][ky][kx][ci][coPad] (engine/conv.ts,
// gemmWeights), coPad = Cout/group rounded up to TM. Tiling: workgroup (x, y, z) = (WG row blocks,
// TM output channels, group). A row block is TN output pixels of one row of one image; the last
// block of a row is cut at ow. The weights of one (tap, ci) for the TM channels are uniform across
// the workgroup, loaded as in conv2d_gemm: vec4 loads, or with SUBGROUPS one f32 per lane shared by
// subgroupBroadcast (TM = 16; see conv2d_gemm.wgsl for why).
//
// KW, SW and DW are pipeline overrides, so SEG and every index into the row segment are constants
// after specialisation: the loops over the segment, the taps and the pixels unroll and xs lives in
// registers (an index unknown at compile time would put it in memory). SEG ≤ SEGMAX; the engine
// sends wider rows to conv2d_gemm. Out-of-image inputs (padding) read as 0. Where each column of a
// kernel row starts, and whether it is in the image, is worked out once per kernel row, not per
// input channel.
//
// Variants: HAS_BIAS, RELU, SUBGROUPS as conv2d_gemm's; REGION is region mode (engine/region.ts),
// as conv2d_gemm's: the output map is each image's output rectangle, and an input column is read
// from the image's input rectangle where it lies in it, else from the clean image.
override WG: u32 = 64;
override KW: u32 = 3u;
override SW: u32 = 1u;
override DW: u32 = 1u;

const TN: u32 = 4u; // output pixels per invocation, neighbours in one row
const SEGMAX: u32 = 40u; // input columns under one kernel row, at most
//#if SUBGROUPS
const MV: u32 = 4u; // vec4s of output channels per invocation (TM = 16)

// weights(wi): the block's 16 weights of one k, two loads per invocation shared by broadcast (weightsAt: any two indices)
// #include "subgroup_weights.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32, @builtin(subgroup_invocation_id) sl: u32) {
  let lane = sl & 7u;
//#else
const MV: u32 = 2u; // vec4s of output channels per invocation (TM = 8)

fn weights(wi: u32) -> array<vec4f, MV> {
  return array<vec4f, MV>(wt[wi], wt[wi + 1u]);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
//#endif
  let g = wid.z;
  let co0 = wid.y * (4u * MV);
  let cinPg = u.cinPg;
  let hw = u.hw;
  // this invocation's row block: image b, output row oy, columns ox0..ox0+TN-1
  let live = wid.x * WG + t < u.nblk;
  let blk = min(wid.x * WG + t, u.nblk - 1u);
  let rowsPerImage = u.oh * u.nbx;
  let b = blk / rowsPerImage;
  let r = blk - b * rowsPerImage;
  let oyb = r / u.nbx; // row within the output map (region mode: within the output rectangle)
  let oxb = (r - oyb * u.nbx) * TN;
//#if REGION
  // region mode (engine/region.ts): x holds the clean input [Cin,H,W] and then the batch's
  // rectangles [N][Cin][rhIn][rwIn]; an input pixel inside image b's rectangle is read from the
  // rectangle, any other from the clean prefix. The output map is image b's output rectangle.
  let oy = oyb + u32(org[u.orgOut + 2u * b]);
  let ox0 = oxb + u32(org[u.orgOut + 2u * b + 1u]);
  let ry = org[u.orgIn + 2u * b];
  let rx = org[u.orgIn + 2u * b + 1u];
  let rhw = u.rhIn * u.rwIn;
  let xr = u.rbIn + (b * u.cin + g * cinPg) * rhw; // image b's rectangle, channel 0 of group g
  let xc = g * cinPg * hw; // the clean prefix, channel 0 of group g
//#else
  let oy = oyb;
  let ox0 = oxb;
  let xb = (b * u.cin + g * cinPg) * hw;
//#endif
  let ix0 = i32(ox0 * SW) - u.pl;
  let iy0 = i32(oy * u.sh) - u.pt;
  let seg = (TN - 1u) * SW + (KW - 1u) * DW + 1u;
  var colOk: array<bool, SEGMAX>;
  for (var s = 0u; s < seg; s++) {
    let ix = ix0 + i32(s);
    colOk[s] = ix >= 0 && ix < i32(u.w);
  }
  var acc: array<vec4f, TN * MV>;
  let tapStride = cinPg * u.coPad4; // weight index step from one tap to the next
//#if SUBGROUPS
  let w0 = (g * u.kh * KW * tapStride + co0 / 4u) * 4u + lane; // f32 index of this lane's weight
  let tapStep = tapStride * 4u;
  let ciStep = u.coPad4 * 4u;
//#else
  let w0 = g * u.kh * KW * tapStride + co0 / 4u;
  let tapStep = tapStride;
  let ciStep = u.coPad4;
//#endif
  for (var ky = 0u; ky < u.kh; ky++) {
    let iy = iy0 + i32(ky * u.dh);
    let rowOk = iy >= 0 && iy < i32(u.h);
    // where each input column under kernel row ky starts (channel 0), and whether it is in the image
    var off: array<u32, SEGMAX>;
    var ok: array<bool, SEGMAX>;
//#if REGION
    var cs: array<u32, SEGMAX>; // its channel stride: the rectangle's or the clean map's
    let qy = iy - ry;
    let rowInR = qy >= 0 && qy < i32(u.rhIn);
    for (var s = 0u; s < seg; s++) {
      let ix = ix0 + i32(s);
      let qx = ix - rx;
      let inR = rowInR && qx >= 0 && qx < i32(u.rwIn);
      ok[s] = rowOk && colOk[s];
      off[s] = select(select(0u, xc + u32(iy) * u.w + u32(ix), ok[s]), xr + u32(qy) * u.rwIn + u32(qx), inR);
      cs[s] = select(hw, rhw, inR);
    }
//#else
    let rb = xb + u32(max(iy, 0)) * u.w;
    for (var s = 0u; s < seg; s++) {
      ok[s] = rowOk && colOk[s];
      off[s] = select(0u, rb + u32(ix0 + i32(s)), ok[s]);
    }
//#endif
    var wi = w0 + ky * KW * tapStep;
    for (var ci = 0u; ci < cinPg; ci++) {
      // the inputs under kernel row ky, once for every tap and pixel
      var xs: array<f32, SEGMAX>;
      for (var s = 0u; s < seg; s++) {
//#if REGION
        xs[s] = select(0.0, x[off[s] + ci * cs[s]], ok[s]);
//#else
        xs[s] = select(0.0, x[off[s] + ci * hw], ok[s]);
//#endif
      }
      for (var kx = 0u; kx < KW; kx++) {
        let wv = weights(wi + kx * tapStep);
        for (var j = 0u; j < TN; j++) {
          let xv = xs[j * SW + kx * DW];
          for (var m = 0u; m < MV; m++) { acc[j * MV + m] += xv * wv[m]; }
        }
      }
      wi += ciStep;
    }
  }
  if (!live) { return; }
//#if REGION
  let yb = u.rbOut + (b * u.cout + g * u.coutPg + co0) * u.ohw + oyb * u.ow;
//#else
  let yb = (b * u.cout + g * u.coutPg + co0) * u.ohw + oyb * u.ow;
//#endif
  for (var j = 0u; j < TN; j++) {
    let ox = oxb + j;
    if (ox >= u.ow) { break; }
    for (var m = 0u; m < MV; m++) {
      for (var c = 0u; c < 4u; c++) {
        let co = co0 + m * 4u + c;
        if (co >= u.coutPg) { break; }
        var v = acc[j * MV + m][c];
//#if HAS_BIAS
        v += bias[g * u.coutPg + co];
//#endif
//#if RELU
        v = max(v, 0.0);
//#endif
        y[yb + (m * 4u + c) * u.ohw + ox] = v;
      }
    }
  }
}
