// rise_masks: a batch of RISE's random masks (Petsiuk et al.) made on the GPU from a seed and a mask
// index, so that any batch can be made again and 4000 masks of 224×224 never sit in memory at once.
// Mask m = range[0] + b (image b of the batch): a cells×cells grid of bits, bit (r, c) = 1 with
// probability p from a counter hash of (seed, m, r·cells + c); upsampled bilinearly to
// upH×upW = (cells+1)·cellH × (cells+1)·cellW (cellH = ⌈H/cells⌉, cellW = ⌈W/cells⌉) as the paper's
// code does it (skimage resize, order 1, mode 'reflect': half-pixel centres, mirrored about the edge
// cells' centres), then cropped H×W at a shift (sy, sx) in [0, cellH) × [0, cellW) hashed from
// (seed, m). Layout: masks [n][H][W], row-major; range = [first, n]. One invocation per mask pixel:
// it hashes the 4 bits around it and its mask's shift (cheaper than a pass through memory).
override WG: u32 = 64;

const GRID_TAG: u32 = 0x52495345u; // "RISE": the grid bits
const SHIFT_TAG: u32 = 0x53484654u; // "SHFT": the crop's shift

// #include "pcg4d.wgsl"

fn bit(m: u32, r: u32, c: u32) -> f32 {
  let h = pcg4d(vec4u(u.seed, m, r * u.cells + c, GRID_TAG)).x;
  return select(0.0, 1.0, f32(h >> 8u) * (1.0 / 16777216.0) < u.p);
}

// The grid coordinate of upsampled pixel o of `up` (half-pixel centres, from an exact integer
// numerator), mirrored into [0, cells − 1].
fn source(o: u32, up: u32) -> f32 {
  var s = f32(i32((2u * o + 1u) * u.cells) - i32(up)) / f32(2u * up);
  let last = f32(u.cells - 1u);
  if (s < 0.0) { s = -s; }
  if (s > last) { s = 2.0 * last - s; }
  return clamp(s, 0.0, last);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  let hw = u.h * u.w;
  if (i >= range[1] * hw) { return; }
  let m = range[0] + i / hw;
  let shift = pcg4d(vec4u(u.seed, m, 0xffffffffu, SHIFT_TAG));
  let sy = shift.x % u.cellH;
  let sx = shift.y % u.cellW;
  let fy = source((i % hw) / u.w + sy, u.upH);
  let fx = source(i % u.w + sx, u.upW);
  let r0 = min(u32(fy), u.cells - 1u);
  let c0 = min(u32(fx), u.cells - 1u);
  let r1 = min(r0 + 1u, u.cells - 1u);
  let c1 = min(c0 + 1u, u.cells - 1u);
  let ty = fy - f32(r0);
  let tx = fx - f32(c0);
  let top = mix(bit(m, r0, c0), bit(m, r0, c1), tx);
  let bottom = mix(bit(m, r1, c0), bit(m, r1, c1), tx);
  masks[i] = mix(top, bottom, ty);
}
