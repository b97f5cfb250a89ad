// The package's Node entry (`import { ... } from 'loupe'`): everything of the browser entry, plus
// Dawn through the `webgpu` package (createNodeEngine) and PNG / JPEG files (pngjs needs zlib).
export * from './index.browser.ts';
export { createNodeEngine, nodeGpu } from './cli/gpu-node.ts';
export { readTuneCache, writeTuneCache, tuneCachePath } from './cli/tune-cache.ts';
export { decodeImage, encodePng, detectImageFormat } from './loaders/image.ts';
export { readBroden, writeBroden, type BrodenSet, type BrodenOptions } from './loaders/broden.ts';
