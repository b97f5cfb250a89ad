// fc: fully connected y[n,o] = b[o] + sum_i x[n,i] * w[o,i]; x is [N, in] (flattened), w is [out, in].
// A workgroup of WG threads computes one output o for one image n: each thread sums a strided slice
// of the dot product and the partial sums are reduced in workgroup memory, so long rows (AlexNet fc6:
// 9216) run in parallel. Weights larger than one storage binding (AlexNet fc6: 151 MB) are split by
// rows: a dispatch then covers outputs [oOffset, oOffset + outF) of outTotal, with w and b holding
// just those rows. Variants: HAS_BIAS, RELU.
override WG: u32 = 64;
var<workgroup> part: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32, @builtin(num_workgroups) nwg: vec3u) {
  let idx = wid.x + wid.y * nwg.x; // one workgroup per (n, o)
  let valid = idx < u.n * u.outF;
  let o = idx % u.outF;
  let n = idx / u.outF;
  var s = 0.0;
  if (valid) {
    let xb = n * u.inF;
    let wb = o * u.inF;
    for (var i = t; i < u.inF; i += WG) { s += x[xb + i] * wt[wb + i]; }
  }
  part[t] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (t < stride) { part[t] += part[t + stride]; }
    workgroupBarrier();
  }
  if (t == 0u && valid) {
    var r = part[0];
//#if HAS_BIAS
    r += bias[o];
//#endif
//#if RELU
    r = max(r, 0.0);
//#endif
    y[n * u.outTotal + u.oOffset + o] = r;
  }
}
