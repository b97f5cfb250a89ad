// clamp_backward: the reverse rules of clamp (Clip, HardSigmoid) from its recorded pattern (1 where
// the forward input was strictly inside the clamp, 0 or 2 where the output saturated), elementwise,
// one invocation per element:
//   (default) dx = a·dy inside, 0 where saturated: the gradient (0 at both kinks, as PyTorch's
//             hardtanh / ReLU6 / hardsigmoid backward);
//   GUIDED:   dx = a·max(dy, 0) inside: guided backprop through a rectifier (ReLU6).
// DeconvNet through a rectifier ignores the pattern: relu_backward DECONV.
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
//#if GUIDED
  let g = max(dy[i], 0.0);
//#else
  let g = dy[i];
//#endif
  dx[i] = select(0.0, u.a * g, pattern[i] == 1u);
}
