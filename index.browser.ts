/// <reference types="@webgpu/types" preserve="true" />
// The package's browser entry: `loupe` under a bundler's "browser" condition, or `loupe/browser`.
// Engine, loaders, explainers and rendering; nothing here may import a Node built-in or the
// `webgpu` package (spec/entries.spec.ts walks the import graph). Give it the browser's GPU:
// `await Engine.create(navigator.gpu)`. index.ts adds the Node-only parts.
export { Engine, type EngineOptions, type ConvAlgorithm } from './engine/gpu.ts';
export { Model, type Tensor, type RunOptions } from './engine/runner.ts';
export { classify, classifierValues, type Classification } from './engine/classify.ts';
export { inferShapes } from './engine/shapes.ts';
export {
  tune, tuneShape, candidatesFor, defaultChoice, shapeClass, kernelHash, cachedTuning, withTuning, parseTuneCache, choiceText, graphShapes, SYNTHETIC_SHAPES,
  type Tuning, type TuneCache, type TuneChoice, type TuneShape, type TuneClass, type TuneCandidate, type TuneOptions,
} from './engine/tune.ts';
export { readTuneCacheIdb, writeTuneCacheIdb, TUNE_CACHE_LOCATION } from './web/tune-cache.ts';
export { summarise, shapeText, totalText, type LayerRow, type ModelSummary } from './engine/summary.ts';
export type { Graph, Node, Param, Preprocess } from './engine/ir.ts';
export * from './engine/errors.ts';
export { loadOnnx, readTensorProto } from './loaders/onnx.ts';
export { loadCaffe } from './loaders/caffe.ts';
export { readNpy, writeNpy } from './loaders/npy.ts';
export { preprocessImage, gaussianBlur } from './loaders/preprocess.ts';
export type { RGBAImage } from './loaders/image.ts';
export { saliency, guidedBackprop, deconvnet, gradCam, gradientCam, eigenCam, guidedGradCam, occlusion } from './explainers/gradients.ts';
export { gradientCamMap, eigenProjection, CAM_TITLES, CAM_FORMULAS, type CamVariant, type GradientCam } from './explainers/cam.ts';
export { etalons } from './explainers/etalon.ts';
export { maxOut, invert } from './explainers/optimize.ts';
export { predictionDifference } from './explainers/pda.ts';
export { rise } from './explainers/rise.ts';
export { ablationCam, scoreCam } from './explainers/ablation.ts';
export { lrp, rulePicker, inputBounds, LRP_RULES, LRP_FIRST, type LrpOptions, type LrpResult } from './explainers/lrp.ts';
export { buildPatchModel, encodePatchModel, decodePatchModel } from './explainers/patch-model.ts';
export { explainers, explainer, type ExplainerEntry } from './explainers/registry.ts';
export { evaluate, evaluationTable, perturbationCurves, pointingGame, trapezoidAuc, rankPixels, METRICS, type Evaluation, type MethodRequest, type EvaluateOptions } from './explainers/evaluate.ts';
export {
  infidelity, infidelityProbe, infidelityScores, maxSensitivity, sensitivityCopies, completenessOf, infidelityNoise, sensitivityNoise, pixelSpan,
  INFIDELITY_SAMPLES, INFIDELITY_SIGMA, SENSITIVITY_SAMPLES, SENSITIVITY_RADIUS, COMPLETENESS,
  type InfidelityOptions, type InfidelityProbe, type InfidelityResult, type SensitivityOptions, type SensitivityResult,
} from './explainers/faithfulness.ts';
export { evaluationFigure, curvesFigure, plotCurves } from './render/evaluate.ts';
export type { Explanation, ExplainInputs, Progress } from './explainers/explanation.ts';
export { validateOptions, flagName, optionLines, optionUsage, parseClasses, parseRanges, type OptionSpec, type OptionContext, type FileInput } from './explainers/options.ts';
export * from './render/render.ts';
export { figures, drawFigure, shownImages, etalonImage, plot, type Figure, type FigureContext } from './render/figures.ts';
// network dissection and Net2Vec (issue 16): concept data sets, the two methods, their figures
export { checkConceptSet, resizeLabels, mergeConceptSets, addPlanes, type Concept, type ConceptSample, type ConceptSet } from './loaders/concepts.ts';
export { colourConcepts, colourMap, rgbToLab, nearestColour, COLOUR_PROTOTYPES, COLOUR_CONCEPTS } from './loaders/colour-concepts.ts';
export { syntheticConcepts, SYNTHETIC_PALETTE, SYNTHETIC_BACKGROUND, SYNTHETIC_CONCEPTS } from './loaders/synthetic-concepts.ts';
export { adeConceptSet, adeScene } from './loaders/ade20k.ts';
export { dissect, unitMask, upsampleMap, inputImages, dissectionExplanation, dissectionOf, type DissectOptions, type Dissection, type LayerDissection, type UnitDissection } from './explainers/dissect.ts';
export { net2vec, type Net2VecOptions, type Net2VecResult, type ConceptVector } from './explainers/net2vec.ts';
export { UnitQuantiles, ConceptTally, labelPlanes, iouTable } from './engine/dissect.ts';
export { Net2VecTrainer } from './engine/net2vec.ts';
export { dissectionSummary, unitStrip, bestUnitsSheet, net2vecFigure } from './render/dissect.ts';
// adversarial examples (issue 17)
export { attack, activationChange, lossSeed, type AttackOptions, type AttackResult } from './explainers/adversarial.ts';
