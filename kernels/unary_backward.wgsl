// unary_backward: the gradients of unary.wgsl's smooth activations, elementwise, one invocation per
// element, chosen by u.op (unary's numbering); v is the forward input x or output y as noted:
//   1 ELU (v = x):       dx = dy where x > 0, else dy · alpha · exp(x)
//   2 sigmoid (v = y):   dx = dy · y · (1 − y)
//   3 tanh (v = y):      dx = dy · (1 − y²)
//   4 HardSwish (v = x): dx = 0 where x < −3, dy · (x/3 + 1/2) where −3 ≤ x ≤ 3, dy where x > 3
//                        (PyTorch's hardswish_backward, kinks included)
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let g = dy[i];
  let t = v[i];
  var r = g;
  switch u.op {
    case 1u: { r = select(g * u.alpha * exp(t), g, t > 0.0); }
    case 2u: { r = g * t * (1.0 - t); }
    case 3u: { r = g * (1.0 - t * t); }
    case 4u: { r = select(select(g * (t * (1.0 / 3.0) + 0.5), g, t > 3.0), 0.0, t < -3.0); }
    default: { r = g; }
  }
  dx[i] = r;
}
