// split_channels: the reverse of copy_channels (concat backward): dx [N, cx, hw] = channels
// [c0, c0 + cx) of dy [N, cy, hw]. ACC variant accumulates (dx += slice), for values read by
// several consumers whose gradients must be summed. PAD variant is the reverse of a channel slice
// (cx > cy): dx holds dy [N, cy, hw] in channels [c0, c0 + cy) and 0 in every other channel.
// One invocation per dx element. Without PAD, image n's block of dx (blk = cx·hw values) is
// contiguous in dy at n·ystride + off (ystride = cy·hw, off = c0·hw): one division per value, as in
// copy_channels, instead of the three of an (image, channel, pixel) index.
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
//#if PAD
  let p = i % u.hw;
  let c = (i / u.hw) % u.cx;
  let n = i / (u.hw * u.cx);
  let inside = c >= u.c0 && c < u.c0 + u.cy;
  let v = select(0.0, dy[(n * u.cy + select(0u, c - u.c0, inside)) * u.hw + p], inside);
//#else
  let n = i / u.blk;
  let v = dy[n * u.ystride + u.off + (i - n * u.blk)];
//#endif
//#if ACC
  dx[i] = dx[i] + v;
//#else
  dx[i] = v;
//#endif
}
