// Queue workers on a real Redis (BullMQ), real `loupe worker` processes, no mocks: LOUPE_TEST_REDIS
// when set (.ci/run starts one), else a redis-server this spec starts on a free loopback port and
// stops. Each case uses its own queue.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { expectOneLine, runLoupe } from './helpers.ts';
import { writeDigits } from './digits.ts';
import { freePort } from '../cli/bench-scale.ts';
import { Manifest, MANIFEST } from '../cli/dataset.ts';
import { absoluteArgv, jobIdOf } from '../cli/queue.ts';
import { EXPLAIN_DATASET } from '../cli/explain.ts';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin/loupe.js');
const LENET = join(ROOT, 'weights/lenet-relu-mnist.onnx');


/** A Redis for the specs: LOUPE_TEST_REDIS, or a redis-server started on a free loopback port (stop() ends it). */
export async function testRedis(): Promise<{ url: string; stop: () => void }> {
  if (process.env.LOUPE_TEST_REDIS) return { url: process.env.LOUPE_TEST_REDIS, stop: () => {} };
  const v = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (v.error || v.status !== 0)
    throw new Error('the queue specs need a Redis: install redis-server (Debian: apt-get install redis-server; .ci/setup-system does) or set LOUPE_TEST_REDIS=redis://HOST:PORT');
  const port = await freePort();
  const proc: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  const { Redis } = await import('ioredis');
  const t0 = Date.now();
  for (;;) {
    const c = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    c.on('error', () => {});
    try {
      await c.connect();
      await c.ping();
      c.disconnect();
      break;
    } catch {
      c.disconnect();
      if (Date.now() - t0 > 10_000) {
        proc.kill();
        throw new Error(`redis-server on port ${port} did not answer within 10 s`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { url, stop: () => proc.kill('SIGTERM') };
}

/** A `loupe worker` process in its own process group (so SIGKILL reaches bin/loupe.js's child too), its stderr collected. */
interface WorkerProc {
  proc: ChildProcess;
  err: string[];
  exit: Promise<number | null>;
}

function startWorker(args: string[], env: Record<string, string> = {}, onLine?: (line: string) => void): WorkerProc {
  const proc = spawn(process.execPath, [BIN, 'worker', ...args], {
    detached: true, stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp', ...env },
  });
  const err: string[] = [];
  let tail = '';
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (t: string) => {
    const parts = (tail + t).split('\n');
    tail = parts.pop()!;
    for (const l of parts)
      if (l) {
        err.push(l);
        onLine?.(l);
      }
  });
  const exit = new Promise<number | null>((res) => proc.on('close', (code) => res(code)));
  return { proc, err, exit };
}

const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`${what}: not within ${ms / 1000} s`)), ms).unref())]);

const files = (dir: string) => readdirSync(dir).filter((f) => f !== 'manifest.jsonl').sort();

