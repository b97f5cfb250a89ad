// fft_lines: a complex FFT of length n = 2^logn along every line of a batch of planes, lpw lines
// per workgroup (lpw·n ≤ 1024), in workgroup memory (radix-2, decimation in time: the line is loaded in
// bit-reversed order, then logn butterfly stages, each followed by a barrier).
//   y[k] = mul · Σ_t x[t] · e^(sign·2πi·k·t/n)     (sign −1: the forward DFT, +1: the inverse, unnormalised)
// Line L starts at element (L / inner)·inner·n + L % inner and steps by `inner`: inner = 1 runs
// along rows (contiguous), inner = the row length runs along columns. The twiddles come from
// tw[j] = e^(−2πi·j/m), j < m/2, for an m = n·tws (a power of two at least n); sign +1 conjugates
// them.
override WG: u32 = 64;
const MAXN: u32 = 1024u;
var<workgroup> buf: array<vec2f, MAXN>;

fn cmul(a: vec2f, b: vec2f) -> vec2f {
  return vec2f(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  // this workgroup's lines: lpw of them (MAXN / n), so that short lines share the barriers.
  // n and inner are powers of two: shifts and masks, not divisions
  let first = (wid.x + wid.y * nwg.x) * u.lpw;
  if (first >= u.lines) { return; }
  let n = 1u << u.logn;
  let count = min(u.lpw, u.lines - first);
  let imask = u.inner - 1u;
  let ishift = countTrailingZeros(u.inner);
  for (var t = lid; t < count * n; t += WG) {
    let line = first + (t >> u.logn);
    let e = ((line >> ishift) << (ishift + u.logn)) + (line & imask) + (t & (n - 1u)) * u.inner;
    buf[(t & ~(n - 1u)) + (reverseBits(t & (n - 1u)) >> (32u - u.logn))] = x[e];
  }
  workgroupBarrier();
  let conj = vec2f(1.0, -u.sign);
  let hbits = u.logn - 1u;
  for (var s = 1u; s <= u.logn; s++) {
    let half = 1u << (s - 1u);
    // e^(sign·πi·j/half) = tw[j · m/(2·half)], conjugated for sign +1 (tw holds e^(−2πi·j/m))
    let step = (n >> s) * u.tws;
    for (var q = lid; q < count << hbits; q += WG) {
      let k = q & ((1u << hbits) - 1u);
      let j = k & (half - 1u);
      let i0 = ((q >> hbits) << u.logn) + ((k >> (s - 1u)) << s) + j;
      let b = cmul(buf[i0 + half], tw[j * step] * conj);
      let a = buf[i0];
      buf[i0] = a + b;
      buf[i0 + half] = a - b;
    }
    workgroupBarrier();
  }
  for (var t = lid; t < count * n; t += WG) {
    let line = first + (t >> u.logn);
    let e = ((line >> ishift) << (ishift + u.logn)) + (line & imask) + (t & (n - 1u)) * u.inner;
    y[e] = buf[t] * u.mul;
  }
}
