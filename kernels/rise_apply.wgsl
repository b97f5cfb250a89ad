// rise_apply: the masked copies of one image, RISE's perturbed batch, made on the GPU:
// y[b, c, q] = x[c, q] · M_b[q] + fill[c, q] · (1 − M_b[q]) (fill: black, the image's mean colour or
// a blurred copy, in the network's units). Layout: x and fill [C][H·W], masks [n][H·W], y [n][C][H·W]
// (the model plan's input); range = [first mask, n]. One invocation per element of y. Separate from
// rise_masks so that each mask is hashed once, not once per channel, and stays in its buffer for
// rise_accumulate's sum after the model has scored the batch.
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  let chw = u.c * u.hw;
  if (i >= range[1] * chw) { return; }
  let r = i % chw;
  let m = masks[(i / chw) * u.hw + r % u.hw];
  y[i] = x[r] * m + fill[r] * (1.0 - m);
}
