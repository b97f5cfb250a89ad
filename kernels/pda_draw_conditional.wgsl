// pda_draw_conditional: conditional Gaussian samples of the windows of a batch,
// sample[b, i] = mu[wl, i] + Σ_{j≤i} L_q[i, j] z_j, image b = wl·S + s, with z_j the standard
// normal number j of (seed, window, sample): Box–Muller on a PCG4D hash (Jarzynski & Olano
// 2020) of (seed, window, sample, j >> 1), cos for even j, sin for odd (the same function as
// normalDraw in explainers/patch-model.ts). One invocation per (image, window component).
struct Params { first: u32, nw: u32, seed: u32, unused: u32 }
override WG: u32 = 64;

// #include "pcg4d.wgsl"

fn normal(seed: u32, win: u32, s: u32, j: u32) -> f32 {
  let h = pcg4d(vec4u(seed, win, s, j >> 1u));
  let u1 = (f32(h.x >> 8u) + 1.0) / 16777216.0;
  let u2 = f32(h.y >> 8u) / 16777216.0;
  let r = sqrt(-2.0 * log(u1));
  let th = 6.283185307179586 * u2;
  return select(r * sin(th), r * cos(th), (j & 1u) == 0u);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= u.total) { return; }
  let img = t / u.dw;
  let i = t % u.dw;
  let wl = img / u.samples;
  let s = img % u.samples;
  if (wl >= p.nw) { return; }
  let win = p.first + wl;
  let y0 = min((win / u.cols) * u.stride, u.h - u.k);
  let x0 = min((win % u.cols) * u.stride, u.w - u.k);
  let ps = u.k + 2u * u.pad;
  let py0 = u32(clamp(i32(y0) - i32(u.pad), 0, i32(u.h) - i32(ps)));
  let px0 = u32(clamp(i32(x0) - i32(u.pad), 0, i32(u.w) - i32(ps)));
  let q = (y0 - py0) * (2u * u.pad + 1u) + (x0 - px0);
  let row = (q * u.dw + i) * u.dw;
  var v = mu[wl * u.dw + i];
  for (var j = 0u; j <= i; j++) {
    v += lf[row + j] * normal(p.seed, win, s, j);
  }
  out[u.base + t] = v;
}
