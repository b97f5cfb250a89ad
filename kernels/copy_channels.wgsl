// copy_channels: writes x [N, cx, hw] into y [N, cy, hw] at channel offset c0 (concat along axis 1;
// a plain copy with cx = cy and c0 = 0). Image n's block of x, cx·hw values, is contiguous and lands
// contiguous at y[(n·cy + c0)·hw ..]: with blk = cx·hw, ystride = cy·hw and off = c0·hw, value i
// goes to n·ystride + off + (i − n·blk), n = i / blk. One division per invocation, not the three of
// an (image, channel, pixel) index: lavapipe compiles a u32 division by a uniform to a long per-lane
// sequence, and three of them held the copy to ~0.7 GB/s (16 % of SqueezeNet's batch-16 forward).
// VEC4: the same over vec4s (total, blk, ystride and off in vec4s), where blk, ystride and off are
// all multiples of 4 (engine/ops/structure.ts checks): a quarter of the invocations and divisions,
// and 16-byte loads and stores.
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let n = i / u.blk;
//#if VEC4
  let v: vec4f = x[i]; // (typed: the bindings must be array<vec4f> in this variant)
//#else
  let v: f32 = x[i];
//#endif
  y[n * u.ystride + u.off + (i - n * u.blk)] = v;
}
