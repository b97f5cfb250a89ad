// roofline_fma: the adapter's peak rate of f32 fused multiply-adds, the compute ceiling of
// `loupe bench`'s roofline (engine/roofline.ts). Compute-bound by construction: invocation i reads
// nothing, runs 8 independent vec4 chains a ← fma(a, m, c) for u.iterations steps and writes one
// f32, out[i] = the sum of its accumulators. Eight chains so that the FMA units always have an
// independent operation to issue while earlier ones are in flight (their latency is hidden without
// relying on other invocations); vec4 so that SIMD lanes are full on a CPU adapter too. m and c come
// from the uniform, not constants, and every chain reaches the output, so the compiler can neither
// fold nor drop the work. FMAs per invocation: 32 × u.iterations; FLOPs = 2 × FMAs.
// Start values a_j[l] = (i mod 1024) · 2⁻¹⁰ + (4j + l) · 2⁻⁵ are exact in f32, so a CPU evaluation
// follows the same chains (spec/bench.spec.ts). With m = 1 − 2⁻¹⁰ and c = 2⁻¹⁰ (the bench's values)
// each chain contracts towards 1 and stays finite for any number of steps.
// Flat index rebuilt from num_workgroups: past 65535 workgroups x is folded into y.
override WG: u32 = 256;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let s = vec4f(f32(i % 1024u) * 0.0009765625);
  let m = vec4f(u.mul);
  let c = vec4f(u.add);
  let step = 0.03125;
  var a0 = s + vec4f(0.0, 1.0, 2.0, 3.0) * step;
  var a1 = s + vec4f(4.0, 5.0, 6.0, 7.0) * step;
  var a2 = s + vec4f(8.0, 9.0, 10.0, 11.0) * step;
  var a3 = s + vec4f(12.0, 13.0, 14.0, 15.0) * step;
  var a4 = s + vec4f(16.0, 17.0, 18.0, 19.0) * step;
  var a5 = s + vec4f(20.0, 21.0, 22.0, 23.0) * step;
  var a6 = s + vec4f(24.0, 25.0, 26.0, 27.0) * step;
  var a7 = s + vec4f(28.0, 29.0, 30.0, 31.0) * step;
  for (var k = 0u; k < u.iterations; k++) {
    a0 = fma(a0, m, c);
    a1 = fma(a1, m, c);
    a2 = fma(a2, m, c);
    a3 = fma(a3, m, c);
    a4 = fma(a4, m, c);
    a5 = fma(a5, m, c);
    a6 = fma(a6, m, c);
    a7 = fma(a7, m, c);
  }
  let t = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
  out[i] = (t.x + t.y) + (t.z + t.w);
}
