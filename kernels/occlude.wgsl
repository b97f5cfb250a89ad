// occlude: builds a batch of occluded copies of one clean image on the GPU.
// y[p, c, iy, ix] = value[c] inside patch p (rows [py, py+size), cols [px, px+size) with
// py = (p / cols) * stride, px = (p % cols) * stride), else x[c, iy, ix]. Patch index p counts
// from `first` so a long sweep is done in batches. One invocation per output element.
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let chw = u.c * u.h * u.w;
  let p = u.first + i / chw;
  let r = i % chw;
  let ix = r % u.w;
  let iy = (r / u.w) % u.h;
  let c = r / (u.w * u.h);
  let py = (p / u.cols) * u.stride;
  let px = (p % u.cols) * u.stride;
  let inside = iy >= py && iy < py + u.size && ix >= px && ix < px + u.size;
  y[i] = select(x[r], value[c], inside);
}
