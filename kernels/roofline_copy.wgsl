// roofline_copy: the adapter's memory bandwidth, the memory ceiling of `loupe bench`'s roofline
// (engine/roofline.ts). dst[i] = src[i] over vec4 arrays, one vec4 per invocation: 16 bytes read
// and 16 written per invocation and no arithmetic, so memory-bound by construction. The bench copies
// buffers of 64 MiB each way (or what one storage binding allows), more than the last-level cache
// of any GPU or CPU it runs on, so the traffic goes to memory. Bytes moved = 32 × u.total.
// Flat index rebuilt from num_workgroups: past 65535 workgroups x is folded into y.
override WG: u32 = 256;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  dst[i] = src[i];
}
