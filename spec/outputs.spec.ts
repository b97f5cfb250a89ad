// Output files of the commands that write them: the --out paths are checked before anything is
// computed (one line naming the flag, in well under a second), a set of files is written all or
// nothing (a failure leaves no file of the set and no temporary, and files it would have replaced
// keep their contents), and SIGTERM/SIGINT during the write phase undo the set. The CLI cases run
// bin/loupe.js on the shipped LeNet-ReLU, so signals go through its child process as a user's do.
import { expect } from 'chai';
import { expectOneLine, runLoupe } from './helpers.ts';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkOutputs, OutputError, OutputGroup, writeFiles, writeOutputSet } from '../cli/output.ts';

const ROOT = join(import.meta.dirname, '..');
const MNIST = join(ROOT, '..', 'shared', 'data', 'mnist', 't10k-images-idx3-ubyte.gz');
const LENET = ['--model', join(ROOT, 'weights/lenet-relu-mnist.onnx'), '--image', join(ROOT, 'weights/mnist-test-0.png')];
/** invert writes PREFIX.png/.npy/.json/.csv and PREFIX-curve.png; 5 steps take a moment. */
const INVERT = ['invert', ...LENET, '--layer', 'conv1', '--iterations', '5'];
const ENV = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' };
const bytes = (s: string) => new TextEncoder().encode(s);

const loupe = runLoupe;

