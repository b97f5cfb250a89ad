// image_reg_grad: the ascent direction of an image objective with its regularisers,
//   d = r − λα·α·|x|^(α−1)·sign(x) − λtv·∂TV_β(x)/∂x,
// where r is the reverse-pass signal (∂objective/∂x) and the total variation (survey Eq. 15) is
//   TV_β(x) = Σ_{n,c,i,j} ((x[i,j+1] − x[i,j])² + (x[i+1,j] − x[i,j])² + ε)^(β/2)
// with differences taken inside the image (the last row/column has none). One invocation per pixel:
// its value appears in its own term (i,j) and in the terms of its left (i,j−1) and upper (i−1,j)
// neighbours.
override WG: u32 = 64;

// ∂/∂(a) of (a² + b² + ε)^(β/2) is β·a·(a² + b² + ε)^(β/2 − 1).
fn tvTerm(i: u32, j: u32, plane: u32) -> vec2f {
  let v = x[plane + i * u.w + j];
  let dx = select(0.0, x[plane + i * u.w + j + 1u] - v, j + 1u < u.w);
  let dy = select(0.0, x[plane + (i + 1u) * u.w + j] - v, i + 1u < u.h);
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
  let v = x[k];
  var g = 0.0;
  if (u.lambdaTv != 0.0) {
    let own = tvTerm(i, j, plane);
    g = -(own.x + own.y); // x[i,j] enters its own differences with sign −1
    if (j > 0u) { g += tvTerm(i, j - 1u, plane).x; }
    if (i > 0u) { g += tvTerm(i - 1u, j, plane).y; }
  }
  var norm = 0.0;
  if (u.lambdaA != 0.0 && v != 0.0) { norm = u.alpha * pow(abs(v), u.alpha - 1.0) * sign(v); }
  d[k] = r[k] - u.lambdaA * norm - u.lambdaTv * g;
}
