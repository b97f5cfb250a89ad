// channel_affine: per-channel y = x * scale[c] + shift[c] over NCHW (plane = hw elements); a
// parameter with a single entry applies to every channel (scaleMod / shiftMod = 1, else C).
// The PRELU variant computes y = x > 0 ? x : x * scale[c] instead (shift is bound but unused).
// One invocation per output element.
// REGION (region mode, engine/region.ts; BatchNorm that could not be folded, Scale, PReLU): the op
// is pointwise in space, so the rectangle stays the same: x's and y's rectangles [N][C][rh][rw] sit
// at floats rbIn and rbOut after their clean prefixes (y's written by setClean), hw is rh·rw, and
// only the rectangles are computed.
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let c = (i / u.hw) % u.c;
//#if REGION
  let v = x[u.rbIn + i];
  let o = u.rbOut + i;
//#else
  let v = x[i];
  let o = i;
//#endif
//#if PRELU
  _ = shift[0]; // keeps the binding in the auto layout
  y[o] = select(v * scale[c % u.scaleMod], v, v > 0.0);
//#else
  var r = v;
  if (u.hasScale == 1u) { r = r * scale[c % u.scaleMod]; }
  if (u.hasShift == 1u) { r = r + shift[c % u.shiftMod]; }
  y[o] = r;
//#endif
}
