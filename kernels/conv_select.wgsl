// conv_select: one output channel of a conv per image, the channel chosen per image by
// goal[2·b] (MaxOut optimises one channel or unit per batch entry, so the layer's other
// channels need not be computed: for a first layer this is most of the step's work).
//   forward:  y[b, oy, ox] = bias[k] + Σ_{ci, ky, kx} wt[k, ci, ky, kx] · x[b, g·cpg + ci, oy·sh − pt + ky·dh, ox·sw − pl + kx·dw]
//             with k = goal[2·b] and g = k / opg its group (cpg input, opg output channels per group)
//   BACKWARD: the gradient with respect to x (all c channels, zero outside the group), x here being
//             the gradient at y (B × OH × OW), gathered per input pixel and group of four channels.
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
//#if BACKWARD
  // one thread per input pixel and group of up to four input channels (they share the taps)
  let groups = (u.c + 3u) / 4u;
  let ix = i32(i % u.w);
  let iy = i32((i / u.w) % u.h);
  let c0 = ((i / (u.w * u.h)) % groups) * 4u;
  let b = i / (u.w * u.h * groups);
  let k = u32(goal[2u * b]);
  let g0 = (k / u.opg) * u.cpg;
  var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  // the taps that reach an output: undilated, ky ≡ iy + pt (mod the stride), the output row
  // falling by one at each; dilated, every tap, checked
  let dense = u.dh == 1u && u.dw == 1u;
  let ystep = select(1u, u.sh, dense);
  let xstep = select(1u, u.sw, dense);
  let ky0 = select(0u, u32(iy + i32(u.pt)) % u.sh, dense);
  let kx0 = select(0u, u32(ix + i32(u.pl)) % u.sw, dense);
  for (var ky = ky0; ky < u.kh; ky += ystep) {
    let ty = iy + i32(u.pt) - i32(ky * u.dh);
    if (ty < 0) { break; }
    if (!dense && ty % i32(u.sh) != 0) { continue; }
    let oy = ty / i32(u.sh);
    if (oy >= i32(u.oh)) { continue; }
    let row = (b * u.oh + u32(oy)) * u.ow;
    for (var kx = kx0; kx < u.kw; kx += xstep) {
      let tx = ix + i32(u.pl) - i32(kx * u.dw);
      if (tx < 0) { break; }
      if (!dense && tx % i32(u.sw) != 0) { continue; }
      let ox = tx / i32(u.sw);
      if (ox >= i32(u.ow)) { continue; }
      let gv = x[row + u32(ox)];
      for (var cc = 0u; cc < 4u; cc++) {
        let ci = c0 + cc;
        if (ci >= g0 && ci < g0 + u.cpg) {
          acc[cc] += gv * wt[((k * u.cpg + ci - g0) * u.kh + ky) * u.kw + kx];
        }
      }
    }
  }
  for (var cc = 0u; cc < min(4u, u.c - c0); cc++) {
    y[((b * u.c + c0 + cc) * u.h + u32(iy)) * u.w + u32(ix)] = acc[cc];
  }
//#else
  let ox = i32(i % u.ow);
  let oy = i32((i / u.ow) % u.oh);
  let b = i / (u.ow * u.oh);
  let k = u32(goal[2u * b]);
  let g0 = (k / u.opg) * u.cpg;
  var acc = 0.0;
//#if HAS_BIAS
  acc = bias[k];
//#endif
  for (var ci = 0u; ci < u.cpg; ci++) {
    let xbase = (b * u.c + g0 + ci) * u.h * u.w;
    let wbase = (k * u.cpg + ci) * u.kh * u.kw;
    for (var ky = 0u; ky < u.kh; ky++) {
      let iy = oy * i32(u.sh) - i32(u.pt) + i32(ky * u.dh);
      if (iy < 0 || iy >= i32(u.h)) { continue; }
      for (var kx = 0u; kx < u.kw; kx++) {
        let ix = ox * i32(u.sw) - i32(u.pl) + i32(kx * u.dw);
        if (ix < 0 || ix >= i32(u.w)) { continue; }
        acc += x[xbase + u32(iy) * u.w + u32(ix)] * wt[wbase + ky * u.kw + kx];
      }
    }
  }
  y[i] = acc;
//#endif
}
