// The bad-input sweep: a few hundred hostile cases from spec/hostile.ts (seeded), each run as a
// user would run it (`bin/loupe.js` in a folder of its own), each held to the same rules:
// - it ends (no hang) with exit 0 or 1, never an internal error (2) or a signal;
// - exit 1: exactly one line on stderr, naming the file, layer or flag at fault; no output files;
// - exit 0: the complete set of outputs, and the numbers in them finite and not constant;
// - never a stack trace, never Dawn's text on stdout or stderr.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readNpy } from '../loaders/npy.ts';
import { hostileCases, type HostileCase } from './hostile.ts';

const ROOT = join(import.meta.dirname, '..');
const PARALLEL = 2;

interface Outcome {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  before: string[];
  after: string[];
  dir: string;
  ms: number;
}

function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(join(d, e.name), p);
      else out.push(p);
    }
  };
  walk(dir, '');
  return out.sort();
}

function run(c: HostileCase, root: string, i: number): Promise<Outcome> {
  const dir = join(root, String(i));
  mkdirSync(dir, { recursive: true });
  for (const [name, data] of Object.entries(c.files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), data);
  }
  mkdirSync(join(dir, 'out'), { recursive: true });
  const before = listing(dir);
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/loupe.js'), ...c.argv], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, before, after: listing(dir), dir, ms: Date.now() - t0 });
    });
  });
}

/** What is wrong with an outcome under the sweep's rules (empty: nothing). */
function problems(c: HostileCase, o: Outcome): string[] {
  const p: string[] = [];
  const lines = o.stderr.split('\n').filter((l) => l.trim() !== '');
  if (o.signal) p.push(`killed by ${o.signal} after ${o.ms} ms (a hang?)`);
  if (o.code !== 0 && o.code !== 1) p.push(`exit ${o.code}`);
  if (/internal error|\n\s+at .+:\d+:\d+/.test(o.stderr)) p.push(`internal error or stack trace: ${lines[0]}`);
  if (/Dawn|Warning: max|validation error|\[Invalid /i.test(o.stdout + o.stderr)) p.push('Dawn text in the output');
  if (o.code === 1) {
    if (lines.length !== 1) p.push(`${lines.length} lines on stderr: ${lines.slice(0, 4).join(' | ')}`);
    else if (!c.names.some((n) => lines[0]!.includes(n))) p.push(`the line names none of ${c.names.join(', ')}: ${lines[0]}`);
    const added = o.after.filter((f) => !o.before.includes(f));
    if (added.length) p.push(`files written by a failed run: ${added.join(', ')}`);
  }
  if (o.code === 0) {
    if (c.expect === 'error') p.push(`exit 0 for a bad input (stdout: ${o.stdout.slice(0, 120)})`);
    if (c.argv[0] === 'predict' && c.argv.includes('--json')) {
      try {
        const j = JSON.parse(o.stdout) as { logits: number[] | number[][]; probs: number[] | number[][] };
        const logits = (j.logits as unknown[]).flat(2) as number[];
        if (!logits.every(Number.isFinite)) p.push('non-finite logits with exit 0');
        if (logits.every((v) => v === logits[0])) p.push('constant logits with exit 0');
      } catch (e) {
        p.push(`predict --json printed no JSON: ${(e as Error).message}`);
      }
    }
    if (c.argv[0] === 'explain') {
      const prefix = c.argv[c.argv.indexOf('--out') + 1]!;
      for (const ext of ['png', 'npy', 'json']) if (!existsSync(join(o.dir, `${prefix}.${ext}`))) p.push(`${prefix}.${ext} missing after exit 0`);
      if (existsSync(join(o.dir, `${prefix}.npy`))) {
        const a = readNpy(new Uint8Array(readFileSync(join(o.dir, `${prefix}.npy`))), 'x.npy');
        if (!a.data.every(Number.isFinite)) p.push('non-finite map with exit 0');
        else if (a.data.every((v) => v === a.data[0])) p.push('a constant map with exit 0');
      }
    }
  }
  if (o.after.some((f) => f.endsWith('.tmp') || /\/\.[^/]+$|^\.[^/]+$/.test(f))) p.push(`temporary or hidden files left: ${o.after.filter((f) => f.endsWith('.tmp') || /(^|\/)\./.test(f)).join(', ')}`);
  return p;
}

describe('the bad-input sweep (spec/hostile.ts, seeded)', function () {
  const cases = hostileCases(7);
  const root = mkdtempSync(join(tmpdir(), 'loupe-sweep-'));
  const outcomes = new Map<number, Outcome>();

  before(async function () {
    let next = 0;
    const t0 = Date.now();
    await Promise.all(Array.from({ length: PARALLEL }, async () => {
      while (next < cases.length) {
        const i = next++;
        outcomes.set(i, await run(cases[i]!, root, i));
      }
    }));
    console.log(`      ${cases.length} cases in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  });

  it('has a few hundred cases', () => expect(cases.length).to.be.within(150, 600));
  cases.forEach((c, i) => {
    it(`${c.name}: ${c.expect === 'error' ? 'one clear line' : 'one clear line, or a complete and finite result'}`, () => {
      expect(problems(c, outcomes.get(i)!), `loupe ${c.argv.join(' ')}`).to.deep.equal([]);
    });
  });
});
