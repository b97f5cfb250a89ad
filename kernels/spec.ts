// The small TS spec of each kernel: its WGSL file, uniform layout (in declaration order,
// 4-byte scalars), storage bindings (1..n after the uniform at 0) and default overrides.
// Shapes travel in uniforms; pipelines are keyed by kernel + variant defines + overrides.

export type UniformType = 'u32' | 'i32' | 'f32';
export type UniformValue = number | boolean;

export interface KernelSpec {
  name: string; // kernels/<name>.wgsl
  entry?: string;
  uniforms: [string, UniformType][];
  /** storage bindings after the uniform, in binding order: r = read-only, w = read-write */
  storage: ('r' | 'w')[];
  overrides?: Record<string, number>;
  /** named variant defines this kernel understands (`//#if NAME` blocks) */
  variants?: string[];
}

export function spec(s: KernelSpec): KernelSpec {
  return s;
}
