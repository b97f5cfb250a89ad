// ablate_channels: Ablation-CAM's batch at a layer L, copy b with channel first + b zeroed
// (Desai & Ramaswamy: one ablated copy of L's activations per channel). Layout: activations and
// batch N×C×H·W (NCHW, the plan's own layout); range = [first channel]: a small storage buffer
// written before each batch, so one batch size's dispatch is built once and reused.
//   COPY:   y[b, k, q] = 0 if k = first + b, else a[b·stride + k·hw + q]; stride 0 copies one image's
//           activations (the tail-only route: L's activations computed once, the tail's input
//           made from them), stride C·hw keeps each copy's own (a batch of whole-network copies).
//   !COPY:  in place in y (injected into a whole-network pass right after L): only the zeros.
// One invocation per element of the batch; elementwise, so no tiling.
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let chw = u.c * u.hw;
  let b = i / chw;
  let r = i % chw;
  let hit = r / u.hw == range[0] + b;
//#if COPY
  y[i] = select(a[b * u.stride + r], 0.0, hit);
//#else
  if (hit) { y[i] = 0.0; }
//#endif
}
