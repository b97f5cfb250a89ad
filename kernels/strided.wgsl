// strided: gathers and reductions through strided views, one invocation per element j of y. The
// multi-index of j runs over the kept dims d0..d5 and each of its count = Π r_k terms over the
// reduced dims r0..r5 (row-major, rank ≤ 6, unused leading dims 1; on every axis one of d_k, r_k is
// 1); a term's full index idx_k + ridx_k reads a at offset + Σ_k (idx_k + ridx_k)·sa_k and b at
// Σ_k (idx_k + ridx_k)·sb_k. A stride of 0 repeats an operand along its axis (broadcasting), strides
// in another order transpose it, an offset starts a slice. The terms are summed in a loop: a gather,
// no atomics.
//   (default)     y[j] = scale · Σ a[…]        count 1: a gather (Transpose; ReduceMean's reverse, scale
//                                              1/count); more: ReduceMean, a broadcast Add's reverse
//   ACC:          y[j] += scale · Σ a[…]       a broadcast sum of more than two inputs
//   BINARY:       y[j] = a[…] + b[…]           count 1, scale 1: a broadcasting Add
//   BINARY & MUL: y[j] = scale · Σ a[…]·b[…]   count 1: a broadcasting Mul; more: its reverse (dy
//                                              times the other operand, summed over the broadcast axes)
override WG: u32 = 64;

/** The offsets into a and b of the multi-index of i over `dims`. */
fn offsets(i: u32, dims: array<u32, 6>) -> vec2u {
  var d = dims;
  var sa = array<u32, 6>(u.sa0, u.sa1, u.sa2, u.sa3, u.sa4, u.sa5);
  var sb = array<u32, 6>(u.sb0, u.sb1, u.sb2, u.sb3, u.sb4, u.sb5);
  var rem = i;
  var o = vec2u(0u, 0u);
  for (var k = 5; k >= 0; k--) {
    let q = rem % d[k];
    rem = rem / d[k];
    o += q * vec2u(sa[k], sb[k]);
  }
  return o;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = gid.x + gid.y * nwg.x * WG;
  if (j >= u.total) { return; }
  let base = offsets(j, array<u32, 6>(u.d0, u.d1, u.d2, u.d3, u.d4, u.d5)) + vec2u(u.offset, 0u);
  let rd = array<u32, 6>(u.r0, u.r1, u.r2, u.r3, u.r4, u.r5);
  var acc = 0.0;
  for (var t = 0u; t < u.count; t++) {
    let o = base + offsets(t, rd);
//#if BINARY
//#if MUL
    acc += a[o.x] * b[o.y];
//#else
    acc += a[o.x] + b[o.y];
//#endif
//#else
    acc += a[o.x];
//#endif
  }
//#if ACC
  y[j] = y[j] + u.scale * acc;
//#else
  y[j] = u.scale * acc;
//#endif
}
