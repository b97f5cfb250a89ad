// The protobuf schemas: loaders/proto/*.pb.ts are what `npm run gen:proto` makes from the .proto
// files, fields the schemas leave out are skipped when reading, and cli/ort.ts's batch edit keeps
// every byte but the batch dimensions.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs/light.js';
import { PROTOS, protoModule, protoModulePath } from '../scripts/gen-proto.mjs';
import { loadOnnx, onnxRoot } from '../loaders/onnx.ts';
import { withFreeBatch } from '../cli/ort.ts';

const T = (name: string) => onnxRoot().lookupType(`onnx.${name}`);
const W = () => protobuf.Writer.create();
const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
};
/** A length-delimited field. */
const field = (no: number, body: Uint8Array) => W().uint32((no << 3) | 2).bytes(body).finish();
/** Fields no schema here declares, of every wire type (varint, 64-bit, bytes, group, 32-bit). */
const UNKNOWN = W()
  .uint32((90 << 3) | 0).int64(123456789)
  .uint32((91 << 3) | 1).fixed64(7)
  .uint32((92 << 3) | 2).bytes(new Uint8Array([8, 1, 18, 2, 104, 105]))
  .uint32((93 << 3) | 3).uint32((1 << 3) | 0).uint32(5).uint32((93 << 3) | 4)
  .uint32((94 << 3) | 5).fixed32(9)
  .finish();

/** A one-Relu model whose input and output are [batch, 3, 4, 4], with unknown fields at every level but the first dimension's. */
function reluModel(batch: number | 'N'): Uint8Array {
  const [Dim, ValueInfo, Graph, Model] = ['TensorShapeProto.Dimension', 'ValueInfoProto', 'GraphProto', 'ModelProto'].map(T) as protobuf.Type[];
  const valueInfo = (name: string) => {
    const dims = [batch, 3, 4, 4].map((d, i) => cat(Dim!.encode(typeof d === 'number' ? { dim_value: d } : { dim_param: d }).finish(), i > 0 ? UNKNOWN : new Uint8Array()));
    const shape = cat(...dims.map((d) => field(1, d)), UNKNOWN);
    const tensorType = cat(W().uint32(8).uint32(1).finish(), field(2, shape), UNKNOWN); // elem_type FLOAT, shape
    return cat(ValueInfo!.encode({ name }).finish(), field(2, cat(field(1, tensorType), UNKNOWN)), UNKNOWN);
  };
  const graph = cat(Graph!.encode({ name: 'g', node: [{ op_type: 'Relu', name: 'relu', input: ['x'], output: ['y'] }] }).finish(), field(11, valueInfo('x')), field(12, valueInfo('y')), UNKNOWN);
  return cat(Model!.encode({ ir_version: 8, opset_import: [{ domain: '', version: 13 }] }).finish(), UNKNOWN, field(7, graph), UNKNOWN);
}

describe('protobuf schemas (loaders/proto)', () => {
  for (const name of PROTOS)
    it(`${name}.pb.ts is what npm run gen:proto makes from ${name}.proto`, async function () {
      this.timeout(60_000);
      expect(readFileSync(protoModulePath(name), 'utf8')).to.equal(await protoModule(name));
    });

  it('skips fields the schema does not declare, of every wire type and at every level', () => {
    const g = loadOnnx(reluModel(1), 'unknown-fields.onnx');
    expect(g.input).to.deep.equal({ name: 'x', shape: [-1, 3, 4, 4] });
    expect(g.nodes.map((n) => [n.op, n.inputs, n.outputs])).to.deep.equal([['relu', ['x'], ['y']]]);
  });

  it("cli/ort.ts's withFreeBatch makes the batch symbolic and copies every other byte", () => {
    const fixed = reluModel(1);
    const free = reluModel('N');
    expect(Buffer.from(withFreeBatch(fixed)).equals(Buffer.from(free))).to.equal(true);
    expect(Buffer.from(withFreeBatch(free)).equals(Buffer.from(free))).to.equal(true);
    const M = T('ModelProto');
    const m = M.toObject(M.decode(withFreeBatch(fixed)), { longs: Number });
    for (const vi of [m.graph.input[0], m.graph.output[0]])
      expect(vi.type.tensor_type.shape.dim).to.deep.equal([{ dim_param: 'N' }, { dim_value: 3 }, { dim_value: 4 }, { dim_value: 4 }]);
  });
});
