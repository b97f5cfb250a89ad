// roofline_fma: the adapter's peak rate of f32 fused multiply-adds, the compute ceiling of
// `loupe bench`'s roofline (engine/roofline.ts). Compute-bound by construction: invocation i reads
// nothing, runs 16 independent vec4 chains a ← fma(a, m, c) for u.iterations steps and writes one
// f32, out[i] = the sum of its accumulators. Sixteen chains so that the FMA units always have an
// independent operation to issue while earlier ones are in flight (their latency is hidden without
// relying on other invocations); vec4 so that SIMD lanes are full on a CPU adapter too. m and c come
// from the uniform, not constants, and every chain reaches the output, so the compiler can neither
// fold nor drop the work. FMAs per invocation: 64 × u.iterations; FLOPs = 2 × FMAs.
//
// The main loop does four steps of every chain per trip (the remainder, u.iterations mod 4, runs
// after it one step a trip): on a CPU adapter each trip of a loop also pays for its counter, its
// exit test and the lanes' execution mask, and with one step of 8 chains a trip (this kernel until
// 2026-12) lavapipe reached only 48–61 GFLOP/s on two cores where 16 chains × 4 steps reach
// 105–117 (scratch measurements on Mesa 25.0.7, LLVM 15, 256-bit): the lower figure was the loop's
// ceiling, not the adapter's, and it overstated every kernel's share of the peak about twice. The
// four steps are written out: an inner `for` of 4 trips in their place measured 13 % slower.
//
// Start values a_j[l] = (i mod 1024) · 2⁻¹⁰ + (4j + l) · 2⁻⁶ are exact in f32, so a CPU evaluation
// follows the same chains (spec/bench.spec.ts); they lie below 2, most below 1, so that one step more
// moves the sum far beyond rounding. With m = 1 − 2⁻¹⁰ and c = 2⁻¹⁰ (the bench's values) each chain
// contracts towards 1 and stays finite for any number of steps.
// Flat index rebuilt from num_workgroups: past 65535 workgroups x is folded into y.
override WG: u32 = 256;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let s = vec4f(f32(i % 1024u) * 0.0009765625);
  let m = vec4f(u.mul);
  let c = vec4f(u.add);
  let step = 0.015625;
  var a0 = s + vec4f(0.0, 1.0, 2.0, 3.0) * step;
  var a1 = s + vec4f(4.0, 5.0, 6.0, 7.0) * step;
  var a2 = s + vec4f(8.0, 9.0, 10.0, 11.0) * step;
  var a3 = s + vec4f(12.0, 13.0, 14.0, 15.0) * step;
  var a4 = s + vec4f(16.0, 17.0, 18.0, 19.0) * step;
  var a5 = s + vec4f(20.0, 21.0, 22.0, 23.0) * step;
  var a6 = s + vec4f(24.0, 25.0, 26.0, 27.0) * step;
  var a7 = s + vec4f(28.0, 29.0, 30.0, 31.0) * step;
  var a8 = s + vec4f(32.0, 33.0, 34.0, 35.0) * step;
  var a9 = s + vec4f(36.0, 37.0, 38.0, 39.0) * step;
  var a10 = s + vec4f(40.0, 41.0, 42.0, 43.0) * step;
  var a11 = s + vec4f(44.0, 45.0, 46.0, 47.0) * step;
  var a12 = s + vec4f(48.0, 49.0, 50.0, 51.0) * step;
  var a13 = s + vec4f(52.0, 53.0, 54.0, 55.0) * step;
  var a14 = s + vec4f(56.0, 57.0, 58.0, 59.0) * step;
  var a15 = s + vec4f(60.0, 61.0, 62.0, 63.0) * step;
  for (var k = 0u; k < u.iterations / 4u; k++) {
    a0 = fma(a0, m, c);
    a1 = fma(a1, m, c);
    a2 = fma(a2, m, c);
    a3 = fma(a3, m, c);
    a4 = fma(a4, m, c);
    a5 = fma(a5, m, c);
    a6 = fma(a6, m, c);
    a7 = fma(a7, m, c);
    a8 = fma(a8, m, c);
    a9 = fma(a9, m, c);
    a10 = fma(a10, m, c);
    a11 = fma(a11, m, c);
    a12 = fma(a12, m, c);
    a13 = fma(a13, m, c);
    a14 = fma(a14, m, c);
    a15 = fma(a15, m, c);
    a0 = fma(a0, m, c);
    a1 = fma(a1, m, c);
    a2 = fma(a2, m, c);
    a3 = fma(a3, m, c);
    a4 = fma(a4, m, c);
    a5 = fma(a5, m, c);
    a6 = fma(a6, m, c);
    a7 = fma(a7, m, c);
    a8 = fma(a8, m, c);
    a9 = fma(a9, m, c);
    a10 = fma(a10, m, c);
    a11 = fma(a11, m, c);
    a12 = fma(a12, m, c);
    a13 = fma(a13, m, c);
    a14 = fma(a14, m, c);
    a15 = fma(a15, m, c);
    a0 = fma(a0, m, c);
    a1 = fma(a1, m, c);
    a2 = fma(a2, m, c);
    a3 = fma(a3, m, c);
    a4 = fma(a4, m, c);
    a5 = fma(a5, m, c);
    a6 = fma(a6, m, c);
    a7 = fma(a7, m, c);
    a8 = fma(a8, m, c);
    a9 = fma(a9, m, c);
    a10 = fma(a10, m, c);
    a11 = fma(a11, m, c);
    a12 = fma(a12, m, c);
    a13 = fma(a13, m, c);
    a14 = fma(a14, m, c);
    a15 = fma(a15, m, c);
    a0 = fma(a0, m, c);
    a1 = fma(a1, m, c);
    a2 = fma(a2, m, c);
    a3 = fma(a3, m, c);
    a4 = fma(a4, m, c);
    a5 = fma(a5, m, c);
    a6 = fma(a6, m, c);
    a7 = fma(a7, m, c);
    a8 = fma(a8, m, c);
    a9 = fma(a9, m, c);
    a10 = fma(a10, m, c);
    a11 = fma(a11, m, c);
    a12 = fma(a12, m, c);
    a13 = fma(a13, m, c);
    a14 = fma(a14, m, c);
    a15 = fma(a15, m, c);
  }
  for (var k = 0u; k < u.iterations % 4u; k++) {
    a0 = fma(a0, m, c);
    a1 = fma(a1, m, c);
    a2 = fma(a2, m, c);
    a3 = fma(a3, m, c);
    a4 = fma(a4, m, c);
    a5 = fma(a5, m, c);
    a6 = fma(a6, m, c);
    a7 = fma(a7, m, c);
    a8 = fma(a8, m, c);
    a9 = fma(a9, m, c);
    a10 = fma(a10, m, c);
    a11 = fma(a11, m, c);
    a12 = fma(a12, m, c);
    a13 = fma(a13, m, c);
    a14 = fma(a14, m, c);
    a15 = fma(a15, m, c);
  }
  let t = ((((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))) + (((a8 + a9) + (a10 + a11)) + ((a12 + a13) + (a14 + a15))));
  out[i] = (t.x + t.y) + (t.z + t.w);
}
