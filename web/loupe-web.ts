// The browser bundle's entry: the same engine, kernels and loaders as in Node, the explainer
// registry (list the methods, build a form from a method's option schema, run it with progress and
// an AbortSignal) and the rendering (colour maps, overlays, each method's figures) for canvases.
export { Engine } from '../engine/gpu.ts';
export { Model } from '../engine/runner.ts';
export { classify, classifierValues } from '../engine/classify.ts';
export { inferShapes } from '../engine/shapes.ts';
export { loadOnnx, readTensorProto } from '../loaders/onnx.ts';
export { loadCaffe } from '../loaders/caffe.ts';
export { readNpy, writeNpy } from '../loaders/npy.ts';
export { preprocessImage } from '../loaders/preprocess.ts';
export * from '../engine/errors.ts';
export { explainers, explainer, type ExplainerEntry } from '../explainers/registry.ts';
export type { Explanation, ExplainInputs, Progress } from '../explainers/explanation.ts';
export { validateOptions, flagName, optionLines, optionUsage, parseClasses, parseRanges, type OptionSpec, type OptionContext, type FileInput } from '../explainers/options.ts';
export * from '../render/render.ts';
export { figures, drawFigure, shownImages, etalonImage, plot, type Figure, type FigureContext } from '../render/figures.ts';
