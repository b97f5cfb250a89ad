// winograd_input: the input transform of Winograd F(2×2, 3×3) (engine/winograd.ts). The output map
// [OH, OW] of each image is cut into 2×2 tiles (tw = ⌈OW/2⌉ across, tiles = ⌈OH/2⌉·tw per image);
// tile (ty, tx) reads the 4×4 input patch d at rows 2ty − pt.., columns 2tx − pl.. (zero outside the
// map, which is the padding) and writes V = Bᵀ d B with
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]
// (additions only). Layout: v[ξ][ci][p], ξ = 4·row + col, p = b·tiles + tile over the batch: for
// each ξ a [Cin][P] matrix, the "image" of one group of the grouped 1×1 conv2d_gemm that follows
// (x viewed as [1][16·Cin][1×P]). One invocation per (ci, p), p fastest, so neighbouring
// invocations write neighbouring addresses of each of the 16 planes.
//
// REGION (region mode, engine/region.ts): the tiles cover image b's output rectangle (rhOut×rwOut
// at the origin org[orgOut + 2b], so tiles = ⌈rhOut/2⌉·⌈rwOut/2⌉); x holds the clean input
// [Cin,H,W] and then the batch's input rectangles [N][Cin][rhIn][rwIn]: a patch pixel inside image
// b's input rectangle is read from it, any other from the clean prefix (zero outside the map), as
// conv2d_gemm's REGION variant reads.
override WG: u32 = 64;

// #include "winograd_tile.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let p = i % u.npix;
  let ci = i / u.npix;
  let tile = winogradTile(p);
  let b = tile.x;
  let ty = tile.y;
  let tx = tile.z;
//#if REGION
  let y0 = org[u.orgOut + 2u * b] + i32(2u * ty) - u.pt;
  let x0 = org[u.orgOut + 2u * b + 1u] + i32(2u * tx) - u.pl;
  let ry = org[u.orgIn + 2u * b];
  let rx = org[u.orgIn + 2u * b + 1u];
  let cb = ci * u.h * u.w;
  let xb = u.rbIn + (b * u.cin + ci) * u.rhIn * u.rwIn;
//#else
  let y0 = i32(2u * ty) - u.pt;
  let x0 = i32(2u * tx) - u.pl;
  let xb = (b * u.cin + ci) * u.h * u.w;
//#endif
  var d: array<f32, 16>;
  for (var r = 0; r < 4; r++) {
    let iy = y0 + r;
    let rowOk = iy >= 0 && iy < i32(u.h);
    for (var c = 0; c < 4; c++) {
      let ix = x0 + c;
      let ok = rowOk && ix >= 0 && ix < i32(u.w);
//#if REGION
      let qy = iy - ry;
      let qx = ix - rx;
      let inR = qy >= 0 && qy < i32(u.rhIn) && qx >= 0 && qx < i32(u.rwIn);
      let off = select(select(0u, cb + u32(iy) * u.w + u32(ix), ok), xb + u32(qy) * u.rwIn + u32(qx), inR);
      d[r * 4 + c] = select(0.0, x[off], ok);
//#else
      d[r * 4 + c] = select(0.0, x[select(0u, xb + u32(iy) * u.w + u32(ix), ok)], ok);
//#endif
    }
  }
  // Bᵀ d (rows)
  var e: array<f32, 16>;
  for (var c = 0u; c < 4u; c++) {
    let d0 = d[c];
    let d1 = d[4u + c];
    let d2 = d[8u + c];
    let d3 = d[12u + c];
    e[c] = d0 - d2;
    e[4u + c] = d1 + d2;
    e[8u + c] = d2 - d1;
    e[12u + c] = d1 - d3;
  }
  // (Bᵀ d) B (columns)
  let stride = u.cin * u.npix;
  let o = ci * u.npix + p;
  for (var r = 0u; r < 4u; r++) {
    let e0 = e[4u * r];
    let e1 = e[4u * r + 1u];
    let e2 = e[4u * r + 2u];
    let e3 = e[4u * r + 3u];
    let xi = 4u * r;
    v[(xi + 0u) * stride + o] = e0 - e2;
    v[(xi + 1u) * stride + o] = e1 + e2;
    v[(xi + 2u) * stride + o] = e2 - e1;
    v[(xi + 3u) * stride + o] = e1 - e3;
  }
}
