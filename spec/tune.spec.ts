// Per-adapter tuning (engine/tune.ts, cli/tune-cache.ts, `loupe tune`, `loupe info --adapter`):
//  1. every candidate configuration of a few shapes (pointwise, 3×3 stride 1 with Winograd among the
//     candidates, 3×3 stride 2, grouped 5×5) equals the float64 CPU conv (rel 1e-4);
//  2. the tuner on a tiny shape set returns a valid table, and refuses an injected wrong candidate;
//  3. the cache round-trips, is keyed by adapter and kernel hash (a changed hash is a miss), is
//     written atomically, and a corrupt one is ignored with one warning line;
//  4. with tuning off (the default, and LOUPE_TUNE=off) lowerConv gives today's defaults; on, the
//     tuned workgroup size and algorithm;
//  5. the commands: `loupe info --adapter` prints the cache's location, `loupe tune --model
//     missing.onnx` one line, a corrupt cache a warning and no crash.
import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConvAttrs } from '../engine/ir.ts';
import type { Engine } from '../engine/gpu.ts';
import type { LowerContext } from '../engine/ops/index.ts';
import { lowerConv } from '../engine/conv.ts';
import { ArgumentError } from '../engine/errors.ts';
import {
  ConvBench, cachedTuning, candidatesFor, choiceText, defaultChoice, kernelHash, outShape, parseTuneCache, shapeClass, tune, tuneSetting, withTuning,
  type TuneChoice, type TuneShape, type Tuning,
} from '../engine/tune.ts';
import { readTuneCache, tuneCachePath, writeTuneCache } from '../cli/tune-cache.ts';
import { createNodeEngine } from '../cli/gpu-node.ts';
import * as R from './reference.ts';
import { closeEngine, expectOneLine, getEngine, relErr, runLoupe } from './helpers.ts';
import { existsSync } from 'node:fs';
import { Model } from '../engine/runner.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { saliency } from '../explainers/gradients.ts';

after(async () => {
  await closeEngine();
});

const ROOT = join(import.meta.dirname, '..');
const SQZ = join(ROOT, '..', 'shared', 'data', 'onnx/squeezenet_v1.0_derived/squeezenet_v1.0_decoded.onnx');

/** A tuning of this engine with `choice` for every shape class there is (so every conv lowered, forward or reverse, takes it). */
function everywhere(e: Engine, choice: TuneChoice): Tuning {
  const classes: Tuning['classes'] = {};
  for (const kind of ['pw', '3x3s1', 'other'])
    for (const ci of ['<32', '32-127', '≥128'])
      for (const co of ['<64', '64-255', '≥256'])
        for (const px of ['<256', '256-4095', '≥4096']) classes[`${kind} cin${ci} cout${co} px${px}`] = { shape: SHAPES[0]!, choice, candidates: [] };
  return { adapter: e.adapterInfo, kernelHash: kernelHash(), measured: JSON.stringify(choice), clock: 'wall', classes };
}

const SHAPES: TuneShape[] = [
  { n: 2, cin: 13, cout: 20, h: 7, w: 9, kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], group: 1 },
  { n: 1, cin: 9, cout: 19, h: 9, w: 8, kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], group: 1 },
  { n: 2, cin: 6, cout: 12, h: 11, w: 10, kernel: [3, 3], stride: [2, 2], pads: [1, 0, 1, 1], group: 1 },
  { n: 1, cin: 8, cout: 16, h: 9, w: 9, kernel: [5, 5], stride: [1, 1], pads: [2, 2, 2, 2], group: 2 },
];

const tag = (s: TuneShape) => `${s.cin}→${s.cout} ${s.kernel.join('×')}/${s.stride[0]} g${s.group} n${s.n}`;

