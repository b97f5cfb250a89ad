// net2vec_present: the targets of Net2Vec's classification variant: bit c of present[n][cWords] is set
// when trained concept c is anywhere in image n (any of its planeCount[0] label planes [n][planes][S], any
// pixel; table maps a concept id to its trained index + 1, 0 = not trained, ids ≥ tableLen are not
// trained either). One workgroup per image: its WG invocations stride over planes × pixels and OR
// the bits into workgroup memory (cWords ≤ 64 words: at most 2048 trained concepts; OR is order-free,
// so deterministic), then write the image's words.
override WG: u32 = 64;

var<workgroup> found: array<atomic<u32>, 64>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let img = wid.x;
  for (var c = t; c < 64u; c += WG) { atomicStore(&found[c], 0u); }
  workgroupBarrier();
  let count = planeCount[0] * u.pixels;
  for (var e = t; e < count; e += WG) {
    let id = labels[img * count + e];
    if (id < u.tableLen) {
      let c = table[id];
      if (c != 0u) { atomicOr(&found[(c - 1u) / 32u], 1u << ((c - 1u) % 32u)); }
    }
  }
  workgroupBarrier();
  for (var c = t; c < u.cWords; c += WG) { present[img * u.cWords + c] = atomicLoad(&found[c]); }
}
