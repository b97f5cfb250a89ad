// mask_images: Score-CAM's batch, copies of one image each multiplied by a mask (Wang et al.: the
// layer's channel k upsampled to the input and min-max normalised, H·W, the same for every input
// channel): y[b, c, q] = x[c, q] · masks[b, q]. Layout: x [C][H·W], masks [n][H·W], y [n][C][H·W]
// (the model plan's input). Only the masks (one plane per copy, not C) travel to the device per
// batch; the masked images are made here. One invocation per element of y; no tiling.
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let chw = u.c * u.hw;
  let r = i % chw;
  y[i] = x[r] * masks[(i / chw) * u.hw + r % u.hw];
}
