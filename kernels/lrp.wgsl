// lrp: the elementwise steps of Layer-wise Relevance Propagation's z-rules (engine/lrp.ts), one
// invocation per element (2-D grid folded like every elementwise kernel), no reductions: the
// matrix products are the ops' own forward and input-gradient kernels. Variants:
//   (none)  y = c·a·b            relevance = input ⊙ (transposed weights · s), signed by c
//   ACC     y = y + c·a·b        the same, added to the terms before it
//   DIVIDE  y = b / (a + eps·sign(a)), 0 where that is 0   s = R / z (sign(0) = +1)
//   AXPY    y = y + c·a          z of several terms (z^B: x·w − l·w⁺ − h·w⁻)
//   POS     y = max(a, 0)        positive and negative parts of inputs (αβ)
//   NEG     y = min(a, 0)
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
//#if DIVIDE
  let z = a[i];
  var d = z - u.eps;
  if (z >= 0.0) { d = z + u.eps; }
  if (d == 0.0) { y[i] = 0.0; } else { y[i] = b[i] / d; }
//#else
//#if AXPY
  y[i] = y[i] + u.c * a[i];
//#else
//#if POS
  y[i] = max(a[i], 0.0);
//#else
//#if NEG
  y[i] = min(a[i], 0.0);
//#else
//#if ACC
  y[i] = y[i] + u.c * a[i] * b[i];
//#else
  y[i] = u.c * a[i] * b[i];
//#endif
//#endif
//#endif
//#endif
//#endif
}
