// avgpool_backward: the adjoint of pool2d's average path. One invocation per input element:
// dx[n,c,iy,ix] = sum over the outputs (oy,ox) whose window contains (iy,ix) of dy[n,c,oy,ox] / cnt,
// cnt as in pool2d.wgsl: the window clipped to the padded extent [-pt, hEnd) × [-pl, wEnd) when
// countPad = 1, else the number of real input pixels in it. Candidate outputs along an axis:
// o in [ceil((i + p - k + 1) / s), floor((i + p) / s)] ∩ [0, n).
override WG: u32 = 64;

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
  let ry = span(iy, u.kh, u.sh, u.pt, u.oh);
  let rx = span(ix, u.kw, u.sw, u.pl, u.ow);
  let base = plane * u.oh * u.ow;
  var acc = 0.0;
  for (var oy = ry.x; oy < ry.y; oy++) {
    let ys = oy * i32(u.sh) - u.pt;
    var ch = min(ys + i32(u.kh), i32(u.h)) - max(ys, 0);
    if (u.countPad == 1u) { ch = min(ys + i32(u.kh), u.hEnd) - ys; }
    for (var ox = rx.x; ox < rx.y; ox++) {
      let xs = ox * i32(u.sw) - u.pl;
      var cw = min(xs + i32(u.kw), i32(u.w)) - max(xs, 0);
      if (u.countPad == 1u) { cw = min(xs + i32(u.kw), u.wEnd) - xs; }
      acc += dy[base + u32(oy) * u.ow + u32(ox)] / f32(ch * cw);
    }
  }
  dx[i] = acc;
}
