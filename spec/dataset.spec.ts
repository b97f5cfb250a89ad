// Data-set runs (cli/dataset.ts, cli/merge.ts): the image list, shards from flags and schedulers'
// variables, the manifest (a torn last line, another run's folder, changed files), and through
// bin/loupe.js as a user runs it: `loupe explain --images DIR --out DIR` killed with SIGKILL at
// random points three times and rerun ends byte-identical to an uninterrupted run, and three shards
// joined by `loupe merge` equal one run.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectOneLine, rng, runLoupe } from './helpers.ts';
import { writeDigits } from './digits.ts';
import { datasetItems, Manifest, MANIFEST, shardItems, shardOf, type RunIdentity } from '../cli/dataset.ts';
import { tempName } from '../cli/output.ts';

const ROOT = join(import.meta.dirname, '..');
const LENET = join(ROOT, 'weights/lenet-relu-mnist.onnx');
const ENV = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' };

/** Every file under `dir` but the manifest and run.json, with its bytes (base64), by relative path. */
function results(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile() && e.name !== MANIFEST && e.name !== 'run.json') out[join(e.parentPath, e.name).slice(dir.length + 1)] = readFileSync(join(e.parentPath, e.name)).toString('base64');
  return out;
}

/** The PIDs of a process's children (Linux /proc). */
function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(' ').filter((x) => x).map(Number));
  } catch {
    return [];
  }
}

const running = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const manifestLines = (dir: string) => (existsSync(join(dir, MANIFEST)) ? readFileSync(join(dir, MANIFEST), 'utf8') : '').split('\n').filter((l) => l).map((l) => JSON.parse(l) as { item: string; outputs: { file: string }[] });

