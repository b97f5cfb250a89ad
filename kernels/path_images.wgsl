// path_images: a batch of points on the straight path from a baseline b to an image x
// (Integrated Gradients, Sundararajan et al.): y[j, i] = b[i] + alpha[first + j] · (x[i] − b[i]).
// Layout: x and b are one image [C·H·W]; alpha holds every step's position on the path (uploaded
// once per run); y is the batch [n][C·H·W], image j at step first + j, so a long path runs as
// batches of whatever the recording fits with only `first` changing. One invocation per output
// element (WG of them per workgroup): the op is a pure stream, nothing to tile.
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let r = i % u.per;
  let a = alpha[u.first + i / u.per];
  y[i] = b[r] + a * (x[r] - b[r]);
}
