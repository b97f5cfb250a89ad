// The package's entries (index.ts for Node, index.browser.ts for browsers): the browser entry's
// import graph reaches no Node built-in and not the `webgpu` package, and both export the API.
import { expect } from 'chai';
import { join, relative } from 'node:path';
import { build, type BuildFailure } from 'esbuild';

const ROOT = join(import.meta.dirname, '..');

/**
 * Bundles `entry` as a browser bundler would (platform browser: a package's "browser" field may
 * stub a built-in out, as protobufjs does for its guarded require('fs')); returns what stops it:
 * each import of a Node built-in or of a file of the `webgpu` package.
 */
async function nodeImports(entry: string): Promise<string[]> {
  try {
    const r = await build({ entryPoints: [join(ROOT, entry)], bundle: true, write: false, format: 'esm', platform: 'browser', metafile: true, logLevel: 'silent' });
    return Object.keys(r.metafile.inputs).filter((f) => f.includes('node_modules/webgpu/'));
  } catch (e) {
    return (e as BuildFailure).errors.map((m) => `${m.text} (${m.location ? relative(ROOT, join(ROOT, m.location.file)) : '?'})`);
  }
}

describe('package entries', function () {
  this.timeout(120_000);

  it('the browser entry imports no Node built-in and not the webgpu package', async () => {
    expect(await nodeImports('index.browser.ts')).to.deep.equal([]);
  });

  it('the check sees them in the Node entry (createNodeEngine, pngjs)', async () => {
    const found = await nodeImports('index.ts');
    expect(found.some((f) => f.includes('webgpu')), found.join('\n')).to.equal(true);
    expect(found.some((f) => f.includes('"zlib"')), found.join('\n')).to.equal(true);
  });

  it('both export the engine, loaders, explainers, rendering and errors; only the Node entry the Node parts', async () => {
    const browser = await import('../index.browser.ts');
    const node = await import('../index.ts');
    const api = ['Engine', 'Model', 'classify', 'classifierValues', 'inferShapes', 'loadOnnx', 'loadCaffe', 'readNpy', 'writeNpy', 'preprocessImage',
      'saliency', 'gradCam', 'etalons', 'maxOut', 'predictionDifference', 'lrp', 'evaluate', 'infidelity', 'maxSensitivity', 'completenessOf', 'evaluationFigure', 'montage', 'overlay', 'LoupeError', 'ModelFormatError',
      'tune', 'kernelHash', 'cachedTuning', 'readTuneCacheIdb', 'writeTuneCacheIdb'];
    for (const name of api) {
      expect(browser, name).to.have.property(name).that.is.a('function');
      expect(node, name).to.have.property(name).that.equals((browser as Record<string, unknown>)[name]);
    }
    for (const name of ['createNodeEngine', 'decodeImage', 'encodePng', 'readTuneCache', 'writeTuneCache', 'tuneCachePath']) {
      expect(node, name).to.have.property(name).that.is.a('function');
      expect(browser, name).not.to.have.property(name);
    }
  });
});
