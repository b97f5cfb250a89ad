// net2vec_bits: the binary unit masks Net2Vec learns from (Fong & Vedaldi 2018), made once per batch:
// I_k(p) = [S(A_k)(p) > T_k] with S the bilinear upsampling of unit k's h×w map to the label
// resolution maskH×maskW (half-pixel centres, align_corners = false), strictly greater. The masks are
// binary and sparse (T_k is the 99.5th percentile: about 0.5% of the pixels fire), so they are packed
// 32 to a u32 in the two layouts the two products need:
//   pixelBits [n·S][kWords]: the units firing at one pixel (word j: units 32j..32j+31), for the logits
//     z(p) = W·I(p), which walk one pixel's set bits;
//   unitBits [units][n][pWords]: the pixels where one unit fires (word g: pixels 32g..32g+31 of the
//     image, row-major), for the gradient Σ_p dz(p)·I_k(p), which walks one unit's set bits.
// One invocation makes a 32-pixel × 32-unit block (invocation i = (image·kWords + j)·pWords + g, so
// neighbours read neighbouring pixels of the same maps): each pixel's bilinear taps once, its 32
// samples into one pixel word, the same bits into 32 unit words (a private array) written at the end.
// Bits past the last unit or pixel stay 0. NO_PIXELS / NO_UNITS leave out a layout a pass never reads.
// (Skipping a unit's block when no source tap in its window exceeds T_k was tried: on lavapipe it was
// slower, 630 vs 510 ms for 16 × 512 maps of 28² to 112², since a SIMD-8 group computes the block when
// any of its 8 lanes has a hot window.)
override WG: u32 = 64;

// The bilinear taps and mix of dissection's tally (kernels/lib/bilinear.wgsl), so that Net2Vec's
// unit masks are exactly the ones dissection counts.
// #include "bilinear.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.n * u.kWords * u.pWords) { return; }
  let g = i % u.pWords;
  let j = (i / u.pWords) % u.kWords;
  let img = i / (u.pWords * u.kWords);
  let s = u.maskH * u.maskW;
  let hw = u.h * u.w;
  let k0 = j * 32u;
  let units = min(32u, u.units - k0);
  let pixels = min(32u, s - g * 32u);
  var words: array<u32, 32>; // unit c's bits over the 32 pixels (zero-initialised)
  for (var b = 0u; b < pixels; b++) {
    let p = g * 32u + b;
    let ty = bilinearTap(p / u.maskW, u.h, u.maskH);
    let tx = bilinearTap(p % u.maskW, u.w, u.maskW);
    let o00 = ty.i0 * u.w + tx.i0;
    let o01 = ty.i0 * u.w + tx.i1;
    let o10 = ty.i1 * u.w + tx.i0;
    let o11 = ty.i1 * u.w + tx.i1;
    var bits = 0u;
    for (var c = 0u; c < units; c++) {
      let base = (img * u.units + k0 + c) * hw;
      if (bilinearMix(act[base + o00], act[base + o01], act[base + o10], act[base + o11], ty.t, tx.t) > thresholds[k0 + c]) {
        bits |= 1u << c;
        words[c] |= 1u << b;
      }
    }
//#if NO_PIXELS
//#else
    pixelBits[(img * s + p) * u.kWords + j] = bits;
//#endif
  }
//#if NO_UNITS
//#else
  for (var c = 0u; c < units; c++) { unitBits[((k0 + c) * u.n + img) * u.pWords + g] = words[c]; }
//#endif
}
