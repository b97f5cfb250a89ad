// unpool_switches: max-pool backward, also DeconvNet's unpooling. One invocation per input element:
// dx[n,c,iy,ix] = sum of dy[n,c,oy,ox] over the pooled outputs whose window contains (iy,ix) and
// whose switch (flat index iy*W+ix within the plane, -1 = none, written by pool2d MAX+SWITCHES)
// points at it. Windows may overlap (stride < kernel), so every candidate output is visited:
// oy in [ceil((iy + pt - kh + 1) / sh), floor((iy + pt) / sh)] ∩ [0, OH), likewise ox.
override WG: u32 = 64;

// Candidate outputs along one axis whose window [o*s - p, o*s - p + k) contains i (pads p >= 0):
// o in [ceil((i + p - k + 1) / s), floor((i + p) / s)] clipped to [0, n); returned as [lo, hi).
fn span(i: i32, k: u32, s: u32, p: i32, n: u32) -> vec2i {
  let a = i + p;
  let b = a - i32(k) + 1;
  let lo = select((b + i32(s) - 1) / i32(s), 0, b <= 0);
  return vec2i(lo, min(a / i32(s) + 1, i32(n)));
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let ix = i32(i % u.w);
  let iy = i32((i / u.w) % u.h);
  let plane = i / (u.w * u.h);
  let me = iy * i32(u.w) + ix;
  let ry = span(iy, u.kh, u.sh, u.pt, u.oh);
  let rx = span(ix, u.kw, u.sw, u.pl, u.ow);
  let base = plane * u.oh * u.ow;
  var acc = 0.0;
  for (var oy = ry.x; oy < ry.y; oy++) {
    for (var ox = rx.x; ox < rx.y; ox++) {
      let o = base + u32(oy) * u.ow + u32(ox);
      if (switches[o] == me) { acc += dy[o]; }
    }
  }
  dx[i] = acc;
}
