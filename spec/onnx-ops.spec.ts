// ONNX's per-operator conformance cases (onnx/backend/test/data/pytorch-converted): each model
// is one op; Loupe's output must equal the stored expected output.
import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createNodeEngine } from '../cli/gpu-node.ts';
import type { Engine } from '../engine/gpu.ts';
import { Model } from '../engine/runner.ts';
import { loadOnnx, readTensorProto } from '../loaders/onnx.ts';

const DIR = join(import.meta.dirname, '..', '..', 'shared', 'data', 'onnx', 'onnx-op-tests');
const read = (...p: string[]) => new Uint8Array(readFileSync(join(DIR, ...p)));

describe('ONNX operator conformance cases', function () {
  let engine: Engine;
  before(async () => {
    engine = await createNodeEngine();
  });
  for (const name of readdirSync(DIR).sort()) {
    it(name, async () => {
      const g = loadOnnx(read(name, 'model.onnx'), `${name}/model.onnx`);
      const x = readTensorProto(read(name, 'test_data_set_0', 'input_0.pb'), 'input_0.pb');
      const want = readTensorProto(read(name, 'test_data_set_0', 'output_0.pb'), 'output_0.pb');
      // The cases declare their real input shape; Loupe's graph takes the batch from the data.
      expect(x.dims.slice(1)).to.deep.equal(g.input.shape.slice(1));
      const model = new Model(engine, g);
      const got = (await model.run(x.data, x.dims[0]!)).get(g.outputs[0]!)!;
      model.destroy();
      expect(got.shape).to.deep.equal(want.dims);
      let maxRef = 0;
      let maxErr = 0;
      for (let i = 0; i < want.data.length; i++) {
        maxRef = Math.max(maxRef, Math.abs(want.data[i]!));
        maxErr = Math.max(maxErr, Math.abs(want.data[i]! - got.data[i]!));
      }
      expect(maxErr, `max |Δ| ${maxErr}`).to.be.at.most(1e-5 + 1e-5 * maxRef);
    });
  }
});
