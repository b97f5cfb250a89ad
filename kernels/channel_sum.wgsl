// channel_sum: db[c] = sum_{n,p} dy[n,c,p] over dy [N, C, hw] (the bias gradient of conv2d and fc;
// fc's dy is [N, out] with hw = 1). One workgroup per channel: WG threads stride over the N*hw
// terms and sum them (kernels/lib/workgroup_sum.wgsl: a tree in workgroup memory, no atomics).
override WG: u32 = 64;

// #include "workgroup_sum.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32, @builtin(num_workgroups) nwg: vec3u) {
  let c = wid.x + wid.y * nwg.x;
  let valid = c < u.channels;
  var s = 0.0;
  if (valid) {
    let terms = u.nimg * u.hw;
    for (var k = t; k < terms; k += WG) {
      s += dy[((k / u.hw) * u.channels + c) * u.hw + k % u.hw];
    }
  }
  let sum = workgroupSum(t, s);
  if (t == 0u && valid) { db[c] = sum; }
}
