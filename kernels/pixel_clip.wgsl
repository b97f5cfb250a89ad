// pixel_clip: zero the pixels of each image whose measure is below θ × that image's largest:
// the measure is the pixel's norm over channels (Σ_c x²), or with CONTRIB its contribution
// |Σ_c x·r| (r: the reverse signal). Pass MAX (one workgroup per image) writes each image's
// largest measure to `maxes`; the second pass zeroes.
override WG: u32 = 64;
var<workgroup> part: array<f32, WG>;

fn measure(img: u32, p: u32) -> f32 {
  var s = 0.0;
  for (var ch = 0u; ch < u.c; ch++) {
    let i = (img * u.c + ch) * u.hw + p;
//#if CONTRIB
    s += x[i] * r[i];
//#else
    s += x[i] * x[i];
    _ = r[0];
//#endif
  }
  return abs(s);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32, @builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
//#if MAX
  let img = wid.x;
  var best = 0.0;
  for (var p = t; p < u.hw; p += WG) { best = max(best, measure(img, p)); }
  part[t] = best;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s /= 2u) {
    if (t < s) { part[t] = max(part[t], part[t + s]); }
    workgroupBarrier();
  }
  if (t == 0u) { maxes[img] = part[0]; }
//#else
  let k = gid.x + gid.y * nwg.x * WG;
  if (k >= u.n * u.hw) { return; }
  let img = k / u.hw;
  let p = k % u.hw;
  if (measure(img, p) < u.theta * maxes[img]) {
    for (var ch = 0u; ch < u.c; ch++) { x[(img * u.c + ch) * u.hw + p] = 0.0; }
  }
//#endif
}