/** A folder's contents (hidden files included), recursively, with each file's bytes as text. */
function listing(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const p = join(e.parentPath, e.name);
    out[p.slice(dir.length + 1) + (e.isDirectory() ? '/' : '')] = e.isDirectory() ? '' : readFileSync(p, 'latin1');
  }
  return out;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('outputs: checked first, written all or nothing', function () {
  this.timeout(300_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'loupe-outputs-'));
  });
  afterEach(() => {
    try {
      chmodSync(dir, 0o755);
      for (const e of readdirSync(dir)) chmodSync(join(dir, e), 0o755);
    } catch {
      /* gone */
    }
    rmSync(dir, { recursive: true, force: true });
  });

  describe('--out is checked before the model is read', () => {
    it("--out '' names the flag", () => {
      const before = listing(dir);
      const r = spawnSync(process.execPath, [join(ROOT, 'bin/loupe.js'), 'explain', '--method', 'saliency', ...LENET, '--out', ''], { cwd: dir, encoding: 'utf8', env: ENV });
      expect(r.status).to.equal(1);
      expect(r.stderr.trim().split('\n')).to.have.length(1);
      expect(r.stderr).to.match(/^loupe: --out needs a value/);
      expect(listing(dir)).to.deep.equal(before); // no hidden .png/.npy/.json
    });

    it('--out DIR/ (a folder, not a prefix) names the flag and writes no hidden .png/.npy/.json', () => {
      mkdirSync(join(dir, 'd'));
      for (const out of [`${join(dir, 'd')}/`, join(dir, 'd'), `${join(dir, 'd')}/.`, `${join(dir, 'new')}/`]) {
        const r = loupe(['explain', '--method', 'saliency', ...LENET, '--out', out]);
        expectOneLine(r, new RegExp(`^loupe: --out ${esc(out)} (names|is) a folder: give a file prefix inside it`));
      }
      expect(listing(dir)).to.deep.equal({ 'd/': '' });
    });

    it('--out under a regular file fails before computing', () => {
      writeFileSync(join(dir, 'f'), 'x');
      for (const out of [join(dir, 'f', 'x'), join(dir, 'f', 'a', 'b', 'x')]) {
        const r = loupe(['explain', '--method', 'saliency', ...LENET, '--out', out]);
        expectOneLine(r, new RegExp(`^loupe: --out ${esc(out)}: cannot create folder .*: ${esc(join(dir, 'f'))} is a file$`));
        expect(r.err).not.to.match(/saliency \[/); // no progress bar: nothing was computed
      }
      expect(listing(dir)).to.deep.equal({ f: 'x' });
    });

    it('--out in a read-only folder fails before computing', function () {
      if (process.getuid?.() === 0) {
        // root writes through chmod 555: a path under a regular file is unwritable instead
        writeFileSync(join(dir, 'ro'), 'x');
        const r = loupe(['maxout', '--model', LENET[1]!, '--class', '3', '--out', join(dir, 'ro', 'sub', 'm')]);
        expectOneLine(r, /^loupe: --out .*ro\/sub\/m: cannot create folder .* is a file$/);
        expect(listing(dir)).to.deep.equal({ ro: 'x' });
        return;
      }
      mkdirSync(join(dir, 'ro'));
      chmodSync(join(dir, 'ro'), 0o555);
      for (const out of [join(dir, 'ro', 'm'), join(dir, 'ro', 'sub', 'm')]) {
        const r = loupe(['maxout', '--model', LENET[1]!, '--class', '3', '--out', out]);
        expectOneLine(r, new RegExp(`^loupe: --out ${esc(out)}: cannot write in folder ${esc(join(dir, 'ro'))}.*EACCES`));
      }
      chmodSync(join(dir, 'ro'), 0o755);
      expect(listing(dir)).to.deep.equal({ 'ro/': '' });
    });

    it('every writing command checks --out first: patch-model, train, demo, etalon --figure11', () => {
      writeFileSync(join(dir, 'f'), 'x');
      const bad = join(dir, 'f', 'x');
      const cases: [string[], RegExp][] = [
        [['patch-model', '--model', LENET[1]!, '--images', MNIST, '--window', '4', '--out', bad], /is a file$/],
        [['patch-model', '--model', LENET[1]!, '--images', MNIST, '--window', '4', '--out', `${dir}/`], /names a folder: give a file name inside it$/],
        [['patch-model', '--model', LENET[1]!, '--images', MNIST, '--window', '4', '--out', dir], /is a folder: give a file name inside it$/],
        [['train', '--epochs', '1', '--out', bad], /is a file$/],
        [['demo', '--out', bad], /is a file$/],
        [['demo', '--out', `${dir}/`], /names a folder/],
        [['etalon', '--figure11', '--model', LENET[1]!, '--out', bad], /is a file$/],
      ];
      for (const [args, why] of cases) {
        const r = loupe(args);
        expectOneLine(r, new RegExp(`^loupe: --out .*${why.source}`));
        expect(r.ms, args.join(' ')).to.be.below(2000);
      }
      expect(listing(dir)).to.deep.equal({ f: 'x' });
    });
  });

  describe('PDA (minutes of work here) with its files in the way', () => {
    let pm: string;
    before(() => {
      pm = join(mkdtempSync(join(tmpdir(), 'loupe-outputs-pm-')), 'pm4.bin');
      const r = loupe(['patch-model', '--model', LENET[1]!, '--images', MNIST, '--window', '4', '--patches', '2000', '--out', pm]);
      expect(r.code, r.err).to.equal(0);
    });
    const pda = (out: string) => ['explain', '--method', 'pda', ...LENET, '--patch-model', pm, '--window', '4', '--stride', '1', '--node', 'both', '--out', out];

    it('an unwritable --out fails in well under a second, before the 625 windows', () => {
      writeFileSync(join(dir, 'f'), 'x');
      const r = loupe(pda(join(dir, 'f', 'p')));
      expectOneLine(r, /^loupe: --out .*f\/p: cannot create folder .* is a file$/);
      expect(r.ms).to.be.below(1000);
      expect(r.err).not.to.match(/pda \[/);
    });

    it('PREFIX-logit.json a folder: one line naming it, no file of the set written', () => {
      mkdirSync(join(dir, 'p-logit.json'));
      writeFileSync(join(dir, 'p.png'), 'old'); // an earlier run's file keeps its contents
      const before = listing(dir);
      const r = loupe(pda(join(dir, 'p')));
      expectOneLine(r, new RegExp(`^loupe: --out ${esc(join(dir, 'p'))}: cannot write ${esc(join(dir, 'p-logit.json'))}: it is a folder$`));
      expect(r.ms).to.be.below(1000);
      expect(listing(dir)).to.deep.equal(before);
    });
  });

  it('invert with PREFIX.csv a folder: one line naming it, no file of the set written', () => {
    mkdirSync(join(dir, 'inv.csv'));
    const before = listing(dir);
    const r = loupe([...INVERT, '--out', join(dir, 'inv')]);
    expectOneLine(r, new RegExp(`cannot write ${esc(join(dir, 'inv.csv'))}: it is a folder$`));
    expect(listing(dir)).to.deep.equal(before);
  });

  it('demo with its last file in the way writes none of its six files', () => {
    mkdirSync(join(dir, 'demo-saliency.json'));
    const r = loupe(['demo', '--out', join(dir, 'demo')]);
    expectOneLine(r, /demo-saliency\.json: it is a folder$/);
    expect(listing(dir)).to.deep.equal({ 'demo-saliency.json/': '' });
  });

  it('a good run writes the whole set and no temporaries (into a new folder)', () => {
    const r = loupe([...INVERT, '--out', join(dir, 'new', 'inv')]);
    expect(r.code, r.err).to.equal(0);
    expect(Object.keys(listing(dir)).sort()).to.deep.equal(['new/', 'new/inv-curve.png', 'new/inv.csv', 'new/inv.json', 'new/inv.npy', 'new/inv.png']);
  });

  describe('signals in the write phase (LOUPE_TEST_WRITE_DELAY_MS stretches it)', () => {
    /** A temporary of the set being written (.inv….tmp), not the pre-check's folder probe (.loupe-probe….tmp). */
    const staged = (f: string) => f.startsWith('.inv') && f.endsWith('.tmp');
    /** Runs loupe with a slow write phase; sends `signal` once `ready(listing)` holds; resolves with the exit. */
    function killWhen(args: string[], ready: (files: string[]) => boolean, signal: NodeJS.Signals) {
      return new Promise<{ code: number | null; err: string; out: string; sent: boolean }>((done, fail) => {
        const p = spawn(process.execPath, [join(ROOT, 'bin/loupe.js'), ...args], { env: { ...ENV, LOUPE_TEST_WRITE_DELAY_MS: '700' } });
        let err = '';
        let out = '';
        let sent = false;
        p.stderr.on('data', (d) => (err += d));
        p.stdout.on('data', (d) => (out += d));
        const timer = setInterval(() => {
          if (!sent && ready(readdirSync(dir))) {
            sent = true;
            p.kill(signal);
          }
        }, 20);
        p.on('error', fail);
        p.on('close', (code) => {
          clearInterval(timer);
          done({ code, err: err.split('\n').filter((l) => l && !/\[[#.]+\]/.test(l)).join('\n'), out, sent });
        });
      });
    }

    it('SIGTERM while the temporaries are written: no .tmp files, no file of the set, exit 143', async () => {
      writeFileSync(join(dir, 'inv.png'), 'old');
      const before = listing(dir);
      const r = await killWhen([...INVERT, '--out', join(dir, 'inv')], (fs) => fs.filter(staged).length >= 2, 'SIGTERM');
      expect(r.sent).to.equal(true);
      expect(r.code, r.err).to.equal(143);
      expect(r.err.split('\n'), r.err).to.have.length(1);
      expect(r.err).to.match(new RegExp(`^loupe: interrupted by SIGTERM while writing ${esc(join(dir, 'inv.png'))} and 4 more files: nothing was written$`));
      expect(r.out).to.equal('');
      expect(listing(dir)).to.deep.equal(before);
    });

    it('a target that turns into a folder after the computation: the renames done are undone, one line', async () => {
      writeFileSync(join(dir, 'inv.png'), 'old');
      const before = listing(dir);
      let made = false;
      const r = await killWhen([...INVERT, '--out', join(dir, 'inv')], (fs) => {
        if (!made && fs.some(staged)) {
          mkdirSync(join(dir, 'inv-curve.png')); // the last of the five: the four before it are renamed first
          made = true;
        }
        return false;
      }, 'SIGTERM');
      expect(r.code, r.err).to.equal(1);
      expect(r.err).to.equal(`loupe: cannot write ${join(dir, 'inv-curve.png')}: it is a folder`);
      expect(r.out).to.equal('');
      expect(listing(dir)).to.deep.equal({ ...before, 'inv-curve.png/': '' });
    });

    it('SIGINT once every file is renamed but before the run ends: the renames are undone', async () => {
      writeFileSync(join(dir, 'inv.png'), 'old');
      writeFileSync(join(dir, 'inv.csv'), 'older');
      const before = listing(dir);
      const r = await killWhen([...INVERT, '--out', join(dir, 'inv')], (fs) => fs.includes('inv-curve.png'), 'SIGINT');
      expect(r.sent).to.equal(true);
      expect(r.code, r.err).to.equal(130);
      expect(r.err).to.match(/^loupe: interrupted by SIGINT while writing .*inv\.png and 4 more files: nothing was written$/);
      expect(listing(dir)).to.deep.equal(before);
    });
  });

  describe('cli/output.ts', () => {
    it('checkOutputs: the folder may be made; no target may be a folder', () => {
      checkOutputs('--out', join(dir, 'a', 'b', 'x'), [join(dir, 'a', 'b', 'x.png')]);
      expect(existsSync(join(dir, 'a'))).to.equal(false); // checked, not made
      mkdirSync(join(dir, 'x.json'));
      expect(() => checkOutputs('--out', join(dir, 'x'), [join(dir, 'x.png'), join(dir, 'x.json')])).to.throw(OutputError, /x\.json: it is a folder/);
      expect(() => checkOutputs('--out', '', [])).to.throw(OutputError, /^--out is empty/);
      expect(listing(dir)).to.deep.equal({ 'x.json/': '' }); // the probe file is gone
    });

    it('a rename failing part-way restores the files already replaced and removes the new ones', async () => {
      writeFileSync(join(dir, 'a.png'), 'old a');
      const g = new OutputGroup();
      try {
        await writeOutputSet([[join(dir, 'a.png'), () => bytes('new a')], [join(dir, 'a.npy'), () => bytes('new npy')]]);
        await writeOutputSet([[join(dir, 'sub', 'b.json'), () => bytes('new b')]]);
        expect(readdirSync(join(dir, 'sub')).filter((f) => f.endsWith('.tmp'))).to.have.length(1);
        mkdirSync(join(dir, 'sub', 'b.json')); // the last target turns into a folder between the writing and the renames
        let err: unknown;
        await g.commit().catch((e) => (err = e));
        expect(err).to.be.instanceOf(OutputError);
        expect((err as Error).message).to.match(/sub\/b\.json: it is a folder$/);
      } finally {
        g.abort();
      }
      expect(listing(dir)).to.deep.equal({ 'a.png': 'old a', 'sub/': '', 'sub/b.json/': '' });
    });

    it('writeFiles removes the folders it made when it fails', () => {
      writeFileSync(join(dir, 'f'), 'x');
      expect(() => writeFiles([[join(dir, 'n', 'm', 'x.png'), () => bytes('1')], [join(dir, 'f', 'x.json'), () => bytes('2')]])).to.throw(OutputError, /f\/x\.json/);
      expect(listing(dir)).to.deep.equal({ f: 'x' });
    });
  });
});
