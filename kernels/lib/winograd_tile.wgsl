// The 2×2 output tile of Winograd F(2×2, 3×3) that column p of the transforms' [..][P] matrices
// stands for (P = batch × tiles, p = b·tiles + tile, tiles = ⌈OH/2⌉ × tw, tw = ⌈OW/2⌉): (b, ty, tx).
// Shared by winograd_input and winograd_output, which both need `u.tiles` and `u.tw`.
fn winogradTile(p: u32) -> vec3u {
  let b = p / u.tiles;
  let t = p - b * u.tiles;
  let ty = t / u.tw;
  return vec3u(b, ty, t - ty * u.tw);
}
