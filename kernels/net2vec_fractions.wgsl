// net2vec_fractions: the inputs of Net2Vec's classification variant (Fong & Vedaldi 2018):
// x[n][k] = mean_p I_k(p), the fraction of image n's S = maskH·maskW label pixels where unit k fires,
// from unitBits [units][n][pWords] (net2vec_bits): an integer popcount over the image's pWords words
// (bits past the last pixel are 0), then one division. One invocation per (image, unit), x [n][units].
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.n * u.units) { return; }
  let img = i / u.units;
  let k = i % u.units;
  let base = (k * u.n + img) * u.pWords;
  var count = 0u;
  for (var g = 0u; g < u.pWords; g++) { count += countOneBits(unitBits[base + g]); }
  x[i] = f32(count) / f32(u.pixels);
}
