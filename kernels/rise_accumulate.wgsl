// rise_accumulate: RISE's saliency as one matrix product per batch, added to the running map:
// map[r, q] += Σ_j wts[j, r] · masks[j, q] (scoresᵀ × masks: wts [n][rows] holds each masked image's
// probability of the explained classes, masks [n][H·W]; map [rows][H·W]). A workgroup computes WG
// consecutive pixels of one row r (workgroups: ⌈H·W / WG⌉ × rows); the scores are staged through
// workgroup memory WG masks at a time, so every invocation reads each score from there and streams
// its pixel's column of masks (coalesced across the workgroup). The caller scales by 1/(N·p) at the end.
override WG: u32 = 64;
var<workgroup> tile: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let q = wid.x * WG + t;
  let r = wid.y;
  var acc = 0.0;
  for (var j0 = 0u; j0 < u.n; j0 += WG) {
    var s = 0.0;
    if (j0 + t < u.n) { s = wts[(j0 + t) * u.rows + r]; }
    tile[t] = s;
    workgroupBarrier();
    if (q < u.hw) {
      let count = min(WG, u.n - j0);
      for (var k = 0u; k < count; k++) { acc += tile[k] * masks[(j0 + k) * u.hw + q]; }
    }
    workgroupBarrier();
  }
  if (q < u.hw) { map[r * u.hw + q] += acc; }
}
