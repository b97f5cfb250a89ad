// The contract of each kernel: its WGSL file, its uniform fields (packed in declaration order,
// 4-byte scalars, at binding 0) and its storage bindings (1..n, in declaration order), each
// possibly enabled by a variant define. The .wgsl files hold no declarations of their own: the
// engine generates `struct U`, the uniform and every storage binding from the spec for the variant
// it builds (`declarations` below), so the shader and the host code cannot disagree, and
// dispatches bind buffers by name. Shapes travel in uniforms; pipelines are keyed by kernel +
// variant defines + overrides.

export type UniformType = 'u32' | 'i32' | 'f32';
export type UniformValue = number | boolean;

/** A variant condition: `NAME`, `!NAME`, or several joined by `&` (all must hold). */
export type When = string;

/** A uniform field: name, type, and the variant condition that includes it. */
export type Uniform = readonly [name: string, type: UniformType, when?: When];

export interface Binding<N extends string = string> {
  name: N;
  access: 'read' | 'read_write';
  /** WGSL type; default `array<f32>` */
  type?: string;
  /** the type under a variant instead, e.g. `{ SUBGROUPS: 'array<f32>' }` */
  typeIf?: Record<string, string>;
  when?: When;
}

export interface KernelSpec<B extends string = string> {
  name: string; // kernels/<name>.wgsl
  entry?: string;
  uniforms: readonly Uniform[];
  bindings: readonly Binding<B>[];
  overrides?: Record<string, number>;
  /** named variant defines this kernel understands (`//#if NAME` blocks) */
  variants?: readonly string[];
  /** WGSL extensions a variant needs: `{ SUBGROUPS: 'subgroups' }` emits `enable subgroups;` */
  enables?: Record<string, string>;
}

export function spec<const B extends string>(s: KernelSpec<B>): KernelSpec<B> {
  return s;
}

/** A read-only storage binding. */
export function r<const N extends string>(name: N, opts: Omit<Binding<N>, 'name' | 'access'> = {}): Binding<N> {
  return { name, access: 'read', ...opts };
}
/** A read-write storage binding. */
export function rw<const N extends string>(name: N, opts: Omit<Binding<N>, 'name' | 'access'> = {}): Binding<N> {
  return { name, access: 'read_write', ...opts };
}

export function holds(when: When | undefined, defines: ReadonlySet<string>): boolean {
  if (!when) return true;
  return when.split('&').every((c) => (c.startsWith('!') ? !defines.has(c.slice(1)) : defines.has(c)));
}

/** The uniforms a variant packs, in order. */
export function activeUniforms(s: KernelSpec, defines: ReadonlySet<string>): Uniform[] {
  return s.uniforms.filter((u) => holds(u[2], defines));
}

/** The storage bindings a variant declares, in binding order (after the uniform, if any). */
export function activeBindings<B extends string>(s: KernelSpec<B>, defines: ReadonlySet<string>): Binding<B>[] {
  return s.bindings.filter((b) => holds(b.when, defines));
}

/** The WGSL declarations of a variant: enables, `struct U`, the uniform and the storage bindings. */
export function declarations(s: KernelSpec, defines: ReadonlySet<string>): string {
  const lines: string[] = [];
  for (const [d, ext] of Object.entries(s.enables ?? {})) if (defines.has(d)) lines.push(`enable ${ext};`);
  const us = activeUniforms(s, defines);
  let binding = 0;
  if (us.length > 0) {
    lines.push(`struct U { ${us.map(([n, t]) => `${n}: ${t}`).join(', ')} }`, '@group(0) @binding(0) var<uniform> u: U;');
    binding = 1;
  }
  for (const b of activeBindings(s, defines)) {
    let type = b.type ?? 'array<f32>';
    for (const [d, t] of Object.entries(b.typeIf ?? {})) if (defines.has(d)) type = t;
    lines.push(`@group(0) @binding(${binding++}) var<storage, ${b.access}> ${b.name}: ${type};`);
  }
  return lines.join('\n') + '\n';
}
