// net2vec_step: Adam's per-step values for kernels/adam.wgsl, made on the GPU so that a training
// pass's dispatches can be built once and replayed batch after batch: one invocation increments the
// step t (state[0]) and the count of batches trained since the host last read the loss (state[1]),
// then writes hp = [lr·√(1 − β2ᵗ)/(1 − β1ᵗ), β1, β2, eps·√(1 − β2ᵗ)] (Kingma & Ba's bias corrections
// folded in, as engine/train.ts does on the CPU) from hyper = [lr, β1, β2, eps].
@compute @workgroup_size(1)
fn main() {
  let t = state[0] + 1u;
  state[0] = t;
  state[1] = state[1] + 1u;
  let b1 = hyper[1];
  let b2 = hyper[2];
  let c2 = sqrt(1.0 - pow(b2, f32(t)));
  hp[0] = hyper[0] * c2 / (1.0 - pow(b1, f32(t)));
  hp[1] = b1;
  hp[2] = b2;
  hp[3] = hyper[3] * c2;
}
