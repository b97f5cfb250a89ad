// pda_draw_marginal: marginal (empirical) samples of the windows of a batch: sample s of window
// w is the same K×K×C window of store image m = pcg4d(seed, w, s, 0xffffffff).x % count (as
// marginalIndex in explainers/patch-model.ts). One invocation per (image, window component).
struct Params { first: u32, nw: u32, seed: u32, unused: u32 }
override WG: u32 = 64;

// #include "pcg4d.wgsl"

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
  let m = pcg4d(vec4u(p.seed, win, s, 0xffffffffu)).x % u.count;
  let kk = u.k * u.k;
  let c = i / kk;
  let r = i % kk;
  let hw = u.h * u.w;
  let cnum = u.dw / kk;
  out[u.base + t] = store[m * cnum * hw + c * hw + (y0 + r / u.k) * u.w + x0 + r % u.k];
}
