// roofline_copy: the adapter's memory bandwidth, the memory ceiling of `loupe bench`'s roofline
// (engine/roofline.ts). dst[i] = src[i] over vec4 arrays, one vec4 per invocation: 16 bytes read
// and 16 written per invocation and no arithmetic, so memory-bound by construction. The bench copies
// buffers of 256 MiB each way (or what one storage binding allows): together more than the largest
// last-level cache of a GPU (AMD's 256 MB Infinity Cache) or CPU, so the traffic goes to memory.
// Bytes moved = 32 × u.total.
// Flat index rebuilt from num_workgroups: past 65535 workgroups x is folded into y.
override WG: u32 = 256;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  dst[i] = src[i];
}
