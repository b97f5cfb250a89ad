// col2im: the scatter-free second half of a conv's input gradient. Given the columns
// cols[n, c*KH*KW + ky*KW + kx, oy, ox] = Σ_co w[co, c, ky, kx] · dy[n, co, oy, ox] (one GEMM, run
// as a 1×1 conv), the input gradient gathers every tap that read input pixel (iy, ix):
//   dx[n, c, iy, ix] = Σ_{ky,kx} cols[n, c·KH·KW + ky·KW + kx, oy, ox]
//   where oy·sh = iy + pt − ky·dh and ox·sw = ix + pl − kx·dw (whole, inside the output).
// Any stride, padding (even larger than the kernel) and dilation. One invocation per dx element.
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let ix = i32(i % u.w);
  let iy = i32((i / u.w) % u.h);
  let c = (i / (u.w * u.h)) % u.c;
  let n = i / (u.w * u.h * u.c);
  let taps = u.kh * u.kw;
  let ohw = u.oh * u.ow;
  let base = (n * u.c + c) * taps * ohw;
  var acc = 0.0;
  for (var ky = 0u; ky < u.kh; ky++) {
    let ty = iy + u.pt - i32(ky * u.dh);
    if (ty < 0 || ty % i32(u.sh) != 0) { continue; }
    let oy = u32(ty) / u.sh;
    if (oy >= u.oh) { continue; }
    for (var kx = 0u; kx < u.kw; kx++) {
      let tx = ix + u.pl - i32(kx * u.dw);
      if (tx < 0 || tx % i32(u.sw) != 0) { continue; }
      let ox = u32(tx) / u.sw;
      if (ox >= u.ow) { continue; }
      acc += cols[base + (ky * u.kw + kx) * ohw + oy * u.ow + ox];
    }
  }
  dx[i] = acc;
}
