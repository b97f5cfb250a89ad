// affine_sample: a batch of H×W images sampled bilinearly from periodic Sy×Sx canvases (the
// Fourier images are periodic) through one affine map, the step's random scale, rotation and
// shift: pixel (i, j) reads the canvas at u = A·(i, j) + t, wrapped. ADJOINT is the exact
// transpose, gathered per canvas texel q (no atomics): the sum of w(p, q)·x[p] over the image
// pixels p whose bilinear footprint holds q, w = (1 − |u_0 − q_0|)(1 − |u_1 − q_1|).
// One thread per pixel does all c channels, and one per texel up to four: they share the geometry.
// tf = [A00, A01, A10, A11, t0, t1, inverse A00, A01, A10, A11, u0 min, u0 max, u1 min, u1 max]
// (the last four bound u over the image, so the adjoint visits only the wraps that occur).
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let k = gid.x + gid.y * nwg.x * WG;
  if (k >= u.total) { return; }
  let sy = i32(u.sy);
  let sx = i32(u.sx);
//#if ADJOINT
  // k indexes the canvases' texels: image, group of up to four channels, texel (q0, q1)
  let groups = (u.c + 3u) / 4u;
  let b = k / (u.sy * u.sx * groups);
  let c0 = ((k / (u.sy * u.sx)) % groups) * 4u;
  let cn = min(u.c - c0, 4u);
  let q0 = i32((k / u.sx) % u.sy);
  let q1 = i32(k % u.sx);
  let img = (b * u.c + c0) * u.h * u.w;
  let hw = u.h * u.w;
  // the image pixels whose u lies within 1 of a texel lie within e of A⁻¹(texel − t)
  let e0 = abs(tf[6]) + abs(tf[7]);
  let e1 = abs(tf[8]) + abs(tf[9]);
  var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  let m0lo = i32(ceil((tf[10] - 1.0 - f32(q0)) / f32(sy)));
  let m0hi = i32(floor((tf[11] + 1.0 - f32(q0)) / f32(sy)));
  let m1lo = i32(ceil((tf[12] - 1.0 - f32(q1)) / f32(sx)));
  let m1hi = i32(floor((tf[13] + 1.0 - f32(q1)) / f32(sx)));
  for (var m0 = m0lo; m0 <= m0hi; m0++) {
    for (var m1 = m1lo; m1 <= m1hi; m1++) {
      let Q = vec2f(f32(q0 + m0 * sy), f32(q1 + m1 * sx));
      let d = Q - vec2f(tf[4], tf[5]);
      let c0 = tf[6] * d.x + tf[7] * d.y;
      let c1 = tf[8] * d.x + tf[9] * d.y;
      let ilo = max(i32(ceil(c0 - e0)), 0);
      let ihi = min(i32(floor(c0 + e0)), i32(u.h) - 1);
      let jlo = max(i32(ceil(c1 - e1)), 0);
      let jhi = min(i32(floor(c1 + e1)), i32(u.w) - 1);
      for (var i = ilo; i <= ihi; i++) {
        for (var j = jlo; j <= jhi; j++) {
          let u0 = tf[0] * f32(i) + tf[1] * f32(j) + tf[4];
          let u1 = tf[2] * f32(i) + tf[3] * f32(j) + tf[5];
          let w0 = 1.0 - abs(u0 - Q.x);
          let w1 = 1.0 - abs(u1 - Q.y);
          if (w0 > 0.0 && w1 > 0.0) {
            let at = img + u32(i) * u.w + u32(j);
            for (var c = 0u; c < cn; c++) {
              acc[c] += w0 * w1 * x[at + c * hw];
            }
          }
        }
      }
    }
  }
  let out = (b * u.c + c0) * u.sy * u.sx + u32(q0) * u.sx + u32(q1);
  for (var c = 0u; c < cn; c++) {
    y[out + c * u.sy * u.sx] = acc[c];
  }
//#else
  // k indexes the images' pixels: image, pixel (i, j)
  let b = k / (u.h * u.w);
  let i = f32((k / u.w) % u.h);
  let j = f32(k % u.w);
  let u0 = tf[0] * i + tf[1] * j + tf[4];
  let u1 = tf[2] * i + tf[3] * j + tf[5];
  let f0 = floor(u0);
  let f1 = floor(u1);
  let a0 = u0 - f0;
  let a1 = u1 - f1;
  let r0 = ((i32(f0) % sy) + sy) % sy;
  let r1 = (r0 + 1) % sy;
  let c0 = ((i32(f1) % sx) + sx) % sx;
  let c1 = (c0 + 1) % sx;
  let P = u.sy * u.sx;
  for (var c = 0u; c < u.c; c++) {
    let cv = (b * u.c + c) * P;
    let v00 = x[cv + u32(r0 * sx + c0)];
    let v01 = x[cv + u32(r0 * sx + c1)];
    let v10 = x[cv + u32(r1 * sx + c0)];
    let v11 = x[cv + u32(r1 * sx + c1)];
    y[(b * u.c + c) * u.h * u.w + k % (u.h * u.w)] = (1.0 - a0) * ((1.0 - a1) * v00 + a1 * v01) + a0 * ((1.0 - a1) * v10 + a1 * v11);
  }
//#endif
}
