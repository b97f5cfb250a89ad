// channel_affine: per-channel y = x * scale[c] + shift[c] over NCHW (plane = hw elements); a
// parameter with a single entry applies to every channel (scaleMod / shiftMod = 1, else C).
// The PRELU variant computes y = x > 0 ? x : x * scale[c] instead (shift is bound but unused).
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let c = (i / u.hw) % u.c;
  let v = x[i];
//#if PRELU
  _ = shift[0]; // keeps the binding in the auto layout
  y[i] = select(v * scale[c % u.scaleMod], v, v > 0.0);
//#else
  var r = v;
  if (u.hasScale == 1u) { r = r * scale[c % u.scaleMod]; }
  if (u.hasShift == 1u) { r = r + shift[c % u.shiftMod]; }
  y[i] = r;
//#endif
}
