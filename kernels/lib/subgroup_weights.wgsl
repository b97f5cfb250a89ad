// The 16 weights of one k (a tap and an input channel) for a block of 16 output channels of the GEMM
// weight panel, read as f32 (conv2d_gemm and conv2d_rows, SUBGROUPS variant): lane l of a subgroup
// loads weights l and 8 + l, and every lane gets all 16 by subgroupBroadcast with a constant lane,
// which compiles to a register permute: two loads per invocation where each would load 16 (see the
// header of conv2d_gemm.wgsl for why). `ia` and `ib` are the indices of this lane's two weights
// (channels l and 8 + l of the block): in the panel [k][coPad], ib = ia + 8; in conv2d_gemm's WT_ROWS
// variant, where wt is the parameter's own rows [Cout][Cin], they are a row or more apart. Call it
// from subgroup-uniform control flow.
fn weightsAt(ia: u32, ib: u32) -> array<vec4f, 4> {
  let a = wt[ia];
  let b = wt[ib];
  return array<vec4f, 4>(
    vec4f(subgroupBroadcast(a, 0u), subgroupBroadcast(a, 1u), subgroupBroadcast(a, 2u), subgroupBroadcast(a, 3u)),
    vec4f(subgroupBroadcast(a, 4u), subgroupBroadcast(a, 5u), subgroupBroadcast(a, 6u), subgroupBroadcast(a, 7u)),
    vec4f(subgroupBroadcast(b, 0u), subgroupBroadcast(b, 1u), subgroupBroadcast(b, 2u), subgroupBroadcast(b, 3u)),
    vec4f(subgroupBroadcast(b, 4u), subgroupBroadcast(b, 5u), subgroupBroadcast(b, 6u), subgroupBroadcast(b, 7u)));
}

// weightsAt for the panel: `wi` is the index of this lane's first weight.
fn weights(wi: u32) -> array<vec4f, 4> {
  return weightsAt(wi, wi + 8u);
}
