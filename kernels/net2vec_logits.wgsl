// net2vec_logits: Net2Vec's segmentation mask (Fong & Vedaldi 2018) at every pixel of a batch, for a
// chunk of 4 trained concepts (a vec4): z_c(p) = Σ_k w[c][k]·I_k(p) + w[c][units] (bias last). The
// product is (pixels × units) × (units × concepts) over binary, sparse inputs, so an invocation walks
// its pixel's kWords words of pixelBits and adds one weight column per set bit (firstTrailingBit,
// then clear it): kWords loads plus a few gathers per pixel instead of `units` multiply-adds (~100×
// less work at 0.5% density); the weights (rows padded to 4Q, the padding 0) stay in cache. On
// lavapipe (a workgroup runs 8 lanes at a time on one CPU core) the lanes of a SIMD group stay
// together through the kWords loads and part only for their few set bits. Its labels: L_c(p) = 1
// when any of the image's planeCount[0] planes holds trained concept c at p (table maps a concept id
// to its trained index + 1, 0 = not trained). Workgroups: WG consecutive pixels of the batch (x, folded into y past 65535) ×
// the chunk (z); WG is a power of two.
//   default (training): with α_c the class balance, M = σ(z):
//     loss(p) = α·L·softplus(−z) + (1−α)(1−L)·softplus(z)  (= −α L log M − (1−α)(1−L) log(1−M))
//     dz(p)   = ∂loss/∂z = α·L·(M − 1) + (1−α)(1−L)·M
//     dz is stored per pixel ([Q][n·S] vec4) for net2vec_grad's unit sums; loss and dz are also
//     summed over the workgroup in a fixed tree (deterministic) into partials[q][group] for the
//     bias gradient and the batch's loss. Both are raw sums; net2vec_grad divides by n·S.
//   EVAL: the held-out tallies of the set IoU, predicted mask M > ½ ⇔ z > 0: per concept
//     |M ∩ L| and |M ∪ L| counted in workgroup atomics, then added to counts[c][0..1] and
//     counts[c][2..3] as 64-bit integers (low word, high word: the carry goes up when the low word wraps).
override WG: u32 = 64;

//#if EVAL
var<workgroup> tally: array<atomic<u32>, 8>; // intersections of the chunk's 4 concepts, then unions

fn add64(at: u32, v: u32) {
  if (v == 0u) { return; }
  let old = atomicAdd(&counts[at], v);
  if (old + v < old) { atomicAdd(&counts[at + 1u], 1u); }
}
//#else
var<workgroup> lossT: array<vec4f, WG>;
var<workgroup> dzT: array<vec4f, WG>;

fn softplus(x: vec4f) -> vec4f {
  return max(x, vec4f(0.0)) + log(vec4f(1.0) + exp(-abs(x)));
}
//#endif

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let grp = wid.x + wid.y * nwg.x;
  let q = wid.z;
  let total = u.n * u.pixels;
  let i = grp * WG + t;
  let live = i < total;
  var z = vec4f(0.0);
  var lab = vec4f(0.0);
  if (live) {
    let stride = u.units + 1u;
    let r0 = 4u * q * stride;
    z = vec4f(weights[r0 + u.units], weights[r0 + stride + u.units], weights[r0 + 2u * stride + u.units], weights[r0 + 3u * stride + u.units]);
    for (var j = 0u; j < u.kWords; j++) {
      var bits = pixelBits[i * u.kWords + j];
      while (bits != 0u) {
        let k = r0 + j * 32u + firstTrailingBit(bits);
        bits &= bits - 1u;
        z += vec4f(weights[k], weights[k + stride], weights[k + 2u * stride], weights[k + 3u * stride]);
      }
    }
    let planes = planeCount[0];
    let img = i / u.pixels;
    let s = i % u.pixels;
    for (var pl = 0u; pl < planes; pl++) {
      let id = labels[(img * planes + pl) * u.pixels + s];
      if (id < u.tableLen) {
        let c = table[id];
        if (c != 0u && (c - 1u) / 4u == q) { lab[(c - 1u) % 4u] = 1.0; }
      }
    }
  }
//#if EVAL
  if (t < 8u) { atomicStore(&tally[t], 0u); }
  workgroupBarrier();
  if (live) {
    for (var c = 0u; c < 4u; c++) {
      let pred = z[c] > 0.0;
      let l = lab[c] > 0.0;
      if (pred && l) { atomicAdd(&tally[c], 1u); }
      if (pred || l) { atomicAdd(&tally[4u + c], 1u); }
    }
  }
  workgroupBarrier();
  if (t < 8u) { add64((4u * q + t % 4u) * 8u + (t / 4u) * 2u, atomicLoad(&tally[t])); }
//#else
  var loss = vec4f(0.0);
  var d = vec4f(0.0);
  if (live) {
    let a = alpha[q];
    let pos = a * lab;
    let neg = (vec4f(1.0) - a) * (vec4f(1.0) - lab);
    let m = vec4f(1.0) / (vec4f(1.0) + exp(-z));
    loss = pos * softplus(-z) + neg * softplus(z);
    d = pos * (m - vec4f(1.0)) + neg * m;
    dz[q * total + i] = d;
  }
  lossT[t] = loss;
  dzT[t] = d;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (t < h) {
      lossT[t] += lossT[t + h];
      dzT[t] += dzT[t + h];
    }
    workgroupBarrier();
  }
  if (t == 0u && grp < u.groups) {
    partials[(q * u.groups + grp) * 2u] = lossT[0];
    partials[(q * u.groups + grp) * 2u + 1u] = dzT[0];
  }
//#endif
}
