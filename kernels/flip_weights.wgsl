// flip_weights: the filters of a group-1 conv's input gradient. For a stride-1 conv, dx is a conv
// of dy with the weights transposed (Cin <-> Cout) and flipped in space:
// wt[ci, co, ky, kx] = w[co, ci, KH-1-ky, KW-1-kx], w [Cout, Cin, KH, KW] -> wt [Cin, Cout, KH, KW].
// Run after every optimiser step (engine/train.ts), one invocation per element.
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let kx = i % u.kw;
  let ky = (i / u.kw) % u.kh;
  let co = (i / (u.kw * u.kh)) % u.cout;
  let ci = i / (u.kw * u.kh * u.cout);
  wt[i] = w[((co * u.cin + ci) * u.kh + (u.kh - 1u - ky)) * u.kw + (u.kw - 1u - kx)];
}
