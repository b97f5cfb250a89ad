// binary: elementwise y = a + b (MUL variant: a * b) over tensors of the same shape.
// ACC variant accumulates into the output: y = y + a (for sums of three or more inputs).
// One invocation per output element.
// REGION (region mode, engine/region.ts; residual adds): a, b and y are each a clean prefix [C][H][W]
// followed by the batch's rectangles [N][C][rh][rw], each with its own size (rhA×rwA, ...), offset
// (rbA, ...) and per-image origins (org[orgA + 2b], ...). y's rectangle is the hull of a's and b's;
// one invocation per element of it reads each operand from its own rectangle where that covers the
// pixel, else from its clean prefix (a whole-map operand is a rectangle of the map's size at origin 0).
override WG: u32 = 64;

//#if REGION
// #include "region_index.wgsl"
//#endif

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
//#if REGION
  let px = i % u.rwOut;
  let py = (i / u.rwOut) % u.rhOut;
  let q = i / (u.rwOut * u.rhOut);
  let c = q % u.c;
  let bi = q / u.c;
  let iy = org[u.orgOut + 2u * bi] + i32(py);
  let ix = org[u.orgOut + 2u * bi + 1u] + i32(px);
  let plane = c * u.h * u.w;
  let av = a[regionIndex(iy, ix, u.w, plane, u.rbA + (bi * u.c + c) * u.rhA * u.rwA, org[u.orgA + 2u * bi], org[u.orgA + 2u * bi + 1u], u.rhA, u.rwA)];
  let bv = b[regionIndex(iy, ix, u.w, plane, u.rbB + (bi * u.c + c) * u.rhB * u.rwB, org[u.orgB + 2u * bi], org[u.orgB + 2u * bi + 1u], u.rhB, u.rwB)];
//#if MUL
  y[u.rbOut + i] = av * bv;
//#else
  y[u.rbOut + i] = av + bv;
//#endif
//#else
//#if ACC
  y[i] = y[i] + a[i];
//#else
//#if MUL
  y[i] = a[i] * b[i];
//#else
  y[i] = a[i] + b[i];
//#endif
//#endif
//#endif
}
