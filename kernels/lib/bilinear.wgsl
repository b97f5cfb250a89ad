// Bilinear upsampling with half-pixel centres (align_corners = false, the PIL / PyTorch default), as
// dissection upsamples a unit's map to the label resolution (METHODS.md §7): output pixel o of
// `outSize` samples the source at s = (o + ½)·inSize/outSize − ½, clamped to [0, inSize − 1], between
// source pixels i0 = ⌊s⌋ and i1 = min(i0 + 1, inSize − 1) with weight t = s − i0 on i1. s is computed
// as the exact fraction ((2o + 1)·inSize − outSize) / (2·outSize), so i0 is exact integer arithmetic
// (the CPU reference, spec/reference.ts upsampleBilinear, finds the same pixels) and only t is rounded.
// Sizes up to 2^14 keep every product inside 32 bits.
struct BilinearTap { i0: u32, i1: u32, t: f32 }

fn bilinearTap(o: u32, inSize: u32, outSize: u32) -> BilinearTap {
  let num = i32((2u * o + 1u) * inSize) - i32(outSize);
  if (num <= 0) { return BilinearTap(0u, min(1u, inSize - 1u), 0.0); } // s ≤ 0: clamped to the first pixel
  let den = 2u * outSize;
  let i0 = u32(num) / den;
  if (i0 >= inSize - 1u) { return BilinearTap(inSize - 1u, inSize - 1u, 0.0); } // s ≥ inSize − 1: the last pixel
  return BilinearTap(i0, i0 + 1u, f32(u32(num) % den) / f32(den));
}

// The first output pixel whose tap has i0 ≥ i (outSize when none): the outputs between source pixels
// i and i + 1 are bilinearFirst(i) .. bilinearFirst(i + 1) − 1. From i0 ≥ i ⇔ (2o + 1)·inSize − outSize
// ≥ 2i·outSize ⇔ o ≥ ((2i + 1)·outSize − inSize) / (2·inSize), for 1 ≤ i ≤ inSize − 1.
fn bilinearFirst(i: u32, inSize: u32, outSize: u32) -> u32 {
  if (i == 0u) { return 0u; }
  if (i >= inSize) { return outSize; }
  let a = i32((2u * i + 1u) * outSize) - i32(inSize);
  if (a <= 0) { return 0u; }
  return min(outSize, (u32(a) + 2u * inSize - 1u) / (2u * inSize));
}

// The value between corners a00 (i0, j0), a01 (i0, j1), a10 (i1, j0), a11 (i1, j1) at weights ty, tx,
// as a + t·(b − a): exact where the corners are equal (a constant region never rises above itself).
fn bilinearMix(a00: f32, a01: f32, a10: f32, a11: f32, ty: f32, tx: f32) -> f32 {
  let top = a00 + tx * (a01 - a00);
  let bottom = a10 + tx * (a11 - a10);
  return top + ty * (bottom - top);
}

