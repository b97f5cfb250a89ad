// mse: the decoders' pixel loss, per image: y[n] = Σ_i (x[n,i] − t[n,i])² / M over the M values of
// an image (engine/upconv.ts pixelLoss's definition; its batch mean is the Trainer's 1/N seed).
// x: [N, M] (any shape, batch first), t: the target parameter (room for at least N images, same
// layout), y: [N]. One workgroup per image: WG threads stride over the M values and tree-reduce in
// workgroup memory (deterministic, no atomics), as channel_sum.wgsl.
override WG: u32 = 64;
var<workgroup> part: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) i: u32, @builtin(num_workgroups) nwg: vec3u) {
  let n = wid.x + wid.y * nwg.x;
  let valid = n < u.n;
  var s = 0.0;
  if (valid) {
    let base = n * u.m;
    for (var k = i; k < u.m; k += WG) {
      let d = x[base + k] - t[base + k];
      s += d * d;
    }
  }
  part[i] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (i < stride) { part[i] += part[i + stride]; }
    workgroupBarrier();
  }
  if (i == 0u && valid) { y[n] = part[0] / f32(u.m); }
}
