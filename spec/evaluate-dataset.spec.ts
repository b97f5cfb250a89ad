// loupe evaluate as a data-set run (issue 18): --out DIR/ evaluates one image per item (NAME.json,
// NAME.npy, NAME-input.png, a manifest line), and a finisher writes DIR/evaluation.csv, .json, .png
// and -curves.png over every image. Checked here: three shards joined by loupe merge give the same
// bytes as one run; a rerun computes nothing and rewrites nothing; each image's numbers equal those
// of an --out PREFIX run over the same images; an image's results (seeded metrics too) do not
// depend on the other images of its run; bad input fails with one line and no partial file.
// LeNet-ReLU on nine MNIST test digits, saliency and Grad-CAM, ten deletion/insertion steps.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDigits } from './digits.ts';

const ROOT = join(import.meta.dirname, '..');
const LENET = join(ROOT, 'weights/lenet-relu-mnist.onnx');

/** `loupe ARGS`: exit code, stdout, and stderr without the progress bars' lines. */
function loupe(...args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/loupe.js'), ...args], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
  const lines = r.stderr.split('\n').filter((l) => l && !l.startsWith('Warning: max') && !/^evaluate \[/.test(l) && !/already done.*resuming$/.test(l));
  return { code: r.status, out: r.stdout, lines, err: lines.join('\n') };
}

const read = (...p: string[]) => readFileSync(join(...p));
const json = (...p: string[]) => JSON.parse(readFileSync(join(...p), 'utf8'));
const manifestLines = (dir: string) => readFileSync(join(dir, 'manifest.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { item: string; outputs: { file: string }[] });
const AGGREGATES = ['evaluation.csv', 'evaluation.json', 'evaluation.png', 'evaluation-curves.png'];

describe('loupe evaluate --out DIR/: a data-set run', function () {
  this.timeout(300_000);
  const tmp = mkdtempSync(join(tmpdir(), 'loupe-evaluate-dataset-'));
  const digits = join(tmp, 'digits');
  const names = writeDigits(digits, 9);
  const stems = names.map((n) => n.replace(/\.png$/, ''));
  const common = ['evaluate', '--model', LENET, '--images', digits, '--methods', 'saliency,gradcam', '--method-options', 'gradcam:layer=conv2', '--steps', '10'];
  const one = join(tmp, 'one');

  before(() => {
    const r = loupe(...common, '--out', `${one}/`);
    expect(r.code, r.err).to.equal(0);
  });

  it('writes per image NAME.json, NAME.npy and NAME-input.png with its manifest line, then evaluation.csv/.json/.png/-curves.png recorded as @evaluation', () => {
    for (const s of stems) for (const f of [`${s}.json`, `${s}.npy`, `${s}-input.png`]) expect(existsSync(join(one, f)), f).to.equal(true);
    const lines = manifestLines(one);
    expect(lines.map((l) => l.item)).to.deep.equal([...names, '@evaluation']);
    expect(lines[9]!.outputs.map((o) => o.file)).to.deep.equal(AGGREGATES);
    const csv = read(one, 'evaluation.csv').toString().trim().split('\n');
    expect(csv[0]).to.equal('method,image,class,metric,value');
    expect(csv).to.have.length(1 + 2 * (9 + 1) * 2); // 2 methods × (9 images + the mean) × 2 metrics
    const rec = json(one, `${stems[0]}.json`);
    expect(rec.image).to.equal(names[0]);
    expect(rec.methods.map((m: { method: string }) => m.method)).to.deep.equal(['saliency', 'gradcam']);
    expect(rec.methods[0].result.deletion.curve).to.have.length(11);
    expect(json(one, 'evaluation.json').images).to.deep.equal(names);
  });

  it('three shards (--shard i/3, separate folders) joined by loupe merge give the same bytes as the one run', () => {
    const shards = [0, 1, 2].map((i) => join(tmp, `shard-${i}`));
    shards.forEach((dir, i) => {
      const r = loupe(...common, '--shard', `${i}/3`, '--out', dir);
      expect(r.code, r.err).to.equal(0);
      // shard i holds the images at positions i, i+3, i+6
      expect(manifestLines(dir).filter((l) => !l.item.startsWith('@')).map((l) => l.item)).to.deep.equal(names.filter((_, p) => p % 3 === i));
    });
    const merged = join(tmp, 'merged');
    const m = loupe('merge', ...shards, '--out', merged);
    expect(m.code, m.err).to.equal(0);
    for (const f of AGGREGATES) expect(read(merged, f).equals(read(one, f)), f).to.equal(true);
    for (const s of stems) for (const f of [`${s}.json`, `${s}.npy`, `${s}-input.png`]) expect(read(merged, f).equals(read(one, f)), f).to.equal(true);
    // a shard's own aggregates cover its own images only
    expect(json(shards[1]!, 'evaluation.json').images).to.deep.equal([names[1], names[4], names[7]]);
  });

  it('a rerun computes nothing and rewrites nothing', () => {
    const before = readdirSync(one).map((f) => [f, statSync(join(one, f)).mtimeMs] as const);
    const lines = manifestLines(one).length;
    const r = loupe(...common, '--out', `${one}/`);
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.match(/: 9 images, 0 computed, 9 already done\n$/);
    expect(manifestLines(one)).to.have.length(lines);
    expect(readdirSync(one).map((f) => [f, statSync(join(one, f)).mtimeMs] as const)).to.deep.equal(before);
  });

  it('killed with SIGKILL twice mid-run, then rerun: every file byte-identical to the uninterrupted run', async () => {
    const out = join(tmp, 'killed');
    // finished lines (a line being appended is not counted)
    const items = () => (existsSync(join(out, 'manifest.jsonl')) ? readFileSync(join(out, 'manifest.jsonl'), 'utf8').split('\n').length - 1 : 0);
    for (const after of [2, 5]) {
      const child = spawn(process.execPath, [join(ROOT, 'bin/loupe.js'), ...common, '--out', `${out}/`], { stdio: 'ignore', detached: true, env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp', LOUPE_TEST_ITEM_DELAY_MS: '300' } });
      const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
      const t0 = Date.now();
      while (items() < after && Date.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 20));
      process.kill(-child.pid!, 'SIGKILL'); // its group: bin/loupe.js and the CLI process it runs
      expect(await exited).to.equal(null); // killed, not finished
    }
    expect(items()).to.be.within(5, 8);
    expect(existsSync(join(out, 'evaluation.csv'))).to.equal(false);
    const r = loupe(...common, '--out', `${out}/`);
    expect(r.code, r.err).to.equal(0);
    expect(r.out, r.out).to.match(/: 9 images, [1-4] computed, [5-8] already done/);
    expect(manifestLines(out).filter((l) => !l.item.startsWith('@')).map((l) => l.item)).to.deep.equal(names); // none computed twice
    expect(readdirSync(out).sort()).to.deep.equal(readdirSync(one).sort());
    for (const f of readdirSync(one).filter((x) => x !== 'manifest.jsonl')) expect(read(out, f).equals(read(one, f)), f).to.equal(true);
  });

  it("each image's numbers equal those of loupe evaluate --out PREFIX over the same images, and the aggregates its table and means", () => {
    const prefix = join(tmp, 'prefix', 'ev');
    const r = loupe(...common, '--out', prefix);
    expect(r.code, r.err).to.equal(0);
    const batch = json(`${prefix}.json`);
    const close = (a: number, b: number, what: string) => expect(Math.abs(a - b), `${what}: ${a} vs ${b}`).to.be.at.most(1e-6 * Math.max(Math.abs(b), 1e-12));
    let compared = 0;
    batch.methods.forEach((bm: { method: string; mean: Record<string, number | number[]>; images: Record<string, { auc: number; curve: number[] } | number | string>[] }, j: number) => {
      bm.images.forEach((bi, i) => {
        const rec = json(one, `${stems[i]}.json`).methods[j];
        expect(rec.method).to.equal(bm.method);
        expect(rec.result.class).to.equal(bi.class);
        for (const metric of ['deletion', 'insertion'] as const) {
          const want = bi[metric] as { auc: number; curve: number[] };
          close(rec.result[metric].auc, want.auc, `${bm.method} ${names[i]} ${metric} AUC`);
          want.curve.forEach((v, k) => close(rec.result[metric].curve[k], v, `${bm.method} ${names[i]} ${metric} step ${k}`));
          compared++;
        }
      });
      const agg = json(one, 'evaluation.json').methods[j];
      for (const metric of ['deletion', 'insertion']) close(agg.mean[metric], bm.mean[metric] as number, `${bm.method} mean ${metric}`);
    });
    expect(compared).to.equal(2 * 9 * 2);
    // the table lists the same rows (values within the tolerance above)
    const rows = (t: string) => t.trim().split('\n').map((l) => l.split(','));
    const a = rows(read(one, 'evaluation.csv').toString()), b = rows(readFileSync(`${prefix}.csv`, 'utf8'));
    expect(a.map((x) => x.slice(0, 4))).to.deep.equal(b.map((x) => x.slice(0, 4)));
    a.forEach((x, q) => q > 0 && close(Number(x[4]), Number(b[q]![4]), `csv row ${q}`));
  });

  it("seeded metrics (infidelity, sensitivity, randomisation): an image's results do not depend on the other images of its run, and two shards merged equal one run", () => {
    const seeded = ['evaluate', '--model', LENET, '--methods', 'saliency', '--steps', '4', '--metrics', 'deletion,infidelity,sensitivity,randomisation', '--infidelity-samples', '3', '--sensitivity-samples', '2', '--randomise-layers', '2', '--seed', '7'];
    const four = join(tmp, 'four');
    mkdirSync(four);
    for (const n of names.slice(0, 4)) copyFileSync(join(digits, n), join(four, n));
    const all = join(tmp, 'seeded-all');
    expect(loupe(...seeded, '--images', four, '--out', `${all}/`).code).to.equal(0);
    // digit 2 alone, through a list: its files are those of the run over four images
    writeFileSync(join(four, 'only.txt'), `${names[2]}\n`);
    const alone = join(tmp, 'seeded-alone');
    const r = loupe(...seeded, '--images', join(four, 'only.txt'), '--out', `${alone}/`);
    expect(r.code, r.err).to.equal(0);
    for (const f of [`${stems[2]}.json`, `${stems[2]}.npy`]) expect(read(alone, f).equals(read(all, f)), f).to.equal(true);
    const rec = json(all, `${stems[2]}.json`).methods[0];
    expect(rec.result.infidelity.infidelity).to.be.a('number');
    expect(rec.result.sensitivity.values).to.have.length(2);
    expect(rec.randomisation).to.have.length(2);
    // each image has its own noise streams, keyed by its name
    expect(json(all, `${stems[0]}.json`).noiseKey).not.to.equal(json(all, `${stems[1]}.json`).noiseKey);
    const shards = [0, 1].map((i) => join(tmp, `seeded-shard-${i}`));
    shards.forEach((dir, i) => expect(loupe(...seeded, '--images', four, '--shard', `${i}/2`, '--out', dir).code).to.equal(0));
    const merged = join(tmp, 'seeded-merged');
    expect(loupe('merge', ...shards, '--out', merged).code).to.equal(0);
    for (const f of [...AGGREGATES.filter((x) => x !== 'evaluation-curves.png'), 'evaluation-randomisation.png']) expect(read(merged, f).equals(read(all, f)), f).to.equal(true);
    expect(readFileSync(join(all, 'evaluation.csv'), 'utf8')).to.match(/^saliency,mean,,randomisation-spearman-abs,/m);
  });

  it('--shard 3/3, and a mask missing for an image of the shard: one line, exit 1, nothing written', () => {
    const out = join(tmp, 'bad-shard');
    const r = loupe(...common, '--shard', '3/3', '--out', out);
    expect(r.code, r.err).to.equal(1);
    expect(r.lines).to.deep.equal(['loupe: --shard 3/3: i must be 0 to N-1 and N at least 1']);
    expect(r.out).to.equal('');
    expect(existsSync(out)).to.equal(false);
    const masks = join(tmp, 'masks');
    mkdirSync(masks);
    for (const n of names.slice(0, 5)) copyFileSync(join(digits, n), join(masks, n)); // any picture is a mask: non-zero = the region
    const m = loupe(...common, '--masks', masks, '--shard', '1/3', '--out', out);
    expect(m.code, m.err).to.equal(1);
    expect(m.lines).to.deep.equal([`loupe: --masks ${masks}: no mask ${stems[7]}.png for image ${names[7]}`]);
    expect(existsSync(out)).to.equal(false);
  });

  it('an image that will not decode: one line naming it, exit 1, no file of it and no aggregate; the other images are done', () => {
    const dir = join(tmp, 'with-bad');
    mkdirSync(dir);
    for (const n of names.slice(0, 2)) copyFileSync(join(digits, n), join(dir, n));
    writeFileSync(join(dir, 'digit-0000b.png'), 'not an image');
    const out = join(tmp, 'bad-image');
    const r = loupe(...common.slice(0, 3), '--images', dir, ...common.slice(5), '--out', `${out}/`);
    expect(r.code, r.err).to.equal(1);
    expect(r.lines).to.have.length(1);
    expect(r.lines[0]).to.match(/^loupe: .*digit-0000b\.png: .*\(1 of 3 images failed and were not written; the other 2 are done/);
    const files = readdirSync(out).sort();
    expect(files.filter((f) => f.startsWith('digit-0000b') || f.startsWith('evaluation') || f.endsWith('.tmp') || f.startsWith('.'))).to.deep.equal([]);
    expect(files).to.deep.equal(['digit-0000-input.png', 'digit-0000.json', 'digit-0000.npy', 'digit-0001-input.png', 'digit-0001.json', 'digit-0001.npy', 'manifest.jsonl', 'run.json']);
    expect(manifestLines(out).map((l) => l.item)).to.deep.equal(names.slice(0, 2));
  });
});
