// The sum of one f32 per invocation over a workgroup of WG invocations (WG a power of two): a tree
// in workgroup memory, deterministic and without atomics. It has barriers, so every invocation of
// the workgroup calls it, from uniform control flow (the callers keep a `valid` flag instead of
// returning early). For the kernels that give one workgroup per output value (channel_sum,
// conv2d_weight_grad, mse).
var<workgroup> wgPart: array<f32, WG>;

fn workgroupSum(t: u32, s: f32) -> f32 {
  wgPart[t] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (t < stride) { wgPart[t] += wgPart[t + stride]; }
    workgroupBarrier();
  }
  return wgPart[0];
}
