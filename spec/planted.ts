// A model with planted detectors (issue 16): units whose weights are set so that each fires exactly
// on one colour of the synthetic concept set (loaders/synthetic-concepts.ts) and nowhere else.
// Input: 3×S×S pixels in 0..1 (preprocess scale 1/255, no mean). Per planted colour p:
//   diff   (1×1 conv, 6 channels per colour)  ReLU(x_c − p_c), ReLU(p_c − x_c) for c = R, G, B
//   dist   (1×1 conv)                          d = Σ of the six: the L1 distance |x − p|₁ ≥ 0
//   detect (1×1 conv)                          ReLU(ε − d): ε > 0 exactly where the pixel is p
// followed by unplanted units: one that detects cyan (0, 255, 255), a colour no synthetic image
// has, and one dead unit (zero weights and bias). `pool` (2×2 average pooling, stride 2) gives the
// same units at half resolution, to dissect through the bilinear upsampling.
// ε = 0.05 (L1 in 0..1 units: 12.75 grey levels): the palette's colours are at least 0.5 apart in
// L1 from each other, from the grey background (128) and from the texture's pattern (152).
import type { Graph, Node } from '../engine/ir.ts';
import { SYNTHETIC_PALETTE } from '../loaders/synthetic-concepts.ts';

export const PLANTED_EPSILON = 0.05;
export const CYAN: [number, number, number] = [0, 255, 255];

/** The colours the detect layer's units detect, in unit order: the palette, then cyan (absent from the data); the last unit is dead. */
export const PLANTED_UNITS: { name: string; rgb: [number, number, number] | null }[] = [
  ...SYNTHETIC_PALETTE.map((p) => ({ name: p.name, rgb: p.rgb })),
  { name: 'cyan (absent)', rgb: CYAN },
  { name: 'dead', rgb: null },
];

export function plantedDetectorGraph(size: number): Graph {
  const colours = PLANTED_UNITS.filter((u) => u.rgb).map((u) => u.rgb!);
  const P = colours.length, K = PLANTED_UNITS.length;
  const w1 = new Float32Array(6 * P * 3), b1 = new Float32Array(6 * P);
  colours.forEach((rgb, j) => {
    for (let c = 0; c < 3; c++) {
      const p = rgb[c]! / 255;
      const up = 6 * j + 2 * c, down = up + 1;
      w1[up * 3 + c] = 1;
      b1[up] = -p;
      w1[down * 3 + c] = -1;
      b1[down] = p;
    }
  });
  const w2 = new Float32Array(P * 6 * P);
  for (let j = 0; j < P; j++) for (let q = 0; q < 6; q++) w2[j * 6 * P + 6 * j + q] = 1;
  const w3 = new Float32Array(K * P), b3 = new Float32Array(K);
  for (let j = 0; j < P; j++) {
    w3[j * P + j] = -1;
    b3[j] = PLANTED_EPSILON;
  }
  const conv = (name: string, input: string, output: string, weight: string, bias?: string): Node => ({
    name, op: 'conv', inputs: [input], outputs: [output],
    attrs: { kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], group: 1, weight, ...(bias ? { bias } : {}) },
  });
  const relu = (name: string, input: string): Node => ({ name, op: 'relu', inputs: [input], outputs: [name], attrs: {} });
  return {
    name: 'planted-detectors', format: 'onnx',
    input: { name: 'x', shape: [-1, 3, size, size] },
    outputs: ['pool'],
    preprocess: { size: [size, size], scale: 1 / 255 },
    params: new Map([
      ['w1', { dims: [6 * P, 3, 1, 1], data: w1 }], ['b1', { dims: [6 * P], data: b1 }],
      ['w2', { dims: [P, 6 * P, 1, 1], data: w2 }],
      ['w3', { dims: [K, P, 1, 1], data: w3 }], ['b3', { dims: [K], data: b3 }],
    ]),
    nodes: [
      conv('diff_conv', 'x', 'diff_pre', 'w1', 'b1'), relu('diff', 'diff_pre'),
      conv('dist', 'diff', 'dist', 'w2'),
      conv('detect_conv', 'dist', 'detect_pre', 'w3', 'b3'), relu('detect', 'detect_pre'),
      { name: 'pool', op: 'avgpool', inputs: ['detect'], outputs: ['pool'], attrs: { kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 0], ceil: false } },
    ],
  };
}
