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

// Bilinear source taps of output o of `outSize` from `size` (the same function as
// kernels/lib/bilinear.wgsl): s = (o + ½)·size/outSize − ½ from an exact integer numerator,
// clamped to [0, size − 1]; i0 = ⌊s⌋, i1 = min(i0 + 1, size − 1), f = s − i0.
struct Taps { i0: u32, i1: u32, f: f32 }
fn bilinearTaps(o: u32, size: u32, outSize: u32) -> Taps {
  let num = i32((2u * o + 1u) * size) - i32(outSize);
  let s = clamp(f32(num) / f32(2u * outSize), 0.0, f32(size - 1u));
  let i0 = min(u32(s), size - 1u);
  return Taps(i0, min(i0 + 1u, size - 1u), s - f32(i0));
}

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
    let ty = bilinearTaps(p / u.maskW, u.h, u.maskH);
    let tx = bilinearTaps(p % u.maskW, u.w, u.maskW);
    let o00 = ty.i0 * u.w + tx.i0;
    let o01 = ty.i0 * u.w + tx.i1;
    let o10 = ty.i1 * u.w + tx.i0;
    let o11 = ty.i1 * u.w + tx.i1;
    var bits = 0u;
    for (var c = 0u; c < units; c++) {
      let base = (img * u.units + k0 + c) * hw;
      let top = mix(act[base + o00], act[base + o01], tx.f);
      let bottom = mix(act[base + o10], act[base + o11], tx.f);
      if (mix(top, bottom, ty.f) > thresholds[k0 + c]) {
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