describe('data-set runs (cli/dataset.ts)', function () {
  this.timeout(600_000);
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'loupe-dataset-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  describe('the images', () => {
    it('a folder gives its images sorted, subfolders included, named by relative path', () => {
      const d = join(tmp, 'tree');
      writeDigits(join(d, 'b'), 2);
      writeDigits(join(d, 'a'), 1, 5);
      writeFileSync(join(d, 'notes.txt'), 'not an image');
      expect(datasetItems([d]).map((i) => i.name)).to.deep.equal(['a/digit-0005.png', 'b/digit-0000.png', 'b/digit-0001.png']);
    });

    it('a .txt list gives one image per line, relative to the list, comments and blanks skipped', () => {
      const d = join(tmp, 'listed');
      writeDigits(d, 3);
      writeFileSync(join(d, 'set.txt'), '# two of them\ndigit-0002.png\n\n./digit-0000.png  # first\n');
      expect(datasetItems([join(d, 'set.txt')]).map((i) => [i.name, i.path])).to.deep.equal([['digit-0002.png', join(d, 'digit-0002.png')], ['digit-0000.png', join(d, 'digit-0000.png')]]);
    });

    it('refuses a missing entry, a non-image, two images with one name or one result prefix, with the line', () => {
      const d = join(tmp, 'bad');
      writeDigits(d, 2);
      writeFileSync(join(d, 'missing.txt'), 'digit-0000.png\nnope.png\n');
      expect(() => datasetItems([join(d, 'missing.txt')])).to.throw(/missing\.txt: line 2: nope\.png is not an image file/);
      writeFileSync(join(d, 'twice.txt'), 'digit-0000.png\ndigit-0000.png\n');
      expect(() => datasetItems([join(d, 'twice.txt')])).to.throw(/two images are named digit-0000\.png/);
      writeFileSync(join(d, 'digit-0000.jpg'), readFileSync(join(d, 'digit-0000.png')));
      expect(() => datasetItems([d])).to.throw(/digit-0000\.jpg and digit-0000\.png would both write digit-0000\.\*/);
      expect(() => datasetItems([join(d, 'nothing-here')])).to.throw(/--images .*nothing-here: not found/);
      expect(() => datasetItems([join(tmp, 'listed', 'set.txt'), join(tmp, 'listed', 'set.txt')])).to.throw(/two images are named/);
    });
  });

  describe('shards', () => {
    it('--shard i/N takes positions p ≡ i (mod N); every image in exactly one shard', () => {
      const xs = Array.from({ length: 10 }, (_, i) => i);
      const parts = [0, 1, 2].map((i) => shardItems(xs, shardOf(`${i}/3`, undefined, {})));
      expect(parts).to.deep.equal([[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]);
      expect(shardItems(xs, shardOf(undefined, undefined, {}))).to.deep.equal(xs);
    });

    it('--shards N takes the index from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID; a Slurm array gives both', () => {
      expect(shardOf(undefined, 4, { JOB_COMPLETION_INDEX: '2' })).to.deep.equal({ index: 2, count: 4 });
      expect(shardOf(undefined, 4, { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_MIN: '1' })).to.deep.equal({ index: 2, count: 4 });
      expect(shardOf(undefined, undefined, { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_COUNT: '6' })).to.deep.equal({ index: 5, count: 6 });
      expect(shardOf('1/2', undefined, { JOB_COMPLETION_INDEX: '0' })).to.deep.equal({ index: 1, count: 2 });
    });

    it('refuses i ≥ N, a malformed value, an index above --shards, and an Indexed Job without N', () => {
      expect(() => shardOf('3/3', undefined, {})).to.throw(/--shard 3\/3: i must be 0 to N-1/);
      expect(() => shardOf('1of3', undefined, {})).to.throw(/--shard 1of3: expected i\/N/);
      expect(() => shardOf(undefined, 2, { JOB_COMPLETION_INDEX: '2' })).to.throw(/--shards 2: the scheduler's index 2 is not below it/);
      expect(() => shardOf(undefined, 2, {})).to.throw(/neither is set/);
      expect(() => shardOf(undefined, undefined, { JOB_COMPLETION_INDEX: '1' })).to.throw(/give --shards N/);
    });
  });

  describe('the manifest', () => {
    const id: RunIdentity = { command: 'explain', parameters: { method: 'saliency', options: { class: [3] } } };

    it('records items, skips a torn last line and starts the next on its own line, and sees a changed or missing output file as not done', () => {
      const d = join(tmp, 'm1');
      mkdirSync(d);
      const m = Manifest.open(d, id);
      writeFileSync(join(d, 'a.npy'), 'AAAA');
      writeFileSync(join(d, 'b.npy'), 'BBBB');
      m.record({ item: 'a.png', outputs: m.outputsOf([join(d, 'a.npy')]), worker: 'w', time: 't', seconds: 0 });
      m.record({ item: 'b.png', outputs: m.outputsOf([join(d, 'b.npy')]), worker: 'w', time: 't', seconds: 0 });
      appendFileSync(join(d, MANIFEST), '{"item":"c.png","run":"'); // killed while appending
      const again = Manifest.open(d, id);
      expect(again.all().map((e) => e.item).sort()).to.deep.equal(['a.png', 'b.png']);
      writeFileSync(join(d, 'c.npy'), 'CCCC');
      again.record({ item: 'c.png', outputs: again.outputsOf([join(d, 'c.npy')]), worker: 'w', time: 't', seconds: 0 });
      const text = readFileSync(join(d, MANIFEST), 'utf8');
      expect(text.split('\n').at(-2)).to.match(/^\{"item":"c\.png","outputs"/);
      expect(Manifest.open(d, id).all().map((e) => e.item).sort()).to.deep.equal(['a.png', 'b.png', 'c.png']);
      expect(again.done('a.png')).to.not.equal(undefined);
      writeFileSync(join(d, 'a.npy'), 'AAAB'); // same size, other bytes
      rmSync(join(d, 'b.npy'));
      expect(again.done('a.png')).to.equal(undefined);
      expect(again.done('b.png')).to.equal(undefined);
    });

    it('refuses a folder of a run with other parameters, naming what differs', () => {
      const d = join(tmp, 'm2');
      Manifest.open(d, id);
      expect(() => Manifest.open(d, { ...id, parameters: { method: 'saliency', options: { class: [4] } } })).to.throw(/--out .*m2 holds a run with other parameters \(options: \{"class":\[3\]\} ≠ \{"class":\[4\]\}\)/);
    });

    it("removes the temporaries a killed process of this host left, not a live process's", () => {
      const d = join(tmp, 'm3');
      mkdirSync(join(d, 'sub'), { recursive: true });
      const dead = spawn(process.execPath, ['-e', '0']);
      return new Promise<void>((done) => dead.on('close', () => {
        const mine = tempName(join(d, 'sub', 'x.png'));
        const theirs = mine.replace(`~${process.pid}.`, `~${dead.pid}.`);
        writeFileSync(mine, '1');
        writeFileSync(theirs, '2');
        Manifest.open(d, id);
        expect(existsSync(mine)).to.equal(true);
        expect(existsSync(theirs)).to.equal(false);
        done();
      }));
    });
  });

  describe('loupe explain --images … --out DIR', () => {
    let digits: string;
    let whole: string;
    const args = (out: string, ...more: string[]) => ['explain', '--method', 'gradcam', '--model', LENET, '--layer', 'conv1', '--images', digits, '--out', out, ...more];
    before(() => {
      digits = join(tmp, 'digits');
      writeDigits(digits, 18);
      whole = join(tmp, 'whole');
      const r = runLoupe(args(whole));
      expect(r.code, r.err).to.equal(0);
      expect(r.out).to.match(/manifest\.jsonl: 18 images, 18 computed, 0 already done/);
    });

    it('writes NAME.png/.npy/.json per image and one manifest line per image with sizes and SHA-256', () => {
      const files = Object.keys(results(whole)).sort();
      expect(files).to.have.length(54);
      const lines = manifestLines(whole);
      expect(lines.map((l) => l.item)).to.deep.equal(readdirSync(digits).sort());
      expect(lines[0]!.outputs.map((o) => o.file)).to.deep.equal(['digit-0000.png', 'digit-0000.npy', 'digit-0000.json']);
      const r = runLoupe(args(whole));
      expect(r.code, r.err).to.equal(0);
      expect(r.out).to.match(/18 images, 0 computed, 18 already done/);
    });

    it('equals loupe explain --image of the same image, map for map', () => {
      const one = join(tmp, 'single');
      const r = runLoupe(['explain', '--method', 'gradcam', '--model', LENET, '--layer', 'conv1', '--image', join(digits, 'digit-0007.png'), '--out', one]);
      expect(r.code, r.err).to.equal(0);
      expect(readFileSync(`${one}.npy`).equals(readFileSync(join(whole, 'digit-0007.npy')))).to.equal(true);
    });

    it('killed with SIGKILL at random points three times, then rerun: every result byte-identical to the uninterrupted run', async () => {
      const out = join(tmp, 'killed');
      const r = rng(18);
      const kills: number[] = [];
      for (let k = 0; k < 3; k++) {
        const before = manifestLines(out).length;
        // items take ~20 ms (+ the pauses below); the kill lands before, during or after an item's writes
        const after = 150 + Math.floor(r.next() * 900);
        const { code, left } = await new Promise<{ code: number | null; left: number[] }>((done) => {
          const p = spawn(process.execPath, [join(ROOT, 'bin/loupe.js'), ...args(out)], { env: { ...ENV, LOUPE_TEST_ITEM_DELAY_MS: '40', LOUPE_TEST_WRITE_DELAY_MS: '15' }, stdio: 'ignore' });
          let t: NodeJS.Timeout | undefined;
          let children: number[] = [];
          const poll = setInterval(() => {
            if (t === undefined && existsSync(join(out, 'run.json')))
              t = setTimeout(() => {
                children = childrenOf(p.pid!); // bin/loupe.js runs the CLI in a child: it must not outlive its parent
                p.kill('SIGKILL');
              }, after);
          }, 10);
          p.on('close', async (c) => {
            clearInterval(poll);
            clearTimeout(t);
            // The CLI ends when its lifeline closes, as soon as its event loop runs: on a loaded machine
            // a pipeline compile in progress may hold it a few seconds (an orphan would instead finish
            // the run, which the manifest's count below would show). The verdict is the test's, after
            // the promise: an assertion thrown in this callback would leave the test hanging.
            for (let i = 0; i < 1000 && children.some(running); i++) await new Promise((r) => setTimeout(r, 10));
            done({ code: c, left: children.filter(running) });
          });
        });
        expect(left, `the CLI process outlived bin/loupe.js by 10 s (kill ${k})`).to.deep.equal([]);
        expect(code, `kill ${k} after ${after} ms came after the run ended`).to.equal(null);
        kills.push(manifestLines(out).length - before);
      }
      expect(manifestLines(out).length, `items done before each kill: ${kills.join(', ')}`).to.be.below(18);
      const r2 = runLoupe(args(out));
      expect(r2.code, r2.err).to.equal(0);
      const lines = manifestLines(out);
      expect(new Set(lines.map((l) => l.item)).size).to.equal(18);
      expect(lines).to.have.length(18); // nothing recorded twice: a killed item had no line
      expect(results(out)).to.deep.equal(results(whole)); // no temporaries left, same bytes
    });

    it('3 shards joined by loupe merge equal one run, manifest included', () => {
      const parts = [0, 1, 2].map((i) => join(tmp, `part-${i}`));
      parts.forEach((p, i) => {
        const r = runLoupe(args(p, '--shard', `${i}/3`));
        expect(r.code, r.err).to.equal(0);
        expect(r.out).to.match(/6 images, 6 computed/);
      });
      const joined = join(tmp, 'joined');
      const m = runLoupe(['merge', ...parts, '--out', joined]);
      expect(m.code, m.err).to.equal(0);
      expect(m.out).to.match(/18 items from 3 folders \(18 copied, 0 already there\)/);
      expect(results(joined)).to.deep.equal(results(whole));
      const strip = (d: string) => manifestLines(d).map((l) => [l.item, l.outputs]).sort();
      expect(strip(joined)).to.deep.equal(strip(whole));
      const j2 = runLoupe(['merge', ...parts, '--out', joined]);
      expect(j2.out).to.match(/\(0 copied, 18 already there\)/);
    });

    it('with --shards N reads the shard from JOB_COMPLETION_INDEX', () => {
      const out = join(tmp, 'indexed');
      const r = runLoupe(args(out, '--shards', '6'), { JOB_COMPLETION_INDEX: '5' });
      expect(r.code, r.err).to.equal(0);
      expect(manifestLines(out).map((l) => l.item)).to.deep.equal(['digit-0005.png', 'digit-0011.png', 'digit-0017.png']);
    });

    it('bad input: one line each', () => {
      expectOneLine(runLoupe(args(whole, '--class', '3')), /--out .*whole holds a run with other parameters \(options: .*\)/);
      expectOneLine(runLoupe(args(join(tmp, 'x'), '--shard', '6/6')), /--shard 6\/6: i must be 0 to N-1/);
      expectOneLine(runLoupe(['explain', '--method', 'dissect', '--model', LENET, '--layer', 'conv1', '--images', digits, '--out', join(tmp, 'd')]), /needs the whole set at once/);
      expectOneLine(runLoupe(['explain', '--method', 'saliency', '--model', LENET, '--image', join(digits, 'digit-0000.png'), '--shard', '0/2', '--out', join(tmp, 'd')]), /--shard and --shards split a data-set run: give --images/);
      expectOneLine(runLoupe(['merge', whole, join(tmp, 'single.npy'), '--out', join(tmp, 'j')]), /merge: .*single\.npy is not a folder/);
      const other = join(tmp, 'other');
      expect(runLoupe(['explain', '--method', 'saliency', '--model', LENET, '--images', join(digits, 'digit-0000.png'), '--out', other]).code).to.equal(0);
      expectOneLine(runLoupe(['merge', whole, other, '--out', join(tmp, 'j')]), /merge: .*other is a run with other parameters than .*whole/);
      const broken = join(tmp, 'broken');
      mkdirSync(broken);
      writeFileSync(join(broken, 'zero.png'), 'not a png');
      expectOneLine(runLoupe(['explain', '--method', 'saliency', '--model', LENET, '--images', broken, '--out', join(tmp, 'bo')]), /broken\/zero\.png: not a PNG or JPEG image \(1 of 1 images failed and were not written/);
      expect(existsSync(join(tmp, 'bo', 'zero.json'))).to.equal(false);
      // the images that do decode are done; the run still exits 1, and a rerun retries only the bad one
      writeDigits(broken, 2);
      const r = runLoupe(['explain', '--method', 'saliency', '--model', LENET, '--images', broken, '--out', join(tmp, 'bo')]);
      expect(r.code).to.equal(1);
      expect(r.lines.at(-1)).to.match(/zero\.png: not a PNG or JPEG image \(1 of 3 images failed and were not written; the other 2 are done/);
      expect(manifestLines(join(tmp, 'bo')).map((l) => l.item)).to.deep.equal(['digit-0000.png', 'digit-0001.png']);
      rmSync(join(broken, 'zero.png'));
      const r2 = runLoupe(['explain', '--method', 'saliency', '--model', LENET, '--images', broken, '--out', join(tmp, 'bo')]);
      expect(r2.code, r2.err).to.equal(0);
      expect(r2.out).to.match(/2 images, 0 computed, 2 already done/);
    });
  });
});
