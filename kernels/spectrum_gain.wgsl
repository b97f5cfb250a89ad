// spectrum_gain: a Gaussian blur of σ = sigma pixels applied to Fourier-parameterised images by
// scaling their coefficients (B·C planes of Sy×Sx complex values, in FFT order) with the blur's
// transfer function exp(−2π²σ²(fy² + fx²)), fy and fx in cycles per pixel: exact, and periodic
// like the images.
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.total) { return; }
  let ky = i32((i / u.sx) % u.sy);
  let kx = i32(i % u.sx);
  let fy = f32(select(ky, ky - i32(u.sy), ky > i32(u.sy) / 2)) / f32(u.sy);
  let fx = f32(select(kx, kx - i32(u.sx), kx > i32(u.sx) / 2)) / f32(u.sx);
  x[i] *= exp(-2.0 * 9.8696044 * u.sigma * u.sigma * (fy * fy + fx * fx));
}