describe('per-adapter tuning (engine/tune.ts)', function () {
  this.timeout(180000);
  let e: Engine;
  before(async () => {
    e = await getEngine();
  });

  it('every candidate configuration equals the float64 reference (rel 1e-4)', async () => {
    for (const s of SHAPES) {
      const bench = new ConvBench(e, s, 7);
      try {
        const want = R.conv2d(R.tensor([s.n, s.cin, s.h, s.w], bench.xData), bench.wData, s.cout, { kernel: s.kernel, stride: s.stride, pads: s.pads, dilation: [1, 1], group: s.group }, bench.bData);
        expect(want.shape).to.deep.equal(outShape(s));
        const cands = candidatesFor(e, s);
        expect(cands.length, tag(s)).to.be.at.least(e.subgroups ? 8 : 4);
        if (s.kernel[0] === 3 && s.stride[0] === 1) expect(cands.some((c) => c.algorithm === 'winograd'), 'Winograd among the 3×3 s1 candidates').to.equal(true);
        for (const c of [undefined, ...cands]) {
          const got = await bench.output(c);
          expect(relErr(got, want.data), `${tag(s)} ${c ? choiceText(c) : 'default'}`).to.be.at.most(1e-4);
        }
      } finally {
        bench.destroy();
      }
    }
  });

  it('the tuner returns a valid table on a tiny shape set and refuses a wrong candidate', async () => {
    const shapes = SHAPES.slice(0, 2);
    const wrong = (c: TuneChoice) => c.algorithm === 'gemm' && c.wg === 128;
    const t = await tune(e, shapes, { reps: 1, perturb: (c, out) => { if (wrong(c)) out[3] = (out[3] ?? 0) + 1; } });
    expect(t.adapter).to.equal(e.adapterInfo);
    expect(t.kernelHash).to.equal(kernelHash());
    expect(t.clock).to.equal(e.hasTimestamps ? 'timestamps' : 'wall');
    const keys = shapes.map((s) => shapeClass({ ...s, dilation: [1, 1] }, [s.n, s.cin, s.h, s.w], outShape(s)));
    expect(Object.keys(t.classes)).to.deep.equal(keys);
    for (const [k, c] of Object.entries(t.classes)) {
      expect(c.candidates.filter((r) => r.isDefault), k).to.have.length(1);
      expect(c.candidates.find((r) => r.isDefault)!.choice).to.deep.equal(defaultChoice(e, c.shape));
      for (const r of c.candidates) {
        if (wrong(r.choice)) {
          expect(r.ms, `${k} ${choiceText(r.choice)}`).to.equal(null);
          expect(r.refused).to.match(/differs from the default/);
        } else {
          expect(r.ms, `${k} ${choiceText(r.choice)}`).to.be.a('number').and.be.greaterThan(0);
          expect(r.error).to.be.at.most(1e-4);
        }
      }
      expect(wrong(c.choice), `${k}: the refused candidate is not chosen`).to.equal(false);
      expect(c.candidates.some((r) => r.ms !== null && JSON.stringify(r.choice) === JSON.stringify(c.choice)), `${k}: the choice is a measured candidate`).to.equal(true);
    }
    // every candidate wrong but the default: the default is chosen
    const only = await tune(e, shapes.slice(0, 1), { reps: 1, perturb: (c, out) => { if (JSON.stringify(c) !== JSON.stringify(defaultChoice(e, shapes[0]!))) out[0] = (out[0] ?? 0) + 10; } });
    expect(Object.values(only.classes)[0]!.choice).to.deep.equal(defaultChoice(e, shapes[0]!));
  });

  it('whole models under forced tunings (every class one candidate) equal the untuned run: SqueezeNet logits, LeNet saliency', async () => {
    const forced: TuneChoice[] = [
      { wg: 32, subgroups: false, algorithm: 'gemm' },
      { wg: 256, subgroups: true, algorithm: 'gemm' },
      { wg: 128, subgroups: true, algorithm: 'winograd' },
      { wg: 64, subgroups: false, algorithm: 'winograd' },
    ];
    const lenet = new Model(e, loadOnnx(new Uint8Array(readFileSync(join(ROOT, 'weights', 'lenet-relu-mnist.onnx'))), 'lenet-relu-mnist.onnx'));
    const sqz = existsSync(SQZ) ? new Model(e, loadOnnx(new Uint8Array(readFileSync(SQZ)), 'squeezenet_v1.0_decoded.onnx')) : undefined;
    try {
      const xl = new Float32Array(2 * 28 * 28).map((_, i) => Math.abs(Math.sin(i * 0.37)));
      const xs = new Float32Array(3 * 227 * 227).map((_, i) => Math.sin(i * 0.001 + (i % 7)) * 60);
      const run = async () => ({
        lenet: (await lenet.run(xl, 2)).get(lenet.graph.outputs[0]!)!.data,
        sal: (await saliency(lenet, xl, 2, { classes: [3, 7] })).maps,
        sqz: sqz ? (await sqz.run(xs, 1, { outputs: ['logits'] })).get('logits')!.data : new Float32Array(0),
      });
      const base = await run();
      for (const c of forced) {
        e.tuning = everywhere(e, c);
        e.tune = true;
        try {
          const got = await run();
          // not vacuous: the plan took the forced choice
          const rec = lenet.recordPlan(1);
          const labels = rec.dispatches.map((d) => d.pipeline.label);
          rec.dispose();
          // LeNet's 5×5 convs take the direct route's conv2d_rows, under the forced WG and subgroups
          expect(labels.some((l) => l.startsWith('conv2d_rows') && l.includes(`WG=${c.wg}`) && l.includes('SUBGROUPS') === (c.subgroups && e.subgroups)), `LeNet plan ${choiceText(c)}: ${labels.join('; ')}`).to.equal(true);
          expect(relErr(got.lenet, base.lenet), `LeNet ${choiceText(c)}`).to.be.at.most(1e-4);
          expect(relErr(got.sal, base.sal), `LeNet saliency ${choiceText(c)}`).to.be.at.most(1e-4);
          expect(relErr(got.sqz, base.sqz), `SqueezeNet ${choiceText(c)}`).to.be.at.most(1e-4);
        } finally {
          e.tune = false;
          e.tuning = undefined;
        }
      }
    } finally {
      lenet.destroy();
      sqz?.destroy();
    }
  });

  describe('the cache', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'loupe-tune-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    const tuning = (adapter: string, hash: string): Tuning => ({
      adapter, kernelHash: hash, measured: '2026-01-01T00:00:00.000Z', clock: 'wall',
      classes: { 'pw cin<32 cout<64 px<256': { shape: SHAPES[0]!, choice: { wg: 128, subgroups: false, algorithm: 'gemm' }, candidates: [] } },
    });

    it('lives under $XDG_CACHE_HOME/loupe/tune.json, else ~/.cache/loupe/tune.json', () => {
      expect(tuneCachePath({ XDG_CACHE_HOME: '/x/cache' })).to.equal('/x/cache/loupe/tune.json');
      expect(tuneCachePath({ HOME: '/h' })).to.match(/\/\.cache\/loupe\/tune\.json$/);
    });

    it('round-trips, keyed by adapter and kernel hash (a changed hash is a miss), written atomically', () => {
      const path = join(dir, 'sub', 'tune.json');
      const a = tuning('Vendor A gpu', kernelHash());
      const b = tuning('Vendor B gpu', kernelHash());
      writeTuneCache(withTuning(withTuning(undefined, a), b), path);
      expect(readdirSync(join(dir, 'sub')), 'no temporary file left').to.deep.equal(['tune.json']);
      const back = readTuneCache(path);
      expect(cachedTuning(back, 'Vendor A gpu')).to.deep.equal(a);
      expect(cachedTuning(back, 'Vendor B gpu')).to.deep.equal(b);
      expect(cachedTuning(back, 'Vendor C gpu'), 'another adapter').to.equal(undefined);
      expect(cachedTuning(back, 'Vendor A gpu', 'deadbeefdeadbeef'), 'edited kernels').to.equal(undefined);
      expect(kernelHash({ conv2d_gemm: 'fn main() {}' })).not.to.equal(kernelHash());
      // a rewrite replaces the whole file (rename over it), keeping the other adapters
      const a2 = { ...a, measured: '2026-02-02T00:00:00.000Z' };
      writeTuneCache(withTuning(back, a2), path);
      expect(readdirSync(join(dir, 'sub'))).to.deep.equal(['tune.json']);
      const again = parseTuneCache(readFileSync(path, 'utf8'));
      expect(cachedTuning(again, 'Vendor A gpu')!.measured).to.equal(a2.measured);
      expect(cachedTuning(again, 'Vendor B gpu')).to.deep.equal(b);
      // a write that fails leaves the old file and no temporary file
      expect(() => writeTuneCache({ version: 1, adapters: { x: { toJSON: () => { throw new Error('boom'); } } as unknown as Tuning } }, path)).to.throw('boom');
      expect(readdirSync(join(dir, 'sub'))).to.deep.equal(['tune.json']);
      expect(cachedTuning(readTuneCache(path), 'Vendor B gpu')).to.deep.equal(b);
    });

    it('a corrupt cache is ignored with one warning line', () => {
      const path = join(dir, 'tune.json');
      for (const text of ['{"version": 1, "adapt', '[]', '{"version": 1, "adapters": {"x": {"adapter": "x", "kernelHash": "h", "classes": {"c": {"choice": {"wg": "big"}}}}}}']) {
        writeFileSync(path, text);
        const lines: string[] = [];
        expect(readTuneCache(path, (l) => lines.push(l))).to.equal(undefined);
        expect(lines, text).to.have.length(1);
        expect(lines[0]).to.match(/^loupe: warning: ignoring the tuning cache .*tune\.json: /);
      }
      expect(readTuneCache(join(dir, 'none.json'), () => expect.fail('no warning for a missing cache'))).to.equal(undefined);
    });
  });

  describe('use', () => {
    const s: TuneShape = { n: 1, cin: 64, cout: 128, h: 14, w: 14, kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], group: 1 };
    const a: ConvAttrs = { kernel: s.kernel, stride: s.stride, pads: s.pads, dilation: [1, 1], group: 1, weight: 'w' };
    const x = [1, 64, 14, 14], y = [1, 128, 14, 14];
    const pw: ConvAttrs = { kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], group: 1, weight: 'w' };
    const pwx = [1, 64, 14, 14], pwy = [1, 32, 14, 14];
    /** the pipelines (kernel and WG) lowerConv picks for the 3×3 and the pointwise conv */
    function lowered(eng: Engine): string[] {
      const ctx: LowerContext = {
        engine: eng, param: () => eng.acquire(1 << 20, 'p'), derived: () => eng.acquire(1 << 16, 'd'), derivedGpu: () => eng.acquire(1 << 20, 'd'), paramSize: () => 0,
        paramData: () => new Float32Array(0), dummy: () => eng.acquire(16, 'd'),
      };
      const scratch = (bytes: number) => eng.acquire(bytes, 's');
      const xb = eng.acquire(1 << 20, 'x'), yb = eng.acquire(1 << 20, 'y');
      const name = (l: string) => l.split('|')[0] + (/WG=(\d+)/.exec(l)?.[0] ? ` ${/WG=(\d+)/.exec(l)![0]}` : '') + (l.includes('SUBGROUPS') ? ' sg' : '');
      return [...lowerConv(ctx, a, x, y, xb, yb, false, 'c', undefined, scratch), ...lowerConv(ctx, pw, pwx, pwy, xb, yb, false, 'p', undefined, scratch)].map((d) => name(d.pipeline.label));
    }
    const flip = (eng: Engine): Tuning => {
      const def = defaultChoice(eng, s);
      return {
        adapter: eng.adapterInfo, kernelHash: kernelHash(), measured: 'now', clock: 'wall',
        classes: {
          [shapeClass(a, x, y)]: { shape: s, choice: def.algorithm === 'winograd' ? { wg: 256, subgroups: false, algorithm: 'gemm' } : { wg: 0, subgroups: false, algorithm: 'winograd' }, candidates: [] },
          [shapeClass(pw, pwx, pwy)]: { shape: s, choice: { wg: 32, subgroups: false, algorithm: 'gemm' }, candidates: [] },
        },
      };
    };

    it('off (the default and LOUPE_TUNE=off) gives exactly the untuned lowering; on, the tuned choices', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'loupe-tune-'));
      const was = { tune: process.env.LOUPE_TUNE, cache: process.env.XDG_CACHE_HOME };
      try {
        const untuned = lowered(e);
        expect(e.tune, 'the suite engine: tuning off by default').to.equal(false);
        // a tuning present but off changes nothing
        e.tuning = flip(e);
        expect(lowered(e)).to.deep.equal(untuned);
        e.tune = true;
        const tuned = lowered(e);
        expect(tuned).not.to.deep.equal(untuned);
        expect(tuned[tuned.length - 1], 'the pointwise conv at the tuned WG').to.equal('conv2d_gemm WG=32');
        expect(tuned.some((p) => p.startsWith('winograd_input'))).to.equal(!untuned.some((p) => p.startsWith('winograd_input')));
        // another adapter's or other kernels' tuning does not apply
        e.tuning = { ...flip(e), kernelHash: 'other' };
        expect(lowered(e)).to.deep.equal(untuned);
        e.tuning = { ...flip(e), adapter: 'another adapter' };
        expect(lowered(e)).to.deep.equal(untuned);
        e.tune = false;
        e.tuning = undefined;
        // through the cache and LOUPE_TUNE
        process.env.XDG_CACHE_HOME = dir;
        writeTuneCache(withTuning(undefined, flip(e)));
        process.env.LOUPE_TUNE = 'off';
        const off = await createNodeEngine();
        expect(off.tune).to.equal(false);
        expect(lowered(off)).to.deep.equal(untuned);
        off.device.destroy();
        process.env.LOUPE_TUNE = 'on';
        const on = await createNodeEngine();
        expect(on.tune).to.equal(true);
        expect(on.tuning?.kernelHash).to.equal(kernelHash());
        expect(lowered(on)).to.deep.equal(tuned);
        on.device.destroy();
        process.env.LOUPE_TUNE = 'sometimes';
        let err: unknown;
        await createNodeEngine().catch((x: unknown) => (err = x));
        expect(err).to.be.instanceOf(ArgumentError);
        expect((err as Error).message).to.match(/^LOUPE_TUNE: "sometimes" is not a tuning setting; use on or off/);
        expect(tuneSetting('OFF', 'x')).to.equal(false);
      } finally {
        e.tune = false;
        e.tuning = undefined;
        for (const [k, v] of [['LOUPE_TUNE', was.tune], ['XDG_CACHE_HOME', was.cache]] as const) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('commands', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'loupe-tune-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('loupe info --adapter prints the adapter, the cache location and whether a tuning is cached', () => {
      const r = runLoupe(['info', '--adapter'], { XDG_CACHE_HOME: dir });
      expect(r.code, r.err).to.equal(0);
      expect(r.out).to.match(/^adapter: \S/m);
      expect(r.out).to.contain(`tuning cache: ${join(dir, 'loupe', 'tune.json')}`);
      expect(r.out).to.match(/tuning: none cached for this adapter: run loupe tune; off/);
    });

    it('loupe tune on LeNet writes the cache, and info --adapter shows its choices; a corrupt cache is a warning', () => {
      const r = runLoupe(['tune', '--model', join(ROOT, 'weights', 'lenet-relu-mnist.onnx'), '--quick'], { XDG_CACHE_HOME: dir });
      expect(r.code, r.err).to.equal(0);
      expect(r.out).to.match(/^adapter: /m);
      expect(r.out).to.match(/\(default\)/);
      expect(r.out).to.contain(`written to ${join(dir, 'loupe', 'tune.json')}`);
      const info = runLoupe(['info', '--adapter'], { XDG_CACHE_HOME: dir, LOUPE_TUNE: 'on' });
      expect(info.code, info.err).to.equal(0);
      expect(info.out).to.match(/tuning: cached \(measured .*\); on \(LOUPE_TUNE=on\)/);
      expect(info.out).to.match(/^ {2}\S.* (gemm wg\d+|winograd)/m);
      // the tuned run predicts as the untuned one
      const args = ['predict', '--model', join(ROOT, 'weights', 'lenet-relu-mnist.onnx'), '--image', join(ROOT, 'weights', 'mnist-test-0.png'), '--json'];
      const p0 = runLoupe(args, { XDG_CACHE_HOME: dir, LOUPE_TUNE: 'off' }), p1 = runLoupe(args, { XDG_CACHE_HOME: dir, LOUPE_TUNE: 'on' });
      expect(p0.code, p0.err).to.equal(0);
      expect(p1.code, p1.err).to.equal(0);
      const l0 = JSON.parse(p0.out).logits as number[], l1 = JSON.parse(p1.out).logits as number[];
      expect(relErr(l1, l0)).to.be.at.most(1e-4);
      // corrupt: one warning line, and the command still runs
      writeFileSync(join(dir, 'loupe', 'tune.json'), '{ not json');
      const bad = runLoupe(['info', '--adapter'], { XDG_CACHE_HOME: dir });
      expect(bad.code, bad.err).to.equal(0);
      expect(bad.lines).to.have.length(1);
      expect(bad.lines[0]).to.match(/^loupe: warning: ignoring the tuning cache .*tune\.json/);
      expect(bad.out).to.match(/tuning: none cached/);
    });

    it('bad input: a missing model, info without --model', () => {
      expectOneLine(runLoupe(['tune', '--model', join(dir, 'missing.onnx')], { XDG_CACHE_HOME: dir }), /missing\.onnx/);
      expectOneLine(runLoupe(['info']), /--model is required \(or --adapter\)/);
    });
  });
});
