// spectrum_image: the colours of a Fourier-parameterised image, one thread per pixel of a batch
// of canvases (all C channels). t_c = k · Re(s[c]) is the inverse FFT of the spectrum (k
// normalises it). With MIX3 (three channels) the channels are mixed by `mix` (3×3, row-major:
// the square root of the colour correlation, so the coefficients describe decorrelated colours);
// otherwise each channel is its own. A sigmoid maps each into its valid range [lo_c, hi_c]
// (ranges = lo_0..lo_{C−1}, hi_0..hi_{C−1}):
//   y_r = lo_r + (hi_r − lo_r) · σ(Σ_c mix[r, c] · t_c)
// BACKWARD: the gradient g with respect to y taken back to the real parts of the spectrum's
// inverse FFT: y_c = (k · Σ_r mix[r, c] · g_r (hi_r − lo_r) σ'(·), 0).
override WG: u32 = 64;

fn sigm(a: f32) -> f32 {
  return 1.0 / (1.0 + exp(-a));
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let b = i / u.plane;
  let p = i % u.plane;
//#if MIX3
  let at = b * 3u * u.plane + p;
  let t = vec3f(s[at].x, s[at + u.plane].x, s[at + 2u * u.plane].x) * u.k;
  let m = mat3x3f(mix[0], mix[3], mix[6], mix[1], mix[4], mix[7], mix[2], mix[5], mix[8]); // columns
  let sg = vec3f(sigm(dot(vec3f(mix[0], mix[1], mix[2]), t)), sigm(dot(vec3f(mix[3], mix[4], mix[5]), t)), sigm(dot(vec3f(mix[6], mix[7], mix[8]), t)));
  let lo = vec3f(ranges[0], ranges[1], ranges[2]);
  let hi = vec3f(ranges[3], ranges[4], ranges[5]);
//#if BACKWARD
  let gp = vec3f(g[at], g[at + u.plane], g[at + 2u * u.plane]) * (hi - lo) * sg * (1.0 - sg);
  let gt = (gp * m) * u.k; // mixᵀ · gp
  y[at] = vec2f(gt.x, 0.0);
  y[at + u.plane] = vec2f(gt.y, 0.0);
  y[at + 2u * u.plane] = vec2f(gt.z, 0.0);
//#else
  let v = lo + (hi - lo) * sg;
  y[at] = v.x;
  y[at + u.plane] = v.y;
  y[at + 2u * u.plane] = v.z;
//#endif
//#else
  for (var c = 0u; c < u.c; c++) {
    let at = (b * u.c + c) * u.plane + p;
    let sg = sigm(s[at].x * u.k);
    let lo = ranges[c];
    let hi = ranges[u.c + c];
//#if BACKWARD
    y[at] = vec2f(g[at] * (hi - lo) * sg * (1.0 - sg) * u.k, 0.0);
//#else
    y[at] = lo + (hi - lo) * sg;
//#endif
  }
//#endif
}
