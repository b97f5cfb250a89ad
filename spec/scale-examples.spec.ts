// examples/scale runs as written: the Kubernetes Indexed Job's container command (sh -c with
// JOB_COMPLETION_INDEX set per pod, the shared volume at a temporary folder) and the Slurm array
// script (with the variables Slurm sets), each on two photos with SqueezeNet v1.0's Caffe model;
// `loupe merge` of their part folders equals one run of the same command.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoupe } from './helpers.ts';

const ROOT = join(import.meta.dirname, '..');
const CAFFE = join(ROOT, '..', 'shared', 'data', 'caffe', 'squeezenet_v1.0_deepcompression');
const PHOTOS = join(ROOT, '..', 'shared', 'data', 'images', 'caffe');

/** The Job's container command: the folded scalar under `args:` (one `- >-` item), lines joined by spaces. */
export function jobCommand(yaml: string): string {
  const lines = yaml.split('\n');
  const at = lines.findIndex((l) => /^\s*args:\s*$/.test(l));
  if (at < 0 || !/^\s*- >-\s*$/.test(lines[at + 1] ?? '')) throw new Error('indexed-job.yaml: no `args:` with one `- >-` item');
  const indent = (l: string) => l.length - l.trimStart().length;
  const base = indent(lines[at + 1]!);
  const words: string[] = [];
  for (const l of lines.slice(at + 2)) {
    if (l.trim() === '' || indent(l) <= base) break;
    words.push(l.trim());
  }
  return words.join(' ');
}

/** Every result file of a data-set folder (not its manifest or run.json) with its bytes. */
function results(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir)) if (f !== 'manifest.jsonl' && f !== 'run.json') out[f] = readFileSync(join(dir, f)).toString('base64');
  return out;
}

describe('examples/scale: the Indexed Job and the Slurm array, run here', function () {
  this.timeout(900_000);
  let tmp: string, bin: string, single: string;
  const env = () => ({ ...process.env, PATH: `${bin}:${process.env.PATH}`, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' });

  before(function () {
    if (!existsSync(join(CAFFE, 'squeezenet_v1.0_decoded.caffemodel'))) throw new Error(`${CAFFE}: SqueezeNet's Caffe model is missing (../shared/data)`);
    tmp = mkdtempSync(join(tmpdir(), 'loupe-scale-'));
    bin = join(tmp, 'bin');
    mkdirSync(bin);
    symlinkSync(join(ROOT, 'bin', 'loupe.js'), join(bin, 'loupe')); // `loupe` on PATH, as npm install -g gives
    // the shared volume: models and the two photos
    for (const d of ['shared/models', 'shared/photos']) mkdirSync(join(tmp, d), { recursive: true });
    for (const f of ['SqueezeNet_deploy.prototxt', 'squeezenet_v1.0_decoded.caffemodel']) symlinkSync(join(CAFFE, f), join(tmp, 'shared/models', f));
    for (const f of readdirSync(PHOTOS)) copyFileSync(join(PHOTOS, f), join(tmp, 'shared/photos', f));
    single = join(tmp, 'single');
    const r = runLoupe(['explain', '--method', 'gradcam', '--model', join(tmp, 'shared/models/SqueezeNet_deploy.prototxt'), '--weights', join(tmp, 'shared/models/squeezenet_v1.0_decoded.caffemodel'), '--layer', 'fire9/concat', '--images', join(tmp, 'shared/photos'), '--out', single]);
    expect(r.code, r.err).to.equal(0);
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("indexed-job.yaml: the 4 pods' command with JOB_COMPLETION_INDEX 0..3, merged, equals one run", () => {
    const cmd = jobCommand(readFileSync(join(ROOT, 'examples/scale/indexed-job.yaml'), 'utf8')).replaceAll('/shared/', `${tmp}/shared/`);
    expect(cmd).to.match(/--shards 4/);
    const parts: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', env: { ...env(), JOB_COMPLETION_INDEX: String(i) } });
      expect(r.status, r.stderr).to.equal(0);
      parts.push(join(tmp, 'shared/results/gradcam', `part-${i}`));
    }
    // two photos, four shards: pods 2 and 3 have nothing to do and say so
    expect(readFileSync(join(parts[2]!, 'manifest.jsonl'), 'utf8').trim()).to.equal('');
    const m = runLoupe(['merge', ...parts.filter((p) => existsSync(p)), '--out', join(tmp, 'shared/results/gradcam/all')]);
    expect(m.code, m.err).to.equal(0);
    expect(results(join(tmp, 'shared/results/gradcam/all'))).to.deep.equal(results(single));
  });

  it('slurm-array.sh: the 4 tasks as Slurm starts them, merged, equals one run', () => {
    const cwd = join(tmp, 'slurm');
    mkdirSync(join(cwd, 'logs'), { recursive: true });
    for (let i = 0; i < 4; i++) {
      const r = spawnSync('bash', [join(ROOT, 'examples/scale/slurm-array.sh')], {
        cwd, encoding: 'utf8',
        env: { ...env(), SLURM_JOB_ID: '77', SLURM_ARRAY_JOB_ID: '77', SLURM_ARRAY_TASK_ID: String(i), SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '0', MODELS: join(tmp, 'shared/models'), PHOTOS: join(tmp, 'shared/photos') },
      });
      expect(r.status, r.stderr).to.equal(0);
    }
    const parts = [0, 1, 2, 3].map((i) => join(cwd, 'results/gradcam', `part-${i}`));
    const m = runLoupe(['merge', ...parts, '--out', join(cwd, 'results/gradcam/all')]);
    expect(m.code, m.err).to.equal(0);
    expect(results(join(cwd, 'results/gradcam/all'))).to.deep.equal(results(single));
  });
});
