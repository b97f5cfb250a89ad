// pcg4d (Jarzynski & Olano, "Hash Functions for GPU Rendering", JCGT 2020): a counter-based hash of
// four 32-bit words into four, good enough for Monte Carlo draws. The kernels that draw random
// numbers (PDA's samplers, RISE's masks, SmoothGrad's noise) hash (seed, stream, sample, element)
// with it, so any batch can be regenerated from its indices alone.
fn pcg4d(vin: vec4u) -> vec4u {
  var v = vin * 1664525u + 1013904223u;
  v.x += v.y * v.w; v.y += v.z * v.x; v.z += v.x * v.y; v.w += v.y * v.z;
  v ^= v >> vec4u(16u);
  v.x += v.y * v.w; v.y += v.z * v.x; v.z += v.x * v.y; v.w += v.y * v.z;
  return v;
}
