// conv2d_weight_grad: the weight gradient of conv2d (reverse pass), w and x as in conv2d_direct.
// dW[co,c,ky,kx] = sum_{n,oy,ox} dy[n,co,oy,ox] * x[n, g*cinPerGroup + c, oy*sh - pt + ky*dh, ox*sw - pl + kx*dw]
// with g = co / coutPerGroup (taps outside x contribute nothing). One workgroup per weight element:
// its WG threads stride over the n*OH*OW terms and the partial sums are summed by
// kernels/lib/workgroup_sum.wgsl (a tree in workgroup memory, deterministic, no atomics).
// Workgroups are folded into y past 65535 (idx from num_workgroups).
override WG: u32 = 64;

// #include "workgroup_sum.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32, @builtin(num_workgroups) nwg: vec3u) {
  let idx = wid.x + wid.y * nwg.x; // one workgroup per weight element [co, c, ky, kx]
  let valid = idx < u.total;
  let kx = idx % u.kw;
  let ky = (idx / u.kw) % u.kh;
  let c = (idx / (u.kw * u.kh)) % u.cinPerGroup;
  let co = idx / (u.kw * u.kh * u.cinPerGroup);
  let ci = (co / u.coutPerGroup) * u.cinPerGroup + c;
  let ohw = u.oh * u.ow;
  let offY = i32(ky * u.dh) - u.pt;
  let offX = i32(kx * u.dw) - u.pl;
  var s = 0.0;
  if (valid) {
    let terms = u.nimg * ohw;
    for (var k = t; k < terms; k += WG) {
      let n = k / ohw;
      let p = k % ohw;
      let iy = i32((p / u.ow) * u.sh) + offY;
      let ix = i32((p % u.ow) * u.sw) + offX;
      if (iy < 0 || iy >= i32(u.h) || ix < 0 || ix >= i32(u.w)) { continue; }
      s += dy[(n * u.cout + co) * ohw + p] * x[((n * u.cin + ci) * u.h + u32(iy)) * u.w + u32(ix)];
    }
  }
  let sum = workgroupSum(t, s);
  if (t == 0u && valid) { dw[idx] = sum; }
}
