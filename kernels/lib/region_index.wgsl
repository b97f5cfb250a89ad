// Region mode (engine/region.ts): where pixel (iy, ix) of one channel plane is read from. A value is
// its clean prefix [C][H][W] followed by the batch's rectangles [N][C][rh][rw], each image's placed
// at origin (ry, rx): the rectangle holds the pixel when it covers it, else the clean prefix does.
// `clean` is the plane's offset in the prefix (c·H·W), `rect` its offset among the rectangles.
fn regionIndex(iy: i32, ix: i32, w: u32, clean: u32, rect: u32, ry: i32, rx: i32, rh: u32, rw: u32) -> u32 {
  let qy = iy - ry;
  let qx = ix - rx;
  if (qy >= 0 && qy < i32(rh) && qx >= 0 && qx < i32(rw)) { return rect + u32(qy) * rw + u32(qx); }
  return clean + u32(iy) * w + u32(ix);
}
