// lrn_backward: gradient of cross-channel LRN (kernels/lrn.wgsl) from the forward input x.
// With scale_c = bias + alpha/size * S_c, S_c = sum_{c' in [c - (size-1)/2, c + size/2] ∩ [0,C)} x_c'^2
// and y_c = x_c * scale_c^-beta:
//   dx_c = dy_c * scale_c^-beta - 2*beta*(alpha/size) * x_c * sum_{c' : c in window(c')} dy_c' * x_c' * scale_c'^(-beta-1)
// where c' ranges over [c - size/2, c + (size-1)/2] ∩ [0,C). One invocation per element; each
// scale is recomputed from x (size^2 loads per element; deterministic, no atomics).
override WG: u32 = 64;

fn scaleAt(n: u32, c: i32, p: u32) -> f32 {
  let lo = max(c - i32((u.size - 1u) / 2u), 0);
  let hi = min(c + i32(u.size / 2u), i32(u.c) - 1);
  var s = 0.0;
  for (var k = lo; k <= hi; k++) {
    let v = x[(n * u.c + u32(k)) * u.hw + p];
    s += v * v;
  }
  return u.bias + u.alphaOverSize * s;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let p = i % u.hw;
  let c = i32((i / u.hw) % u.c);
  let n = i / (u.hw * u.c);
  let lo = max(c - i32(u.size / 2u), 0);
  let hi = min(c + i32((u.size - 1u) / 2u), i32(u.c) - 1);
  var acc = 0.0;
  var own = 1.0;
  for (var k = lo; k <= hi; k++) {
    let j = (n * u.c + u32(k)) * u.hw + p;
    let sc = scaleAt(n, k, p);
    let pw = pow(sc, -u.beta);
    if (k == c) { own = pw; }
    acc += dy[j] * x[j] * pw / sc;
  }
  dx[i] = dy[i] * own - 2.0 * u.beta * u.alphaOverSize * x[i] * acc;
}
