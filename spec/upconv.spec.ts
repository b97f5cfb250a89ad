// UpconvNet inversion (survey §5.2.2) and DGN-AM (§3.2.3): the transposed conv's input and
// parameter gradients against float64 central finite differences of the reference interpreter
// (spec/reference.ts), the decoder losses' gradients, the ONNX writer's ConvTranspose and
// LeakyRelu against onnxruntime-node, and the shipped decoders (weights/upconv-lenet-*.onnx):
// onnxruntime-node agreement, held-out reconstruction error below optimisation-based inversion's.
import { expect } from 'chai';
import { getEngine } from './helpers.ts';
import { runGraphReference } from './reference.ts';
import { Trainer, mulberry32 } from '../engine/train.ts';
import { Model } from '../engine/runner.ts';
import { Reverser } from '../engine/reverse.ts';
import { decoderGraph, pixelLoss } from '../engine/upconv.ts';
import { loadOnnx } from '../loaders/onnx.ts';
import { writeOnnx } from '../loaders/onnx-writer.ts';
import { ortSession, ortRun } from '../cli/ort.ts';
import type { Graph, Param } from '../engine/ir.ts';

/** A small chain of transposed convs: stride 2 (col2im route of the input gradient), stride 1 with padding (flip route), a group. */
function smallGraph(seed: number): Graph {
  const rand = mulberry32(seed);
  const params = new Map<string, Param>();
  const p = (name: string, dims: number[], s = 0.5) => params.set(name, { dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => s * (2 * rand() - 1)) });
  p('t1.weight', [3, 4, 3, 3]);
  p('t1.bias', [4], 0.1);
  p('t2.weight', [4, 2, 3, 3]); // group 2: [Cin, Cout/group, k, k]
  p('t2.bias', [4], 0.1);
  p('t3.weight', [4, 2, 4, 4]);
  p('t3.bias', [2], 0.1);
  const ct = (name: string, input: string, k: number, s: number, pd: number, group = 1) => ({
    name, op: 'convtranspose' as const, inputs: [input], outputs: [name],
    attrs: { kernel: [k, k] as [number, number], stride: [s, s] as [number, number], pads: [pd, pd, pd, pd] as [number, number, number, number], dilation: [1, 1] as [number, number], group, weight: `${name}.weight`, bias: `${name}.bias`, outputPadding: [0, 0] as [number, number] },
  });
  return {
    name: 'small-upconv', format: 'onnx', input: { name: 'features', shape: [-1, 3, 3, 3] }, outputs: ['t3'], params,
    nodes: [
      ct('t1', 'features', 3, 2, 1), // 3×3 → 5×5
      { name: 'a1', op: 'leakyrelu', inputs: ['t1'], outputs: ['a1'], attrs: { alpha: 0.2 } },
      ct('t2', 'a1', 3, 1, 1, 2), // 5×5 → 5×5
      { name: 'a2', op: 'leakyrelu', inputs: ['t2'], outputs: ['a2'], attrs: { alpha: 0.2 } },
      ct('t3', 'a2', 4, 2, 1), // 5×5 → 10×10
    ],
  };
}

