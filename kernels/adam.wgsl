// adam: one optimiser step over one parameter tensor, in place, one invocation per element.
//   (default) Adam: m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g; p -= lrt * m / (sqrt(v) + epsHat)
//             with the bias corrections folded in on the CPU: lrt = lr*sqrt(1-b2^t)/(1-b1^t),
//             epsHat = eps*sqrt(1-b2^t) (exactly Kingma & Ba's update).
//   SGD       SGD with momentum: m = mu*m + g; p -= lr * m (no v binding).
// The per-step values live in a small storage buffer (hp) written with queue.writeBuffer before
// each step, so the dispatch (uniform + bind group) is built once: hp = [lrt, b1, b2, epsHat] for
// Adam, [lr, mu, 0, 0] for SGD. g is the gradient of the loss (already averaged over the batch).
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let gi = g[i];
//#if SGD
  let mi = hp[1] * m[i] + gi;
  m[i] = mi;
  p[i] = p[i] - hp[0] * mi;
//#else
  let mi = hp[1] * m[i] + (1.0 - hp[1]) * gi;
  let vi = hp[2] * v[i] + (1.0 - hp[2]) * gi * gi;
  m[i] = mi;
  v[i] = vi;
  p[i] = p[i] - hp[0] * mi / (sqrt(vi) + hp[3]);
//#endif
}
