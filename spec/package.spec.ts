// The package as a user gets it: `npm pack` (which builds), `npm install` of the tarball into an
// empty folder, then the `loupe` command and the README's library example from there.
import { expect } from 'chai';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');

function sh(cmd: string, args: string[], opts: SpawnSyncOptions) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 600_000, ...opts });
  const out = String(r.stdout ?? '');
  const err = String(r.stderr ?? '');
  return { code: r.status, out, err, all: `${cmd} ${args.join(' ')}: exit ${r.status}\n${out}\n${err}` };
}

/** Every file under `dir` with its size and modification time. */
const snapshot = (dir: string) =>
  (readdirSync(dir, { recursive: true }) as string[]).sort().map((f) => { const st = statSync(join(dir, f)); return `${f} ${st.size} ${st.mtimeMs}`; });

/** The ```js blocks of the README's "## Library" section, in order (each continues the ones before). */
function readmeExamples(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Library'), readme.indexOf('\n## ', readme.indexOf('\n## Library') + 1));
  const blocks = [...section.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!);
  if (blocks.length < 2) throw new Error('README.md: expected the classify and explain ```js blocks under ## Library');
  return blocks;
}

describe('the npm package (pack, install, run)', function () {
  this.timeout(900_000);
  const tmp = mkdtempSync(join(tmpdir(), 'loupe-pack-'));
  const app = join(tmp, 'app');
  const env = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' };
  let pack: { filename: string; size: number; files: { path: string }[] };

  before(function () {
    const p = sh('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: ROOT, env });
    expect(p.code, p.all).to.equal(0);
    pack = JSON.parse(p.out.slice(p.out.indexOf('[')))[0];
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    const i = sh('npm', ['install', join(tmp, pack.filename), '--prefer-offline', '--no-audit', '--no-fund'], { cwd: app, env });
    expect(i.code, i.all).to.equal(0);
  });

  it('the tarball holds the built JS, .d.ts, bin, the two shipped weights, README and LICENSE, and no sources', () => {
    const files = pack.files.map((f) => f.path);
    for (const f of ['package.json', 'README.md', 'LICENSE', 'bin/loupe.js', 'dist/index.js', 'dist/index.d.ts', 'dist/index.browser.js', 'dist/index.browser.d.ts',
      'dist/cli/main.js', 'dist/loupe-web.js', 'weights/lenet-relu-mnist.onnx', 'weights/mnist-test-0.png'])
      expect(files, f).to.include(f);
    const stray = files.filter((f) => /^(spec|scripts|examples|engine|kernels|loaders|explainers|cli|web)\/|\.npy$|\.wgsl$|\.map$|(?<!\.d)\.ts$/.test(f));
    expect(stray).to.deep.equal([]);
    expect(pack.size, 'packed bytes').to.be.below(5e6);
  });

  it('npx loupe demo runs from the installed package, writes its outputs and nothing into the package', () => {
    const prefix = join(tmp, 'demo');
    const installed = join(app, 'node_modules', 'loupe');
    const before = snapshot(installed);
    const r = sh('npx', ['--no', 'loupe', 'demo', '--out', prefix], { cwd: app, env });
    expect(r.code, r.all).to.equal(0);
    expect(r.out).to.match(/100\.00 %\s+7\s+7|9\d\.\d\d %\s+7\s+7/);
    expect(r.err).not.to.contain('artificially reduced');
    for (const f of ['etalons.png', 'etalons.npy', 'etalons.json', 'saliency.png', 'saliency.npy', 'saliency.json']) expect(existsSync(`${prefix}-${f}`), f).to.equal(true);
    expect(snapshot(installed)).to.deep.equal(before);
  });

  it("the README's library examples classify the shipped digit as 7 and explain it with a registry method", () => {
    const [classify, explain] = readmeExamples();
    writeFileSync(join(app, 'example.mjs'), classify!);
    let r = sh(process.execPath, ['example.mjs'], { cwd: app, env });
    expect(r.code, r.all).to.equal(0);
    expect(r.out.trim()).to.equal('7');
    // the second block continues the first (hoisted imports, then the code in order)
    writeFileSync(join(app, 'explain.mjs'), `${classify}\n${explain}`);
    r = sh(process.execPath, ['explain.mjs'], { cwd: app, env });
    expect(r.code, r.all).to.equal(0);
    expect(r.out.trim().split('\n')).to.deep.equal(['7', '[ 28, 28 ] [ 7 ]']);
  });

  it('the types check in a TypeScript consumer (Node entry and loupe/browser)', () => {
    writeFileSync(join(app, 'consumer.ts'), [
      "import { createNodeEngine, Model, loadOnnx, type Tensor } from 'loupe';",
      "import * as web from 'loupe/browser';",
      'export async function run(bytes: Uint8Array): Promise<Tensor | undefined> {',
      "  const engine: web.Engine = await createNodeEngine();",
      "  const g = loadOnnx(bytes, 'm.onnx');",
      '  return (await new Model(engine, g).run(new Float32Array(784), 1)).get(g.outputs[0]!);',
      '}',
      '',
    ].join('\n'));
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: [] }, files: ['consumer.ts'] }));
    const r = sh(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', app], { cwd: app, env });
    expect(r.code, r.all).to.equal(0);
  });
});