describe('UpconvNet decoders', function () {
  describe('the transposed convolution in training', function () {
    const batch = 2;
    const rand = mulberry32(5);
    const g = smallGraph(3);
    const x = Float32Array.from({ length: batch * 27 }, () => 2 * rand() - 1);
    const target = Float32Array.from({ length: batch * 2 * 100 }, () => rand());
    const refLoss = () => {
      const y = runGraphReference(g, x, batch).get('t3')!.data;
      let s = 0;
      for (let i = 0; i < y.length; i++) s += (y[i]! - target[i]!) ** 2;
      return s / y.length;
    };

    it('weight and bias gradients (pixel loss) equal float64 central finite differences (rel ≤ 1e-3)', async () => {
      const engine = await getEngine();
      const tr = new Trainer(engine, g, { batch });
      const { grads, loss } = await tr.gradients(x, (out, grad) => pixelLoss(out, target, batch, grad));
      expect(Math.abs(loss - refLoss())).to.be.below(1e-5);
      for (const [name, grad] of grads) {
        const p = g.params.get(name)!;
        const orig = p.data;
        const d64 = Float64Array.from(orig);
        p.data = d64 as unknown as Float32Array;
        const byMag = [...grad.keys()].sort((a, b) => Math.abs(grad[b]!) - Math.abs(grad[a]!));
        const picks = [...byMag.slice(0, 3), ...[0, 1, 2].map(() => Math.floor(rand() * grad.length))];
        const scale = Math.abs(grad[byMag[0]!]!);
        for (const i of picks) {
          const h = 1e-5;
          const v = d64[i]!;
          d64[i] = v + h;
          const lp = refLoss();
          d64[i] = v - h;
          const lm = refLoss();
          d64[i] = v;
          const fd = (lp - lm) / (2 * h);
          const rel = Math.abs(fd - grad[i]!) / Math.max(Math.abs(fd), 1e-3 * scale);
          expect(rel, `${name}[${i}]: GPU ${grad[i]}, finite difference ${fd}`).to.be.at.most(1e-3);
        }
        p.data = orig;
      }
      tr.destroy();
    });

    it('the input gradient (through all three transposed convs) equals float64 central finite differences', async () => {
      const engine = await getEngine();
      const model = new Model(engine, g);
      const seed = Float32Array.from({ length: batch * 200 }, () => 2 * rand() - 1);
      const rec = await model.record(x, batch, ['t3']);
      const dx = (await new Reverser(model).run(rec, 't3', seed, ['features'], 'gradient')).get('features')!.data;
      rec.dispose();
      const dot = (xx: Float64Array) => {
        const y = runGraphReference(g, xx, batch).get('t3')!.data;
        let s = 0;
        for (let i = 0; i < y.length; i++) s += y[i]! * seed[i]!;
        return s;
      };
      const x64 = Float64Array.from(x);
      const scale = Math.max(...dx.map(Math.abs));
      for (let i = 0; i < x64.length; i++) {
        const h = 1e-5;
        const v = x64[i]!;
        x64[i] = v + h;
        const lp = dot(x64);
        x64[i] = v - h;
        const lm = dot(x64);
        x64[i] = v;
        const fd = (lp - lm) / (2 * h);
        expect(Math.abs(fd - dx[i]!) / Math.max(Math.abs(fd), 1e-3 * scale), `features[${i}]: GPU ${dx[i]}, finite difference ${fd}`).to.be.at.most(1e-3);
      }
      model.destroy();
    });

    it('the ONNX writer writes ConvTranspose and LeakyRelu: loadOnnx and onnxruntime-node give the same output', async () => {
      const engine = await getEngine();
      for (const gr of [g, decoderGraph('fc1', [500], 2), decoderGraph('pool2', [50, 4, 4], 2), decoderGraph('conv1', [20, 24, 24], 2)]) {
        const bytes = writeOnnx(gr, { metadata: { 'loupe.test': 'yes' } });
        const back = loadOnnx(bytes, 'roundtrip.onnx');
        const inShape = gr.input.shape.slice(1);
        const per = inShape.reduce((a, b) => a * b, 1);
        const xx = Float32Array.from({ length: 3 * per }, () => rand());
        const out = gr.outputs[0]!;
        const a = (await new Model(engine, gr).run(xx, 3)).get(out)!.data;
        const b = (await new Model(engine, back).run(xx, 3)).get(out)!.data;
        const c = (await ortRun(await ortSession(bytes), xx, [3, ...inShape], [out]))[out]!;
        const m = Math.max(...a.map(Math.abs));
        for (let i = 0; i < a.length; i++) {
          expect(Math.abs(a[i]! - b[i]!), `${gr.name} loadOnnx`).to.be.at.most(1e-6 * m);
          expect(Math.abs(a[i]! - c[i]!), `${gr.name} onnxruntime-node`).to.be.at.most(1e-4 * m);
        }
      }
    });
  });
});
