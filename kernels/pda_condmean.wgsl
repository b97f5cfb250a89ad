// pda_condmean: the conditional mean of each window of a batch, μ_w|o = b_q + A_q x_o
// (explainers/patch-model.ts), x_o = the clean image's pixels of the window's patch outside the
// window. Window w = p.first + wl sits at y0 = min(row·stride, H−K), x0 = min(col·stride, W−K);
// its (K+2L)² patch is as centred as the border allows, q = its offset inside the patch.
// One invocation per (window, window component): mu[wl·dw + i].
struct Params { first: u32, nw: u32, seed: u32, unused: u32 }
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= u.total) { return; }
  let wl = t / u.dw;
  let i = t % u.dw;
  if (wl >= p.nw) { return; }
  let win = p.first + wl;
  let y0 = min((win / u.cols) * u.stride, u.h - u.k);
  let x0 = min((win % u.cols) * u.stride, u.w - u.k);
  let ps = u.k + 2u * u.pad;
  let py0 = u32(clamp(i32(y0) - i32(u.pad), 0, i32(u.h) - i32(ps)));
  let px0 = u32(clamp(i32(x0) - i32(u.pad), 0, i32(u.w) - i32(ps)));
  let q = (y0 - py0) * (2u * u.pad + 1u) + (x0 - px0);
  let pp = ps * ps;
  let hw = u.h * u.w;
  var s = b[q * u.dw + i];
  let row = (q * u.dw + i) * u.dO;
  let orow = q * u.dO;
  for (var j = 0u; j < u.dO; j++) {
    let pi = oIndex[orow + j];
    let c = pi / pp;
    let r = pi % pp;
    s += a[row + j] * x[c * hw + (py0 + r / ps) * u.w + px0 + r % ps];
  }
  mu[wl * u.dw + i] = s;
}
