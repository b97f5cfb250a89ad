// pda_substitute: builds the batch of perturbed images from one clean image on the GPU:
// y[b, c, iy, ix] = sample[b, c·K² + (iy−y0)·K + (ix−x0)] inside the K×K window of image b
// (window p.first + b / S, at y0 = min(row·stride, H−K), x0 = min(col·stride, W−K)), else the
// clean x[c, iy, ix]. One invocation per output element.
struct Params { first: u32, nw: u32, seed: u32, unused: u32 }
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= u.total) { return; }
  let chw = u.c * u.h * u.w;
  let img = t / chw;
  let r = t % chw;
  let ix = r % u.w;
  let iy = (r / u.w) % u.h;
  let c = r / (u.w * u.h);
  let win = p.first + img / u.samples;
  let y0 = min((win / u.cols) * u.stride, u.h - u.k);
  let x0 = min((win % u.cols) * u.stride, u.w - u.k);
  let inside = iy >= y0 && iy < y0 + u.k && ix >= x0 && ix < x0 + u.k;
  var v = x[r];
  if (inside) { v = sample[img * u.dw + c * u.k * u.k + (iy - y0) * u.k + (ix - x0)]; }
  y[t] = v;
}
