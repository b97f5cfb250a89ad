// conv_weight_grad_tiled: the weight gradient of a group-1 conv2d as a register-tiled GEMM (the
// training path; conv2d_weight_grad.wgsl is the general one-workgroup-per-weight kernel).
// dW[co, r] = sum_{n, oy, ox} dy[n, co, oy, ox] * x[n, ci, oy*sh - pt + ky*dh, ox*sw - pl + kx*dw]
// with r = (ci*KH + ky)*KW + kx (dW's own layout [Cout, Cin, KH, KW]); taps outside x add nothing.
// One invocation computes a 4 (co) × 4 (r) tile over the images [s*nPer, (s+1)*nPer) of split s and
// writes it to part[s][co][r]; with splits > 1 the REDUCE variant then sums the splits in a fixed
// order (deterministic, no atomics): dW[i] = sum_s part[s*total + i].
override WG: u32 = 64;

//#if REDUCE
//#else
fn store(base: u32, m: u32, r0: u32, v: vec4f) {
  if (m >= u.cout) { return; }
  let o = base + m * u.rtot + r0;
  part[o] = v.x;
  if (r0 + 1u < u.rtot) { part[o + 1u] = v.y; }
  if (r0 + 2u < u.rtot) { part[o + 2u] = v.z; }
  if (r0 + 3u < u.rtot) { part[o + 3u] = v.w; }
}
//#endif

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
//#if REDUCE
  if (i >= u.total) { return; }
  var s = 0.0;
  for (var k = 0u; k < u.splits; k++) { s += part[k * u.total + i]; }
  dwOut[i] = s;
//#else
  let tiles = u.tilesM * u.tilesN;
  if (i >= tiles * u.splits) { return; }
  let split = i / tiles;
  let t = i % tiles;
  let m0 = (t % u.tilesM) * 4u;
  let r0 = (t / u.tilesM) * 4u;
  // The 4 columns r: their input channel and tap offsets (vectors, not arrays: no dynamic indexing).
  let khw = u.kh * u.kw;
  let rv = min(vec4u(r0) + vec4u(0u, 1u, 2u, 3u), vec4u(u.rtot - 1u));
  let cOff = (rv / khw) * (u.h * u.w);
  let offY = vec4i((rv / u.kw) % u.kh * u.dh) - vec4i(u.pt);
  let offX = vec4i(rv % u.kw * u.dw) - vec4i(u.pl);
  let okR = (vec4u(r0) + vec4u(0u, 1u, 2u, 3u)) < vec4u(u.rtot);
  let ohw = u.oh * u.ow;
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  let n0 = split * u.nPer;
  let n1 = min(n0 + u.nPer, u.nimg);
  let mLast = u.cout - 1u;
  let xLast = u.nimg * u.cin * u.h * u.w - 1u;
  for (var n = n0; n < n1; n++) {
    let xBase = vec4u(n * u.cin * u.h * u.w) + cOff;
    let d0 = (n * u.cout + min(m0, mLast)) * ohw;
    let d1 = (n * u.cout + min(m0 + 1u, mLast)) * ohw;
    let d2 = (n * u.cout + min(m0 + 2u, mLast)) * ohw;
    let d3 = (n * u.cout + min(m0 + 3u, mLast)) * ohw;
    for (var oy = 0u; oy < u.oh; oy++) {
      let iy = vec4i(i32(oy * u.sh)) + offY;
      let okY = okR & (iy >= vec4i(0)) & (iy < vec4i(i32(u.h)));
      for (var ox = 0u; ox < u.ow; ox++) {
        let ix = vec4i(i32(ox * u.sw)) + offX;
        let ok = okY & (ix >= vec4i(0)) & (ix < vec4i(i32(u.w)));
        let at = min(xBase + vec4u(max(iy, vec4i(0))) * u.w + vec4u(max(ix, vec4i(0))), vec4u(xLast));
        let xv = select(vec4f(0.0), vec4f(x[at.x], x[at.y], x[at.z], x[at.w]), ok);
        let p = oy * u.ow + ox;
        acc0 += dy[d0 + p] * xv;
        acc1 += dy[d1 + p] * xv;
        acc2 += dy[d2 + p] * xv;
        acc3 += dy[d3 + p] * xv;
      }
    }
  }
  let base = split * u.total;
  store(base, m0, r0, acc0);
  store(base, m0 + 1u, r0, acc1);
  store(base, m0 + 2u, r0, acc2);
  store(base, m0 + 3u, r0, acc3);
//#endif
}
