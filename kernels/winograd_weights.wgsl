// winograd_weights: the weight transform of Winograd F(2×2, 3×3) (engine/winograd.ts), derived once
// per model from the conv weights w [Cout, Cin, 3, 3] (group 1) and rebuilt after training steps
// (Model.refreshDerived):  U = G g Gᵀ, a 4×4 matrix per (co, ci), with
//   G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1].
// Layout: u[ξ][ci][coPad], ξ = 4·row + col of U, Cout padded with zero rows to coPad (a multiple of
// the GEMM's register block TM): for each ξ this is exactly the K×M weight panel conv2d_gemm reads
// for one group of a grouped 1×1 conv (group = ξ), so the 16 products M[ξ] = U[ξ]·V[ξ] run as one
// grouped pointwise conv2d_gemm dispatch. One invocation per (ci, co), writing its 16 values.
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let co = i % u.coPad;
  let ci = i / u.coPad;
  var g: array<f32, 9>;
  if (co < u.cout) {
    let base = (co * u.cin + ci) * 9u;
    for (var k = 0u; k < 9u; k++) { g[k] = w[base + k]; }
  }
  // Gg: 4 rows × 3 columns
  var t: array<f32, 12>;
  for (var c = 0u; c < 3u; c++) {
    let g0 = g[c];
    let g1 = g[3u + c];
    let g2 = g[6u + c];
    t[c] = g0;
    t[3u + c] = 0.5 * (g0 + g1 + g2);
    t[6u + c] = 0.5 * (g0 - g1 + g2);
    t[9u + c] = g2;
  }
  // (Gg)Gᵀ: 4 × 4
  let stride = u.cin * u.coPad;
  let o = ci * u.coPad + co;
  for (var r = 0u; r < 4u; r++) {
    let a = t[3u * r];
    let b = t[3u * r + 1u];
    let c = t[3u * r + 2u];
    let xi = 4u * r;
    wt[(xi + 0u) * stride + o] = a;
    wt[(xi + 1u) * stride + o] = 0.5 * (a + b + c);
    wt[(xi + 2u) * stride + o] = 0.5 * (a - b + c);
    wt[(xi + 3u) * stride + o] = c;
  }
}
