// image_reg_grad: the ascent direction of an image objective with its regularisers,
//   d = r − λα·α·|x|^(α−1)·sign(x) − λtv·∂TV_β(x)/∂x,
// where r is the reverse-pass signal (∂objective/∂x) and the total variation (survey Eq. 15) is
//   TV_β(x) = Σ_{n,c,i,j} ((x[i,j+1] − x[i,j])² + (x[i+1,j] − x[i,j])² + ε)^(β/2)
// with differences taken inside the image (the last row/column has none). One invocation per pixel:
// its value appears in its own term (i,j) and in the terms of its left (i,j−1) and upper (i−1,j)
// neighbours.
// NORMALISED makes the weights independent of the objective's and the pixels' scales (the Fourier
// parameterisation's default regularisers): r is divided by its typical magnitude in the image,
// gscale[image] = Σ r² / Σ |r| over its n values (image_scale.wgsl: a unit's gradient is as large in
// its receptive field as a channel's is everywhere), and the regularisers see x' = (x − mid_c)/B_c,
// mid_c and B_c the centre and half-width of channel c's range (ranges = lo_0..lo_{C−1}, hi_0..hi_{C−1}):
//   d = r / gscale − λα·∂‖x'‖_α^α/∂x' − λtv·∂TV_β(x')/∂x'
// (with α = 2 and no TV, x' settles where it is r / (2λα·gscale)).
override WG: u32 = 64;

// ∂/∂(a) of (a² + b² + ε)^(β/2) is β·a·(a² + b² + ε)^(β/2 − 1).
fn tvTerm(i: u32, j: u32, plane: u32, inv: f32) -> vec2f {
  let v = x[plane + i * u.w + j];
  let dx = select(0.0, x[plane + i * u.w + j + 1u] - v, j + 1u < u.w) * inv;
  let dy = select(0.0, x[plane + (i + 1u) * u.w + j] - v, i + 1u < u.h) * inv;
  let f = u.beta * pow(dx * dx + dy * dy + u.eps, u.beta / 2.0 - 1.0);
  return vec2f(f * dx, f * dy);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let k = gid.x + gid.y * nwg.x * WG;
  if (k >= u.total) { return; }
  let hw = u.h * u.w;
  let plane = (k / hw) * hw;
  let j = k % u.w;
  let i = (k / u.w) % u.h;
  var v = x[k];
  var rk = r[k];
  var inv = 1.0;
//#if NORMALISED
  let ch = (k / hw) % u.c;
  let lo = ranges[ch];
  let hi = ranges[u.c + ch];
  inv = 2.0 / (hi - lo);
  v = (v - (lo + hi) / 2.0) * inv;
  rk = rk / max(gscale[k / u.n], 1e-30);
//#endif
  var g = 0.0;
  if (u.lambdaTv != 0.0) {
    let own = tvTerm(i, j, plane, inv);
    g = -(own.x + own.y); // x[i,j] enters its own differences with sign −1
    if (j > 0u) { g += tvTerm(i, j - 1u, plane, inv).x; }
    if (i > 0u) { g += tvTerm(i - 1u, j, plane, inv).y; }
  }
  var norm = 0.0;
  if (u.lambdaA != 0.0 && v != 0.0) { norm = u.alpha * pow(abs(v), u.alpha - 1.0) * sign(v); }
  d[k] = rk - u.lambdaA * norm - u.lambdaTv * g;
}
