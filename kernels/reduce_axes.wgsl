// reduce_axes: a gather-form reduction over axes, one invocation per element j of y, looping over
// its terms (no atomics, deterministic). The multi-index of j runs over the kept dims d0..d5 and the
// term r (0 ≤ r < count = Π r_k) over the reduced dims r0..r5 (row-major, rank ≤ 6; on each axis one
// of d_k, r_k is 1), and the term's full index (idx_k + ridx_k) reads a through the strides sa_k:
//   (default) y[j] = scale · Σ_r a[…]            (ReduceMean, scale 1/count; the reverse of a
//                                                broadcast Add: dy summed over the broadcast axes)
//   MUL:      y[j] = scale · Σ_r a[…] · b[…sb…]  (the reverse of a broadcast Mul: dy times the
//                                                other operand, summed over the broadcast axes)
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = gid.x + gid.y * nwg.x * WG;
  if (j >= u.total) { return; }
  var d = array<u32, 6>(u.d0, u.d1, u.d2, u.d3, u.d4, u.d5);
  var rd = array<u32, 6>(u.r0, u.r1, u.r2, u.r3, u.r4, u.r5);
  var sa = array<u32, 6>(u.sa0, u.sa1, u.sa2, u.sa3, u.sa4, u.sa5);
  var ia0 = 0u;
//#if MUL
  var sb = array<u32, 6>(u.sb0, u.sb1, u.sb2, u.sb3, u.sb4, u.sb5);
  var ib0 = 0u;
//#endif
  var rem = j;
  for (var k = 5; k >= 0; k--) {
    let q = rem % d[k];
    rem = rem / d[k];
    ia0 += q * sa[k];
//#if MUL
    ib0 += q * sb[k];
//#endif
  }
  var acc = 0.0;
  for (var r = 0u; r < u.count; r++) {
    var ia = ia0;
//#if MUL
    var ib = ib0;
//#endif
    var t = r;
    for (var k = 5; k >= 0; k--) {
      let q = t % rd[k];
      t = t / rd[k];
      ia += q * sa[k];
//#if MUL
      ib += q * sb[k];
//#endif
    }
//#if MUL
    acc += a[ia] * b[ib];
//#else
    acc += a[ia];
//#endif
  }
  y[j] = u.scale * acc;
}
