// conv_weights_gemm: one-time re-layout of conv weights [Cout, Cin/g, KH, KW] into the K×M panels
// conv2d_gemm reads: wt[g][ky][kx][ci][coPad], Cout/g padded with zero rows up to coPad.
// Run once per model when the derived buffer is created (engine/conv.ts).
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let co = i % u.coPad;
  var r = i / u.coPad;
  let ci = r % u.cinPg;
  r /= u.cinPg;
  let kx = r % u.kw;
  r /= u.kw;
  let ky = r % u.kh;
  let g = r / u.kh;
  var v = 0.0;
  if (co < u.coutPg) { v = w[(((g * u.coutPg + co) * u.cinPg + ci) * u.kh + ky) * u.kw + kx]; }
  wt[i] = v;
}
