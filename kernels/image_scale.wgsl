// image_scale: each image's typical gradient magnitude where it has one, y[b] = Σ x² / Σ |x| over
// its n values (the mean of |x| weighted by |x|: near the root mean square for a gradient spread
// over the image, and the size of the values inside a receptive field for one unit's, however
// small the field). One workgroup per image, a tree reduction in workgroup memory.
override WG: u32 = 64;
var<workgroup> part: array<vec2f, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let b = wid.x;
  var s = vec2f(0.0);
  for (var i = t; i < u.n; i += WG) {
    let v = x[b * u.n + i];
    s += vec2f(v * v, abs(v));
  }
  part[t] = s;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k /= 2u) {
    if (t < k) { part[t] += part[t + k]; }
    workgroupBarrier();
  }
  if (t == 0u) { y[b] = part[0].x / max(part[0].y, 1e-30); }
}
