// dissect_tally: network dissection's tally of one batch (engine/dissect.ts, ConceptTally). act is
// N×K×h×w f32; labels N×P×maskH×maskW concept ids (P = state[0] planes, 0 = none, a sample's pixel
// maps and image-level concepts); thresholds[k] = T_k. Workgroup (k, n) takes unit k of image n:
//   1. maxima[n·K + k] = max of A_k over the h×w map (a tree in workgroup memory);
//   2. if that is ≤ T_k no upsampled value can exceed it (bilinear weights are convex) and the
//      workgroup is done: at the 0.005 quantile most (image, unit) pairs stop here;
//   3. otherwise each invocation takes source cells (y0, x0) (the square between source pixels
//      (y0, x0) and (y0 + 1, x0 + 1), clamped at the last row and column); a cell none of whose four
//      corners exceeds T_k is skipped for the same reason, and the others evaluate the upsampled
//      value S(A_k)(p) (kernels/lib/bilinear.wgsl) at the output pixels p whose taps lie in that cell
//      (the rectangle bilinearFirst gives), test S(A_k)(p) > T_k, and for each pixel in the mask
//      add 1 to area[k] (counted per invocation, one atomic at the end) and 1 to inter[k·(C+1) + c]
//      for each distinct concept c among the P labels at p (planes repeating an id count once).
// Why per (image, unit) and per cell, for lavapipe (2 cores, SIMD 8): one invocation per output pixel
// would evaluate N·K·maskH·maskW bilinear samples (fire9: 16·512·112² = 10^8); skipping by image
// maximum and then by cell leaves the 4 corner reads of h·w cells per pair (a 13×13 map: 169 against
// 12 544 pixels) plus the pixels of the few cells above the threshold. Global atomics happen only for
// pixels in a mask (about q of them), and a workgroup's all hit row k of inter, shared only with the
// workgroups of the same unit for other images. Measured on lavapipe: fire9's shape (512 units at 13×13
// to 112×112, 3 planes, 1200 concepts, batch 16; i.i.d. ReLU data, so 61% of the pairs pass step 2)
// in about 0.1 s, where SqueezeNet's forward pass of that batch takes some 9 s.
// Concept areas |L_c| depend on labels alone and are counted on the CPU (engine/dissect.ts).
override WG: u32 = 64;

var<workgroup> red: array<f32, WG>;

// #include "bilinear.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let k = wid.x;
  let n = wid.y;
  let hw = u.h * u.w;
  let base = (n * u.units + k) * hw;
  var m = act[base];
  for (var p = t; p < hw; p += WG) { m = max(m, act[base + p]); }
  red[t] = m;
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (t < s) { red[t] = max(red[t], red[t + s]); }
  }
  let top = workgroupUniformLoad(&red[0]);
  if (t == 0u) { maxima[n * u.units + k] = top; }
  let thr = thresholds[k];
  if (top <= thr) { return; }

  let planes = state[0];
  let maskHW = u.maskH * u.maskW;
  let lbase = n * planes * maskHW;
  let row = k * (u.concepts + 1u);
  var count = 0u;
  for (var c = t; c < hw; c += WG) {
    let y0 = c / u.w;
    let x0 = c % u.w;
    let y1 = min(y0 + 1u, u.h - 1u);
    let x1 = min(x0 + 1u, u.w - 1u);
    let a00 = act[base + y0 * u.w + x0];
    let a01 = act[base + y0 * u.w + x1];
    let a10 = act[base + y1 * u.w + x0];
    let a11 = act[base + y1 * u.w + x1];
    if (max(max(a00, a01), max(a10, a11)) <= thr) { continue; }
    let oy1 = bilinearFirst(y0 + 1u, u.h, u.maskH);
    let ox0 = bilinearFirst(x0, u.w, u.maskW);
    let ox1 = bilinearFirst(x0 + 1u, u.w, u.maskW);
    for (var oy = bilinearFirst(y0, u.h, u.maskH); oy < oy1; oy++) {
      let ty = bilinearTap(oy, u.h, u.maskH).t;
      for (var ox = ox0; ox < ox1; ox++) {
        if (bilinearMix(a00, a01, a10, a11, ty, bilinearTap(ox, u.w, u.maskW).t) <= thr) { continue; }
        count++;
        let at = lbase + oy * u.maskW + ox;
        for (var p = 0u; p < planes; p++) {
          let id = labels[at + p * maskHW];
          if (id == 0u || id > u.concepts) { continue; }
          var seen = false;
          for (var q = 0u; q < p; q++) { seen = seen || labels[at + q * maskHW] == id; }
          if (!seen) { atomicAdd(&inter[row + id], 1u); }
        }
      }
    }
  }
  if (count > 0u) { atomicAdd(&area[k], count); }
}
