// spectrum_pack: two real images per complex FFT. The images of planes 2q and 2q+1 (Sy×Sx, FFT
// order) are Re(IDFT(s·θ)) of their coefficients θ, which is the IDFT of the spectrum's Hermitian
// part h[k] = s[k]·(θ[k] + conj θ[−k]) / 2 (s is symmetric); an IDFT of a Hermitian spectrum is
// real, so one IDFT of h_2q + i·h_2q+1 gives plane 2q as its real part and 2q+1 as its imaginary
// part (the last pair's second plane is zero when there are an odd number).
//   pack (one thread per pair and frequency): y[q, k] = h_2q[k] + i·h_2q+1[k]
// UNPACK takes the chain rule back: x holds Z = DFT(g_2q + i·g_2q+1) of two real gradients, whose
// own DFTs are G_2q = (Z[k] + conj Z[−k]) / 2 and G_2q+1 = (Z[k] − conj Z[−k]) / 2i; the gradient
// of each plane's coefficients is s[k]·G (one thread per plane and frequency).
override WG: u32 = 64;

fn conj(a: vec2f) -> vec2f {
  return vec2f(a.x, -a.y);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let P = u.sy * u.sx;
  let k = i % P;
  let ky = k / u.sx;
  let kx = k % u.sx;
  let mk = ((u.sy - ky) % u.sy) * u.sx + (u.sx - kx) % u.sx; // −k
  let pl = i / P;
//#if UNPACK
  let z = x[(pl / 2u) * P + k];
  let zm = conj(x[(pl / 2u) * P + mk]);
  var g = (z + zm) * 0.5;
  if (pl % 2u == 1u) {
    let d = (z - zm) * 0.5; // divided by i: (a + bi)/i = b − ai
    g = vec2f(d.y, -d.x);
  }
  y[i] = g * scale[k];
//#else
  // pl is the pair here
  let a = (x[(2u * pl) * P + k] + conj(x[(2u * pl) * P + mk])) * 0.5;
  var b = vec2f(0.0);
  if (2u * pl + 1u < u.planes) {
    b = (x[(2u * pl + 1u) * P + k] + conj(x[(2u * pl + 1u) * P + mk])) * 0.5;
  }
  y[i] = (a + vec2f(-b.y, b.x)) * scale[k]; // a + i·b
//#endif
}
