// `loupe dissect --out DIR/` as a data-set run (issue 18): the model with planted detectors
// (spec/planted.ts) on a synthetic Broden folder, 16 images in chunks of 4. One run equals today's
// `--out PREFIX` run (the same table, thresholds and figures); 3 shards joined by `loupe merge` equal
// the one run byte for byte; a run killed with SIGKILL after its second chunk and run again ends
// with the same files; a --thresholds file of other layers, units or quantile is refused in one line.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { tmpdir } from 'node:os';
import { runLoupe, expectOneLine } from './helpers.ts';
import { syntheticConcepts } from '../loaders/synthetic-concepts.ts';
import { writeBroden } from '../loaders/broden.ts';
import { writeOnnx } from '../loaders/onnx-writer.ts';
import { PLANTED_UNITS, plantedDetectorGraph } from './planted.ts';

const SIZE = 32;
const ROOT = join(import.meta.dirname, '..');

/** Every file under `dir` but the manifest (its lines hold times and workers) → its SHA-256. */
function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f !== 'manifest.jsonl') out[relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

const items = (dir: string) => readFileSync(join(dir, 'manifest.jsonl'), 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l).item as string).sort();

describe('loupe dissect --out DIR/: a data-set run of chunk tallies, sharded, merged, resumed', function () {
  this.timeout(600_000);
  const dir = mkdtempSync(join(tmpdir(), 'loupe-dissect-dataset-'));
  const broden = join(dir, 'broden');
  const onnx = join(dir, 'planted.onnx');
  const args = () => ['dissect', '--model', onnx, '--data', broden, '--layer', 'detect,pool', '--quantile', '0.1', '--top', '3', '--chunk', '4'];
  const one = join(dir, 'one');

  before(() => {
    const { set, images } = syntheticConcepts({ count: 16, size: SIZE, seed: 3 });
    for (const [p, bytes] of writeBroden(set, images)) {
      mkdirSync(dirname(join(broden, p)), { recursive: true });
      writeFileSync(join(broden, p), bytes);
    }
    writeFileSync(onnx, writeOnnx(plantedDetectorGraph(SIZE)));
    const r = runLoupe([...args(), '--out', `${one}/`]);
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.match(/4 chunks of 4 images, 4 computed, 0 already done/);
  });

  it('writes the thresholds, one tally per chunk and dissection.* from their sums', () => {
    expect(items(one)).to.deep.equal(['@dissection', 'tally-00000', 'tally-00001', 'tally-00002', 'tally-00003', 'thresholds']);
    for (const f of ['thresholds.json', 'tally-00003.json', 'tally-00003-1.npy', 'dissection.csv', 'dissection.json', 'dissection.png', 'dissection-pool-best.png', 'dissection-units/detect/unit-0000.png'])
      expect(existsSync(join(one, f)), f).to.equal(true);
    const json = JSON.parse(readFileSync(join(one, 'dissection.json'), 'utf8'));
    expect(json.images).to.equal(16);
    expect(json.seconds).to.equal(undefined); // nothing time-dependent: one run and merged shards write the same bytes
    const detect = json.layers[0].units as { concept: string; iou: number; detector: boolean }[];
    PLANTED_UNITS.forEach((p, k) => {
      if (!p.rgb || p.name.startsWith('cyan')) expect(detect[k]!.detector, `unit ${k}`).to.equal(false);
      else expect(detect[k]!.concept, `unit ${k}`).to.equal(p.name);
    });
    // a rerun of a finished run computes nothing and leaves every file as it was
    const before = files(one);
    const r = runLoupe([...args(), '--out', one]);
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.match(/0 computed, 4 already done/);
    expect(files(one)).to.deep.equal(before);
  });

  it("equals today's --out PREFIX run: the same table, thresholds, IoUs and figures", () => {
    const prefix = join(dir, 'prefix', 'p');
    mkdirSync(dirname(prefix));
    const r = runLoupe([...args().filter((a, i, all) => a !== '--chunk' && all[i - 1] !== '--chunk'), '--out', prefix]);
    expect(r.code, r.err).to.equal(0);
    expect(readFileSync(join(one, 'dissection.csv'), 'utf8')).to.equal(readFileSync(`${prefix}.csv`, 'utf8'));
    const a = JSON.parse(readFileSync(join(one, 'dissection.json'), 'utf8'));
    const b = JSON.parse(readFileSync(`${prefix}.json`, 'utf8'));
    delete b.seconds;
    for (const l of b.layers) delete l.seconds;
    expect(a).to.deep.equal(b);
    const t = JSON.parse(readFileSync(join(one, 'thresholds.json'), 'utf8'));
    t.layers.forEach((l: { thresholds: number[]; errors: number[] }, li: number) => {
      expect(l.thresholds).to.deep.equal(b.layers[li].units.map((u: { threshold: number }) => u.threshold));
      expect(l.errors).to.deep.equal(b.layers[li].units.map((u: { thresholdError: number }) => u.thresholdError));
    });
    for (const f of ['.png', '-detect-best.png', '-pool-best.png', '-units/pool/unit-0003.png'])
      expect(readFileSync(join(one, `dissection${f}`)).equals(readFileSync(`${prefix}${f}`)), f).to.equal(true);
  });

  it('3 shards joined by loupe merge equal the one run byte for byte', () => {
    const shards = [0, 1, 2].map((i) => join(dir, `shard${i}`));
    shards.forEach((s, i) => {
      // --shard i/N, or --shards N with the index of a Kubernetes Indexed Job
      const r = i === 1 ? runLoupe([...args(), '--shard', '1/3', '--out', s]) : runLoupe([...args(), '--shards', '3', '--out', s], { JOB_COMPLETION_INDEX: String(i) });
      expect(r.code, r.err).to.equal(0);
      expect(r.err).to.match(/detect thresholds \[/); // without --thresholds every shard pays for the quantile passes
      expect(r.err).to.match(/1 of 4 tally chunks here .*loupe merge of the shards' folders|2 of 4 tally chunks here/);
      expect(existsSync(join(s, 'dissection.csv'))).to.equal(false); // a shard alone has no table
    });
    expect(items(shards[0]!)).to.deep.equal(['tally-00000', 'tally-00003', 'thresholds']); // chunk c → shard c mod 3
    const merged = join(dir, 'merged');
    const r = runLoupe(['merge', ...shards, '--out', merged]);
    expect(r.code, r.err).to.equal(0);
    expect(files(merged)).to.deep.equal(files(one));
    expect(items(merged)).to.deep.equal(items(one));
  });

  it('a run killed with SIGKILL after its second chunk, run again, ends with the same files', async () => {
    const killed = join(dir, 'killed');
    const child = spawn(process.execPath, [join(ROOT, 'bin/loupe.js'), ...args(), '--out', `${killed}/`], {
      stdio: 'ignore', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp', LOUPE_TEST_ITEM_DELAY_MS: '2000' },
    });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, s) => r(s)));
    const tallies = () => (existsSync(join(killed, 'manifest.jsonl')) ? items(killed).filter((i) => i.startsWith('tally-')).length : 0);
    const t0 = Date.now();
    while (tallies() < 2 && Date.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    expect(await exited).to.equal('SIGKILL');
    expect(items(killed)).to.deep.equal(['tally-00000', 'tally-00001', 'thresholds']);
    expect(existsSync(join(killed, 'dissection.csv'))).to.equal(false);
    const r = runLoupe([...args(), '--out', killed]);
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.match(/2 computed, 2 already done/);
    expect(files(killed)).to.deep.equal(files(one));
    expect(items(killed)).to.deep.equal(items(one));
  });

  it('--thresholds FILE: a shard skips the quantile passes and writes the same tallies', () => {
    const s = join(dir, 'given');
    const r = runLoupe([...args(), '--thresholds', join(one, 'thresholds.json'), '--shard', '1/3', '--out', s]);
    expect(r.code, r.err).to.equal(0);
    expect(r.err).not.to.match(/thresholds \[/); // no quantile sweep on the progress bar
    const got = files(s), want = files(one);
    for (const f of ['thresholds.json', 'tally-00001.json', 'tally-00001-0.npy', 'tally-00001-1.npy']) expect(got[f], f).to.equal(want[f]);
  });

  it('refuses a --thresholds file of other layers, units or quantile, and --chunk without a folder, in one line', () => {
    const t = JSON.parse(readFileSync(join(one, 'thresholds.json'), 'utf8'));
    const write = (name: string, v: unknown) => {
      writeFileSync(join(dir, name), JSON.stringify(v));
      return join(dir, name);
    };
    const bad = join(dir, 'bad');
    const layers = write('t-layers.json', { ...t, layers: t.layers.slice(0, 1) });
    expectOneLine(runLoupe([...args(), '--thresholds', layers, '--out', `${bad}/`]), /--thresholds .*t-layers\.json: thresholds of layers detect; this run dissects detect,pool/);
    const units = write('t-units.json', { ...t, layers: [t.layers[0], { ...t.layers[1], units: 11, thresholds: t.layers[1].thresholds.slice(1), errors: t.layers[1].errors.slice(1) }] });
    expectOneLine(runLoupe([...args(), '--thresholds', units, '--out', `${bad}/`]), /t-units\.json: layer pool has 11 thresholds; the model's pool has 12 units/);
    const quantile = write('t-quantile.json', { ...t, quantile: 0.005 });
    expectOneLine(runLoupe([...args(), '--thresholds', quantile, '--out', `${bad}/`]), /t-quantile\.json: computed for another --quantile/);
    writeFileSync(join(dir, 't-broken.json'), '{"layers": [');
    expectOneLine(runLoupe([...args(), '--thresholds', join(dir, 't-broken.json'), '--out', `${bad}/`]), /t-broken\.json: not a thresholds\.json/);
    expect(existsSync(bad)).to.equal(false);
    expectOneLine(runLoupe([...args(), '--out', join(dir, 'prefix-x')]), /--chunk belongs to a data-set run/);
  });
});
