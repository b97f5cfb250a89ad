// unary: elementwise activations chosen by u.op: 0 leaky ReLU (alpha), 1 ELU (alpha), 2 sigmoid,
// 3 tanh, 4 HardSwish (x · min(max(x/6 + 1/2, 0), 1), ONNX's alpha 1/6 and beta 1/2).
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let v = x[i];
  var r = v;
  switch u.op {
    case 0u: { r = select(v * u.alpha, v, v > 0.0); }
    case 1u: { r = select(u.alpha * (exp(v) - 1.0), v, v > 0.0); }
    case 2u: { r = 1.0 / (1.0 + exp(-v)); }
    case 4u: { r = v * min(max(v * (1.0 / 6.0) + 0.5, 0.0), 1.0); }
    default: { r = tanh(clamp(v, -20.0, 20.0)); }
  }
  y[i] = r;
}