describe('loupe queue and loupe worker (BullMQ on a real Redis)', function () {
  this.timeout(180_000);
  let redis: { url: string; stop: () => void };
  let dir: string;
  let digits: string;
  const queue = (c: string) => `loupe-spec-${process.pid}-${Date.now().toString(36)}-${c}`;
  const explainArgs = (images: string, out: string) => ['explain', '--method', 'saliency', '--model', LENET, '--images', images, '--out', out];
  const workers: WorkerProc[] = [];

  before(async () => {
    redis = await testRedis();
    dir = mkdtempSync(join(tmpdir(), 'loupe-queue-'));
    digits = join(dir, 'digits');
    writeDigits(digits, 15);
  });
  after(() => {
    for (const w of workers) if (w.proc.exitCode === null && w.proc.signalCode === null) process.kill(-w.proc.pid!, 'SIGKILL');
    redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('three workers, one killed with SIGKILL mid-job: every image done once, byte-identical to the single-process run; status says 15 done', async () => {
    const q = queue('kill');
    const single = join(dir, 'single');
    const one = runLoupe([...explainArgs(digits, single)]);
    expect(one.code, one.err).to.equal(0);
    const out = join(dir, 'queued');
    const push = runLoupe(['queue', 'push', '--redis', redis.url, '--queue', q, '--', ...explainArgs(digits, out)]);
    expect(push.code, push.err).to.equal(0);
    expect(push.out.trim()).to.equal(`queued 15 jobs (0 already done) on ${q} at ${redis.url}`);

    const args = ['--redis', redis.url, '--queue', q, '--lock-ms', '1500', '--idle-exit', '3'];
    const env = { LOUPE_TEST_ITEM_DELAY_MS: '400' }; // each job holds its lock 0.4 s before it computes: the kill lands mid-job
    let killedItem: string | undefined;
    const victim = startWorker(args, env, (l) => {
      const m = /^(\S+) started$/.exec(l);
      if (m && killedItem === undefined) {
        killedItem = m[1];
        process.kill(-victim.proc.pid!, 'SIGKILL');
      }
    });
    const others = [startWorker(args, env), startWorker(args, env)];
    workers.push(victim, ...others);
    const codes = await within(Promise.all(others.map((w) => w.exit)), 120_000, 'the two workers left');
    await victim.exit;
    expect(killedItem, `the killed worker never started a job: ${victim.err.join('\n')}`).to.be.a('string');
    expect(victim.proc.signalCode ?? victim.proc.exitCode).to.equal('SIGKILL');
    expect(victim.err.some((l) => l.startsWith(`${killedItem} done`)), victim.err.join('\n')).to.equal(false);
    codes.forEach((c, i) => expect(c, others[i]!.err.join('\n')).to.equal(0));
    // the killed worker's job went to another worker once its lock ran out
    const otherLines = others.flatMap((w) => w.err);
    expect(otherLines.filter((l) => l.startsWith(`${killedItem} done in `)), otherLines.join('\n')).to.have.length(1);

    const lines = readFileSync(join(out, 'manifest.jsonl'), 'utf8').split('\n').filter((l) => l);
    expect(lines).to.have.length(15);
    const items = lines.map((l) => (JSON.parse(l) as { item: string }).item);
    expect(new Set(items).size).to.equal(15);
    expect(files(out)).to.deep.equal(files(single));
    for (const f of files(single)) expect(readFileSync(join(out, f)).equals(readFileSync(join(single, f))), f).to.equal(true);

    const st = runLoupe(['queue', 'status', '--redis', redis.url, '--queue', q, '--json']);
    expect(st.code, st.err).to.equal(0);
    const s = JSON.parse(st.out) as { done: number; failed: number; waiting: number; active: number; jobsPerSecond: number; etaSeconds: number };
    expect([s.done, s.failed, s.waiting, s.active]).to.deep.equal([15, 0, 0, 0]);
    expect(s.jobsPerSecond).to.be.greaterThan(0);
    expect(s.etaSeconds).to.equal(0);
    const text = runLoupe(['queue', 'status', '--redis', redis.url, '--queue', q]);
    expect(text.out).to.match(new RegExp(`^${q} at ${redis.url}: 15 done, 0 active, 0 waiting, 0 failed\\n`));

    // pushing the finished run again queues nothing: the manifest says every image is done
    const again = runLoupe(['queue', 'push', '--redis', redis.url, '--queue', queue('again'), '--', ...explainArgs(digits, out)]);
    expect(again.code, again.err).to.equal(0);
    expect(again.out).to.match(/^queued 0 jobs \(15 already done\) on /);
  });

  it('pushing the same command twice queues nothing the second time', () => {
    const q = queue('twice');
    const some = join(dir, 'some');
    writeDigits(some, 4);
    const out = join(dir, 'twice');
    const first = runLoupe(['queue', 'push', '--redis', redis.url, '--queue', q, '--', ...explainArgs(some, out)]);
    expect(first.code, first.err).to.equal(0);
    expect(first.out.trim()).to.equal(`queued 4 jobs (0 already done) on ${q} at ${redis.url}`);
    const second = runLoupe(['queue', 'push', '--redis', redis.url, '--queue', q, '--', ...explainArgs(some, out)]);
    expect(second.code, second.err).to.equal(0);
    expect(second.out.trim()).to.equal(`queued 0 jobs (0 already done, 4 already queued) on ${q} at ${redis.url}`);
    const st = JSON.parse(runLoupe(['queue', 'status', '--redis', redis.url, '--queue', q, '--json']).out) as { waiting: number };
    expect(st.waiting).to.equal(4);
  });

  it('SIGTERM: the worker finishes the job it holds, records it, and exits 0; the rest stay queued', async () => {
    const q = queue('term');
    const out = join(dir, 'term');
    expect(runLoupe(['queue', 'push', '--redis', redis.url, '--queue', q, '--', ...explainArgs(digits, out)]).code).to.equal(0);
    let held: string | undefined;
    const w = startWorker(['--redis', redis.url, '--queue', q], { LOUPE_TEST_ITEM_DELAY_MS: '600' }, (l) => {
      const m = /^(\S+) started$/.exec(l);
      if (m && held === undefined) {
        held = m[1];
        w.proc.kill('SIGTERM'); // bin/loupe.js passes it on to the worker
      }
    });
    workers.push(w);
    expect(await within(w.exit, 60_000, 'the worker after SIGTERM'), w.err.join('\n')).to.equal(0);
    expect(w.err.filter((l) => l.startsWith(`${held} done in `)), w.err.join('\n')).to.have.length(1);
    const recorded = readFileSync(join(out, 'manifest.jsonl'), 'utf8').split('\n').filter((l) => l).map((l) => (JSON.parse(l) as { item: string }).item);
    expect(recorded).to.include(held);
    const s = JSON.parse(runLoupe(['queue', 'status', '--redis', redis.url, '--queue', q, '--json']).out) as { done: number; active: number; waiting: number };
    expect([s.done, s.active, s.done + s.waiting]).to.deep.equal([recorded.length, 0, 15]);
  });

  it('an unreachable Redis is one line and exit 1 within seconds (push, status, worker); a bad URL or a command that is not a data-set run is one line', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    for (const args of [
      ['queue', 'status', '--redis', url],
      ['queue', 'push', '--redis', url, '--', ...explainArgs(digits, join(dir, 'never'))],
      ['worker', '--redis', url],
    ]) {
      const r = runLoupe(args);
      expectOneLine(r, new RegExp(`cannot reach Redis at ${url.replace(/\./g, '\\.')} \\(ECONNREFUSED\\)`));
      expect(r.ms, args.join(' ')).to.be.below(15_000);
    }
    expectOneLine(runLoupe(['queue', 'status', '--redis', 'http://127.0.0.1:6379']), /--redis http:\/\/127\.0\.0\.1:6379: not a Redis URL/);
    expectOneLine(runLoupe(['worker', '--redis', 'not a url']), /--redis not a url: not a URL/);
    expectOneLine(runLoupe(['queue', 'push', '--redis', url, '--', 'explain', '--method', 'saliency', '--model', LENET, '--image', join(digits, 'digit-0000.png'), '--out', join(dir, 'x')]), /not a data-set run/);
    expectOneLine(runLoupe(['queue', 'push', '--redis', url, '--', 'train']), /train: not a command that runs over a data set/);
  });

  it("a job whose image does not decode fails once with its one-line reason in queue status; the others finish", async () => {
    const q = queue('bad');
    const imgs = join(dir, 'with-bad');
    writeDigits(imgs, 3);
    writeFileSync(join(imgs, 'broken.png'), Buffer.from('this is not a PNG file'));
    const out = join(dir, 'bad-out');
    const push = runLoupe(['queue', 'push', '--redis', redis.url, '--queue', q, '--', ...explainArgs(imgs, out)]);
    expect(push.code, push.err).to.equal(0);
    expect(push.out.trim()).to.equal(`queued 4 jobs (0 already done) on ${q} at ${redis.url}`);
    const w = startWorker(['--redis', redis.url, '--queue', q, '--idle-exit', '1']);
    workers.push(w);
    expect(await within(w.exit, 60_000, 'the worker'), w.err.join('\n')).to.equal(0);
    const failedLines = w.err.filter((l) => l.startsWith('broken.png failed: '));
    expect(failedLines, w.err.join('\n')).to.have.length(1); // an input's failure is not retried
    const s = JSON.parse(runLoupe(['queue', 'status', '--redis', redis.url, '--queue', q, '--json']).out) as { done: number; failed: number; failures: { item: string; reason: string }[] };
    expect([s.done, s.failed]).to.deep.equal([3, 1]);
    expect(s.failures).to.have.length(1);
    expect(s.failures[0]!.item).to.equal('broken.png');
    expect(s.failures[0]!.reason).to.match(/broken\.png/).and.not.match(/\n/);
    const text = runLoupe(['queue', 'status', '--redis', redis.url, '--queue', q]);
    expect(text.out).to.contain(`failed: broken.png: ${s.failures[0]!.reason}`);
    expect(readFileSync(join(out, 'manifest.jsonl'), 'utf8').split('\n').filter((l) => l)).to.have.length(3);
  });
});

describe('the pieces queue workers share', () => {
  const identity = { command: 'explain', parameters: { method: 'saliency' } };
  const entry = (item: string) => ({ item, outputs: [], worker: 'spec:1', time: new Date(0).toISOString(), seconds: 0 });

  it("Manifest.refresh reads what another process appended since; no open cuts a line still being written, and the next entry after a torn one starts a line of its own", () => {
    const dir = mkdtempSync(join(tmpdir(), 'loupe-manifest-'));
    try {
      const a = Manifest.open(dir, identity, '--out', { shared: true });
      const b = Manifest.open(dir, identity, '--out', { shared: true });
      b.record(entry('one.png'));
      expect(a.done('one.png')).to.equal(undefined);
      a.refresh();
      expect(a.done('one.png')?.item).to.equal('one.png');
      // a line half written (no newline yet): a shared reader waits for the rest
      const line = `${JSON.stringify({ ...entry('two.png'), run: a.key })}\n`;
      appendFileSync(join(dir, MANIFEST), line.slice(0, 20));
      const before = readFileSync(join(dir, MANIFEST), 'utf8');
      const c = Manifest.open(dir, identity, '--out', { shared: true });
      a.refresh();
      expect(readFileSync(join(dir, MANIFEST), 'utf8')).to.equal(before);
      expect([a.done('two.png'), c.done('two.png')]).to.deep.equal([undefined, undefined]);
      appendFileSync(join(dir, MANIFEST), line.slice(20));
      a.refresh();
      c.refresh();
      expect([a.done('two.png')?.item, c.done('two.png')?.item]).to.deep.equal(['two.png', 'two.png']);
      expect(a.all().map((e) => e.item).sort()).to.deep.equal(['one.png', 'two.png']);
      // a torn last line of a killed writer: a plain open (a single process resuming) leaves it (another
      // worker may be writing it), and the next entry starts after a newline of its own
      const full = readFileSync(join(dir, MANIFEST), 'utf8');
      appendFileSync(join(dir, MANIFEST), '{"item":"thr');
      const d = Manifest.open(dir, identity);
      expect(readFileSync(join(dir, MANIFEST), 'utf8')).to.equal(`${full}{"item":"thr`);
      expect(d.all()).to.have.length(2);
      d.record(entry('three.png'));
      expect(readFileSync(join(dir, MANIFEST), 'utf8').startsWith(`${full}{"item":"thr\n{"item":"three.png"`)).to.equal(true);
      a.refresh();
      expect(a.all().map((e) => e.item).sort()).to.deep.equal(['one.png', 'three.png', 'two.png']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("queue push makes the command line's paths absolute (model, images, out, files), and nothing else; job ids hold no ':'", () => {
    const argv = ['--method', 'saliency', '--model', 'm.onnx', '--images=imgs', '--out', 'o', '--class', '3', '--grayscale', '--labels', '/abs/l.txt'];
    const got = absoluteArgv(argv, EXPLAIN_DATASET.options!(argv));
    expect(got).to.deep.equal(['--method', 'saliency', '--model', join(process.cwd(), 'm.onnx'), `--images=${join(process.cwd(), 'imgs')}`, '--out', join(process.cwd(), 'o'), '--class', '3', '--grayscale', '--labels', '/abs/l.txt']);
    const pda = ['--method', 'pda', '--patch-model', 'pm.bin', '--images', 'x'];
    expect(absoluteArgv(pda, EXPLAIN_DATASET.options!(pda))[3]).to.equal(join(process.cwd(), 'pm.bin'));
    const id = jobIdOf('0123456789abcdef', { path: '/x/a:b.png', name: 'a:b.png' });
    expect(id).to.match(/^0123456789abcdef-[0-9a-f]{16}$/);
    expect(jobIdOf('0123456789abcdef', { path: '/y/a:b.png', name: 'a:b.png' })).to.equal(id); // by name: the same on every machine
  });
});
