// The browser bundle's entry: the same engine, kernels and loaders as in Node.
export { Engine } from '../engine/gpu.ts';
export { Model } from '../engine/runner.ts';
export { classify, classifierValues } from '../engine/classify.ts';
export { inferShapes } from '../engine/shapes.ts';
export { loadOnnx, readTensorProto } from '../loaders/onnx.ts';
export { loadCaffe } from '../loaders/caffe.ts';
export { readNpy, writeNpy } from '../loaders/npy.ts';
export * from '../engine/errors.ts';
