// strided: a gather through strided views, one invocation per element o of y. The multi-index of o
// runs over the dims d0..d5 (row-major, rank ≤ 6, unused leading dims 1), and operand a is read at
// offset + Σ_k idx_k·sa_k: a stride of 0 repeats a along that axis (broadcasting), strides taken in
// another order transpose it, the offset starts a slice.
//   (default) y[o] = scale · a[…]          (Transpose; ReduceMean's reverse, scale 1/count)
//   ACC:      y[o] = y[o] + scale · a[…]   (a broadcast sum of more than two inputs)
//   BINARY:   y[o] = a[…] + b[Σ_k idx_k·sb_k], MUL: a[…] · b[…]   (broadcasting Add and Mul)
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = gid.x + gid.y * nwg.x * WG;
  if (o >= u.total) { return; }
  var d = array<u32, 6>(u.d0, u.d1, u.d2, u.d3, u.d4, u.d5);
  var sa = array<u32, 6>(u.sa0, u.sa1, u.sa2, u.sa3, u.sa4, u.sa5);
  var ia = u.offset;
//#if BINARY
  var sb = array<u32, 6>(u.sb0, u.sb1, u.sb2, u.sb3, u.sb4, u.sb5);
  var ib = 0u;
//#endif
  var rem = o;
  for (var k = 5; k >= 0; k--) {
    let q = rem % d[k];
    rem = rem / d[k];
    ia += q * sa[k];
//#if BINARY
    ib += q * sb[k];
//#endif
  }
//#if BINARY
//#if MUL
  y[o] = a[ia] * b[ib];
//#else
  y[o] = a[ia] + b[ib];
//#endif
//#else
//#if ACC
  y[o] = y[o] + u.scale * a[ia];
//#else
  y[o] = u.scale * a[ia];
//#endif
//#endif
}
