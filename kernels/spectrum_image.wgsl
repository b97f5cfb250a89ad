// spectrum_image: the colours of a Fourier-parameterised image, one thread per pixel of a batch
// of canvases (all C channels). t_c = k · s[c] is the inverse FFT of the spectrum (k normalises
// it), two planes to a complex value (spectrum_pack.wgsl): plane l is the real part of complex
// plane l/2 if l is even, its imaginary part if odd (s and the BACKWARD y are interleaved re, im). With MIX3 (three channels) the channels are mixed by `mix` (3×3, row-major:
// the square root of the colour correlation, so the coefficients describe decorrelated colours);
// otherwise each channel is its own. A sigmoid maps each into its valid range [lo_c, hi_c]
// (ranges = lo_0..lo_{C−1}, hi_0..hi_{C−1}):
//   y_r = lo_r + (hi_r − lo_r) · σ(Σ_c mix[r, c] · t_c)
// BACKWARD: the gradient g with respect to y taken back to the planes of the spectrum's inverse
// FFT, packed the same way: k · Σ_r mix[r, c] · g_r (hi_r − lo_r) σ'(·) for each channel c (and
// zero in the empty half of the last pair when the planes are odd in number).
override WG: u32 = 64;

fn sigm(a: f32) -> f32 {
  return 1.0 / (1.0 + exp(-a));
}

// where element p of plane l is in the packed complex planes (interleaved re, im)
fn packed(l: u32, p: u32) -> u32 {
  return 2u * ((l / 2u) * u.plane + p) + l % 2u;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let b = i / u.plane;
  let p = i % u.plane;
//#if MIX3
  let at = b * 3u * u.plane + p;
  let l = b * 3u;
  let t = vec3f(s[packed(l, p)], s[packed(l + 1u, p)], s[packed(l + 2u, p)]) * u.k;
  let m = mat3x3f(mix[0], mix[3], mix[6], mix[1], mix[4], mix[7], mix[2], mix[5], mix[8]); // columns
  let sg = vec3f(sigm(dot(vec3f(mix[0], mix[1], mix[2]), t)), sigm(dot(vec3f(mix[3], mix[4], mix[5]), t)), sigm(dot(vec3f(mix[6], mix[7], mix[8]), t)));
  let lo = vec3f(ranges[0], ranges[1], ranges[2]);
  let hi = vec3f(ranges[3], ranges[4], ranges[5]);
//#if BACKWARD
  let gp = vec3f(g[at], g[at + u.plane], g[at + 2u * u.plane]) * (hi - lo) * sg * (1.0 - sg);
  let gt = (gp * m) * u.k; // mixᵀ · gp
  y[packed(l, p)] = gt.x;
  y[packed(l + 1u, p)] = gt.y;
  y[packed(l + 2u, p)] = gt.z;
  if (b == u.total / u.plane - 1u && (l + 3u) % 2u == 1u) {
    y[packed(l + 3u, p)] = 0.0; // the empty half of the last pair: no stale values in its FFT
  }
//#else
  let v = lo + (hi - lo) * sg;
  y[at] = v.x;
  y[at + u.plane] = v.y;
  y[at + 2u * u.plane] = v.z;
//#endif
//#else
  for (var c = 0u; c < u.c; c++) {
    let at = (b * u.c + c) * u.plane + p;
    let sg = sigm(s[packed(b * u.c + c, p)] * u.k);
    let lo = ranges[c];
    let hi = ranges[u.c + c];
//#if BACKWARD
    y[packed(b * u.c + c, p)] = g[at] * (hi - lo) * sg * (1.0 - sg) * u.k;
    let last = b * u.c + c + 1u;
    if (last == u.total / u.plane * u.c && last % 2u == 1u) {
      y[packed(last, p)] = 0.0; // the empty half of the last pair: no stale values in its FFT
    }
//#else
    y[at] = lo + (hi - lo) * sg;
//#endif
  }
//#endif
}
