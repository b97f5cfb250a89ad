// roofline_load: the adapter's rate of scalar storage-buffer loads whose addresses differ from one
// invocation to the next (a gather), the third figure of `loupe bench`'s roofline
// (engine/roofline.ts). A conv's inner loop is such loads and FMAs: each invocation reads its own
// pixels' activations, so how many FMAs one load costs decides how large a register block a kernel
// needs before the FMAs, not the loads, set its speed. On a GPU a load is one instruction of the
// whole subgroup; on a CPU adapter it may be much more: Mesa lavapipe (25.0) compiles every storage
// load, even one whose address is the same in every invocation, into a loop over the SIMD lanes
// with a mask test, a bounds check and an insert per lane.
//
// Invocation i reads src[(i + k·step + c·u.spread) & u.mask] for k < u.iterations and c < 4, into
// four independent sums (so no add waits for the one before), and writes out[i] = their sum. Neighbour
// invocations read neighbour words, as a conv's do; the window (u.mask + 1 words, 256 KiB in the bench)
// stays in cache, so the figure is the cost of issuing loads, not of memory, which the copy measures.
// step and spread come from the uniform so nothing folds. src holds small integers: every sum is exact
// in f32 and a CPU evaluation gives the same values (spec/bench.spec.ts). Loads = 4 × u.iterations
// per invocation. Flat index rebuilt from num_workgroups: past 65535 workgroups x is folded into y.
override WG: u32 = 256;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  var a0 = 0.0;
  var a1 = 0.0;
  var a2 = 0.0;
  var a3 = 0.0;
  var p = i;
  for (var k = 0u; k < u.iterations; k++) {
    a0 += src[p & u.mask];
    a1 += src[(p + u.spread) & u.mask];
    a2 += src[(p + 2u * u.spread) & u.mask];
    a3 += src[(p + 3u * u.spread) & u.mask];
    p += u.step;
  }
  out[i] = (a0 + a1) + (a2 + a3);
}
