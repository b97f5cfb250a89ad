// noise_images: seeded noisy images made on the GPU (SmoothGrad's samples, Integrated Gradients'
// uniform-noise baseline), never uploaded. Layout: y is a batch [n][C·H·W]; image j of a batch is
// sample first + j of stream `stream` (one stream per input image), so a seed gives the same
// images whatever the batching. The random numbers are a counter-based hash (PCG4D, Jarzynski &
// Olano 2020) of (seed, stream, sample, element): no state, every invocation independent.
//   default: y[j, i] = x[i] + sigma · z, z standard normal by Box–Muller on the hash of
//            (seed, stream, sample, i >> 1): the even element of a pair takes r·cos θ, the odd r·sin θ;
//   UNIFORM: y[j, i] = lo[c] + (hi[c] − lo[c]) · v, v uniform in [0, 1) from the hash of
//            (seed ^ 0x9e3779b9, stream, sample, i), c = the channel of element i; range = [lo₀…, hi₀…].
// One invocation per output element (WG per workgroup).
override WG: u32 = 64;

// #include "pcg4d.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= u.total) { return; }
  let s = u.first + t / u.per;
  let i = t % u.per;
//#if UNIFORM
  let c = i / u.hw;
  let h = pcg4d(vec4u(u.seed ^ 0x9e3779b9u, u.stream, s, i));
  let v = f32(h.x >> 8u) / 16777216.0;
  y[t] = range[c] + (range[u.channels + c] - range[c]) * v;
//#else
  let h = pcg4d(vec4u(u.seed, u.stream, s, i >> 1u));
  let u1 = (f32(h.x >> 8u) + 1.0) / 16777216.0;
  let u2 = f32(h.y >> 8u) / 16777216.0;
  let r = sqrt(-2.0 * log(u1));
  let th = 6.283185307179586 * u2;
  let z = select(r * sin(th), r * cos(th), (i & 1u) == 0u);
  y[t] = x[i] + u.sigma * z;
//#endif
}
