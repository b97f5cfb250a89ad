// relu_backward: the reverse rules of ReLU, elementwise, one invocation per element.
//   (default) GRADIENT: dx = dy * mask, mask the f32 0/1 pattern written by relu MASK;
//   GUIDED:   dx = max(dy, 0) * mask (guided backpropagation);
//   DECONV:   dx = max(dy, 0), no mask (DeconvNet);
//   LEAKY:    dx = dy * (x > 0 ? 1 : alpha), binding 2 holds the forward input x.
// FROM_X (with GRADIENT or GUIDED): binding 2 holds the forward input x and mask = x > 0.
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let g = dy[i];
//#if DECONV
  dx[i] = max(g, 0.0);
//#else
//#if LEAKY
  dx[i] = select(u.alpha * g, g, m[i] > 0.0);
//#else
//#if FROM_X
  let k = select(0.0, 1.0, m[i] > 0.0);
//#else
  let k = m[i];
//#endif
//#if GUIDED
  dx[i] = max(g, 0.0) * k;
//#else
  dx[i] = g * k;
//#endif
//#endif
//#endif
}
