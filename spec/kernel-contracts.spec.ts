// Kernel specs are contracts: the engine writes every kernel's `struct U` and bindings from its
// spec (kernels/spec.ts), so no .wgsl file may declare its own; every name a spec declares is used
// by its shader; and every variant of every kernel compiles on the device.
import { expect } from 'chai';
import * as K from '../kernels/index.ts';
import * as RK from '../kernels/reverse.ts';
import * as PK from '../kernels/pda.ts';
import * as TK from '../kernels/train.ts';
import * as OK from '../kernels/image_opt.ts';
import * as RI from '../kernels/rise.ts';
import * as RF from '../kernels/roofline.ts';
import * as DI from '../kernels/dissect.ts';
import * as NV from '../kernels/net2vec.ts';
import { wgsl } from '../kernels/wgsl.generated.ts';
import { declarations, type KernelSpec } from '../kernels/spec.ts';
import { preprocessWgsl } from '../engine/gpu.ts';
import { GpuError } from '../engine/errors.ts';
import { closeEngine, getEngine } from './helpers.ts';

const specs = [K, RK, PK, TK, OK, RI, RF, DI, NV].flatMap((m) => Object.values(m).filter((v): v is KernelSpec => typeof v === 'object' && v !== null && 'bindings' in v));

after(async () => {
  await closeEngine();
});

describe('kernel contracts', () => {
  it('every .wgsl file has a spec, and no file declares its own uniform struct or bindings', () => {
    const named = new Set(specs.map((s) => s.name));
    for (const name of Object.keys(wgsl)) {
      expect(named.has(name), `kernels/${name}.wgsl has no spec`).to.equal(true);
      const src = wgsl[name]!;
      expect(src, `${name}.wgsl declares a binding`).not.to.match(/@binding\(/);
      expect(src, `${name}.wgsl declares struct U`).not.to.match(/struct\s+U\b/);
      expect(src, `${name}.wgsl enables an extension itself`).not.to.match(/^\s*enable\s/m);
    }
  });

  it('every uniform and binding a spec declares is used by its shader, and every variant it names appears in it', () => {
    for (const s of specs) {
      const src = wgsl[s.name]!;
      expect(src, `kernels/${s.name}.wgsl`).to.be.a('string');
      for (const [u] of s.uniforms) expect(src, `${s.name}: uniform ${u}`).to.match(new RegExp(`\\bu\\.${u}\\b`));
      for (const b of s.bindings) expect(src, `${s.name}: binding ${b.name}`).to.match(new RegExp(`\\b${b.name}\\b`));
      for (const v of s.variants ?? []) expect(src, `${s.name}: variant ${v}`).to.match(new RegExp(`//#if ${v}\\b`));
    }
  });

  it('binding numbers follow the spec order for the variant, and conditional declarations come and go with it', () => {
    const d = declarations(K.conv2dGemm, new Set(['HAS_BIAS', 'REGION', 'SUBGROUPS']));
    expect(d.split('\n')[0]).to.equal('enable subgroups;');
    expect(d).to.contain('var<storage, read> wt: array<f32>;').and.to.contain('@binding(3) var<storage, read> bias').and.to.contain('@binding(4) var<storage, read_write> y').and.to.contain('@binding(5) var<storage, read> org: array<i32>');
    expect(d).to.match(/struct U \{[^}]*orgOut: u32 \}/);
    const plain = declarations(K.conv2dGemm, new Set());
    expect(plain).not.to.contain('enable').and.not.to.contain('bias').and.not.to.contain('org').and.not.to.contain('rhIn');
    expect(plain).to.contain('wt: array<vec4f>').and.to.contain('@binding(3) var<storage, read_write> y');
  });

  it('every variant of every kernel compiles (each variant alone, and none)', async function () {
    this.timeout(600000);
    const e = await getEngine();
    for (const s of specs)
      for (const v of [undefined, ...(s.variants ?? [])]) {
        if (v === 'SUBGROUPS' && !e.hasSubgroups) continue;
        const defines = v ? [v] : [];
        // compile errors surface as validation errors of the pipeline
        e.device.pushErrorScope('validation');
        e.pipeline(s, defines);
        const err = await e.device.popErrorScope();
        expect(err?.message, `${s.name} ${defines.join(',')}: ${preprocessWgsl(wgsl[s.name]!, new Set(defines)).slice(0, 0)}`).to.equal(undefined);
      }
  });

  it('a dispatch binds buffers by name: a missing, unknown or misspelt binding is an error naming the kernel', async () => {
    const e = await getEngine();
    const x = e.acquire(256, 'x'), y = e.acquire(256, 'y');
    expect(() => e.makeDispatch(K.relu, { uniforms: { total: 4 }, bindings: { x }, threads: 4, label: 't' })).to.throw(GpuError, /relu.*needs binding "y"/);
    expect(() => e.makeDispatch(K.relu, { uniforms: { total: 4 }, bindings: { x, y, mask: y }, threads: 4, label: 't' })).to.throw(GpuError, /has no binding "mask"/);
    expect(() => e.makeDispatch(K.relu, { defines: ['MSK'], uniforms: { total: 4 }, bindings: { x, y }, threads: 4, label: 't' })).to.throw(GpuError, /no variant MSK/);
    expect(() => e.makeDispatch(K.relu, { defines: ['MASK'], uniforms: { total: 4 }, bindings: { x, y, mask: y }, threads: 4, label: 't' })).not.to.throw();
    e.release(x);
    e.release(y);
  });
});
