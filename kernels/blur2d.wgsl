// blur2d: one pass of a separable Gaussian blur (σ = sigma, radius ⌈3σ⌉, weights normalised over
// the taps inside the image) along rows (VERTICAL off) or columns (VERTICAL on).
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let k = gid.x + gid.y * nwg.x * WG;
  if (k >= u.total) { return; }
  let hw = u.h * u.w;
  let plane = (k / hw) * hw;
  let j = i32(k % u.w);
  let i = i32((k / u.w) % u.h);
  let r = i32(ceil(3.0 * u.sigma));
  var s = 0.0;
  var wsum = 0.0;
  for (var t = -r; t <= r; t++) {
//#if VERTICAL
    let ii = i + t;
    if (ii < 0 || ii >= i32(u.h)) { continue; }
    let v = x[plane + u32(ii) * u.w + u32(j)];
//#else
    let jj = j + t;
    if (jj < 0 || jj >= i32(u.w)) { continue; }
    let v = x[plane + u32(i) * u.w + u32(jj)];
//#endif
    let wt = exp(-f32(t * t) / (2.0 * u.sigma * u.sigma));
    s += wt * v;
    wsum += wt;
  }
  y[k] = s / wsum;
}
