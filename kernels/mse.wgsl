// mse: the decoders' pixel loss, per image: y[n] = Σ_i (x[n,i] − t[n,i])² / M over the M values of
// an image (spec/reference.ts pixelLoss's definition; its batch mean is the Trainer's 1/N seed).
// x: [N, M] (any shape, batch first), t: the target parameter (room for at least N images, same
// layout), y: [N]. One workgroup per image: WG threads stride over the M values and sum them
// (kernels/lib/workgroup_sum.wgsl).
override WG: u32 = 64;

// #include "workgroup_sum.wgsl"

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
  let sum = workgroupSum(i, s);
  if (i == 0u && valid) { y[n] = sum / f32(u.m); }
}
