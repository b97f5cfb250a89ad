// Queue workers on Redis (BullMQ): dynamic load balancing of a data-set run over any number of
// processes and machines that see the same --out folder (at the same path).
//
// `loupe queue push --redis URL -- explain … --images DIR --out DIR` prepares the command as the
// single process would (everything checked before anything is queued), opens the --out folder
// (run.json written or checked) and adds one job per image not yet done. A job's id is the run's key
// and a hash of the image's name, so pushing again adds nothing twice (BullMQ keeps one job per id);
// a job that had failed is retried instead.
//
// `loupe worker --redis URL` takes jobs: per command line, the prepared command and its session (the
// model on this process's one GPU engine) are kept; per job, the manifest is read again for what
// other workers have appended, the image skipped when it is done, else computed with runItem (its
// files all or nothing, then one manifest line): what `loupe explain --images` computes, byte for
// byte. The job's lock is renewed while it runs; a worker that dies (SIGKILL, a lost machine) stops
// renewing it, and after --lock-ms another worker's stalled-job check puts the job back on the queue.
// A failure caused by the input (an image that does not decode) is not retried; others are, up to
// --attempts.
//
// `loupe queue status` counts the jobs and estimates the rest from the finished jobs' times.
//
// bullmq and ioredis are imported when one of these commands runs, never by the library.
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { Job, Queue, Worker } from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';
import { ArgumentError, CancelledError, GpuError, LoupeError } from '../engine/errors.ts';
import type { Engine } from '../engine/gpu.ts';
import { Args } from './args.ts';
import { QUEUE_OPTIONS, WORKER_OPTIONS } from './commands.ts';
import { flagName, validateOptions, type OptionSpec } from '../explainers/options.ts';
import { datasetCommand, fileSha256, identityKey, Manifest, RUN_FILE, runItem, sha256, shardItems, type DatasetCommand, type DatasetItem, type DatasetSession } from './dataset.ts';

/** What one job carries: the data-set command line (paths absolute), the image, and the run's key. */
export interface QueueJobData {
  command: string;
  argv: string[];
  item: DatasetItem;
  run: string;
}

// ---- Redis ------------------------------------------------------------------------------------------

/** The URL without its password, for messages. */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

/** Checks a --redis value: redis:// or rediss://, a host; one line naming it otherwise. */
export function checkRedisUrl(url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ArgumentError(`--redis ${url}: not a URL; give redis://HOST:PORT[/DB]`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new ArgumentError(`--redis ${shownUrl(url)}: not a Redis URL (${u.protocol}); give redis://HOST:PORT[/DB]`);
  if (!u.hostname) throw new ArgumentError(`--redis ${shownUrl(url)}: no host; give redis://HOST:PORT[/DB]`);
  if (u.pathname && u.pathname !== '/' && !/^\/\d+$/.test(u.pathname)) throw new ArgumentError(`--redis ${shownUrl(url)}: the path must be a database number, such as /0`);
}

/** A queue name BullMQ takes and a Redis key can hold: letters, digits, _ . - */
export function checkQueueName(name: string): void {
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(name)) throw new ArgumentError(`--queue ${name}: use letters, digits, _ . and - only (BullMQ keys are separated by ':')`);
}

async function ioredis(): Promise<typeof import('ioredis').Redis> {
  return (await import('ioredis')).Redis;
}

/**
 * A connection to `url` that answered PING within a few seconds, or one line: `cannot reach Redis at
 * URL (ECONNREFUSED)`. `worker`: after that first answer it reconnects for ever (a worker outlives a
 * Redis restart) and never gives up a command (BullMQ needs maxRetriesPerRequest: null).
 */
export async function connectRedis(url: string, worker = false): Promise<Redis> {
  checkRedisUrl(url);
  const IORedis = await ioredis();
  let last: Error & { code?: string } | undefined;
  let checked = false;
  const opts: RedisOptions = {
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: worker ? null : 2,
    enableOfflineQueue: true,
    retryStrategy: (times) => (checked ? Math.min(times * 250, 2000) : null),
  };
  const client = new IORedis(url, opts);
  client.on('error', (e: Error) => {
    last = e;
    if (checked && worker) console.error(`loupe: worker: Redis at ${shownUrl(url)}: ${(e as { code?: string }).code ?? e.message}; reconnecting`);
  });
  const fail = (e: unknown): never => {
    client.disconnect();
    const why = last?.code ?? (e as { code?: string })?.code ?? last?.message ?? (e as Error)?.message ?? String(e);
    throw new ArgumentError(`cannot reach Redis at ${shownUrl(url)} (${why})`);
  };
  const timer = <T>(p: Promise<T>) =>
    Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(Object.assign(new Error('no answer in 5 s'), { code: 'ETIMEDOUT' })), 5000).unref())]);
  try {
    await timer(client.connect());
    const pong = await timer(client.ping());
    if (pong !== 'PONG') fail(new Error(`PING answered ${pong}`));
  } catch (e) {
    fail(e);
  }
  checked = true;
  return client;
}

/** The BullMQ classes, loaded now (not by the library or the other commands). */
async function bullmq(): Promise<typeof import('bullmq')> {
  return await import('bullmq');
}

// ---- loupe queue push ------------------------------------------------------------------------------------

/** The command line `argv` with the values of its path options made absolute (workers may run in another folder, with the same mounts). */
export function absoluteArgv(argv: string[], specs: readonly OptionSpec[] | undefined): string[] {
  const isPath = (flag: string): boolean => {
    if (!specs) return ['model', 'weights', 'images', 'labels', 'out'].includes(flag);
    const s = specs.find((x) => flagName(x.name) === flag);
    return !!s && (s.type === 'path' || s.type === 'file');
  };
  const keywordsOf = (flag: string) => {
    const s = specs?.find((x) => flagName(x.name) === flag);
    return s && s.type === 'file' ? (s.keywords ?? []) : [];
  };
  const abs = (flag: string, v: string) => (isPath(flag) && !keywordsOf(flag).includes(v) && !isAbsolute(v) ? resolve(v) : v);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      out.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    if (eq > 0) {
      out.push(`${a.slice(0, eq + 1)}${abs(a.slice(2, eq), a.slice(eq + 1))}`);
      continue;
    }
    const spec = specs?.find((x) => flagName(x.name) === a.slice(2));
    out.push(a);
    if (spec?.type === 'flag') continue;
    if (i + 1 < argv.length) out.push(abs(a.slice(2), argv[++i]!));
  }
  return out;
}

/** The id of an image's job: the run's key and a hash of the image's name (no ':', not an integer; the same on every push). */
export const jobIdOf = (run: string, item: DatasetItem) => `${run}-${sha256(item.name).slice(0, 16)}`;

interface Prepared {
  c: DatasetCommand;
  p: unknown;
  argv: string[];
}

/** A data-set command line checked as the command itself would check it: prepared, and a data-set run. */
async function prepareDataset(words: string[], who: string): Promise<Prepared> {
  const [command, ...rest] = words;
  if (command === undefined) throw new ArgumentError(`${who}: give the data-set command after --, such as: -- explain --method saliency --model M --images DIR --out DIR`);
  await import('./dataset-commands.ts');
  const c = datasetCommand(command);
  const argv = absoluteArgv(rest, c.options?.(rest));
  const p = c.prepare(argv);
  if (!c.isDataset(p)) throw new ArgumentError(`${who}: ${command} without --images is not a data-set run: give --images DIR_OR_LIST and --out DIR`);
  return { c, p, argv };
}

export interface PushSummary {
  queued: number;
  done: number;
  already: number;
  retried: number;
  run: string;
}

/** Adds the not-yet-done images of `words` (a data-set command line) as jobs of `queue`. */
export async function pushRun(client: Redis, queueName: string, words: string[], attempts: number): Promise<PushSummary> {
  const { c, p, argv } = await prepareDataset(words, 'queue push');
  const identity = c.identity(p);
  const run = identityKey(identity);
  const manifest = Manifest.open(c.out(p), identity, '--out', { shared: true });
  const items = shardItems(c.items(p), c.shard(p)).map((it) => ({ path: resolve(it.path), name: it.name }));
  const todo = items.filter((it) => !manifest.done(it.name, fileSha256(it.path)));
  const { Queue } = await bullmq();
  const queue = new Queue(queueName, { connection: client });
  try {
    let already = 0, retried = 0, queued = 0;
    const CHUNK = 500;
    for (let i = 0; i < todo.length; i += CHUNK) {
      const part = todo.slice(i, i + CHUNK);
      const ids = part.map((it) => jobIdOf(run, it));
      const pipe = client.pipeline();
      for (const id of ids) pipe.exists(queue.toKey(id)).zscore(queue.toKey('failed'), id);
      const res = (await pipe.exec()) ?? [];
      const add: { name: string; data: QueueJobData; opts: { jobId: string; attempts: number } }[] = [];
      for (let k = 0; k < part.length; k++) {
        const exists = res[2 * k]?.[1] === 1;
        const failed = res[2 * k + 1]?.[1] !== null && res[2 * k + 1]?.[1] !== undefined;
        if (exists && failed) {
          const job = await queue.getJob(ids[k]!);
          if (job) {
            await job.retry('failed');
            retried++;
            continue;
          }
        }
        if (exists) {
          already++;
          continue;
        }
        add.push({ name: c.command, data: { command: c.command, argv, item: part[k]!, run }, opts: { jobId: ids[k]!, attempts } });
      }
      if (add.length) {
        await queue.addBulk(add);
        queued += add.length;
      }
    }
    return { queued, done: items.length - todo.length, already, retried, run };
  } finally {
    await queue.close();
  }
}

// ---- loupe queue status --------------------------------------------------------------------------------

export interface QueueStatus {
  queue: string;
  redis: string;
  waiting: number;
  active: number;
  done: number;
  skipped: number;
  failed: number;
  failures: { item: string; reason: string }[];
  /** finished jobs per second over the last finished jobs (first start to last finish); null: none finished */
  jobsPerSecond: number | null;
  /** seconds for the waiting and active jobs at that rate */
  etaSeconds: number | null;
}

export async function queueStatus(client: Redis, queueName: string, url: string): Promise<QueueStatus> {
  const { Queue } = await bullmq();
  const queue = new Queue(queueName, { connection: client });
  try {
    const n = await queue.getJobCounts('waiting', 'delayed', 'prioritized', 'paused', 'waiting-children', 'active', 'completed', 'failed');
    const waiting = (n.waiting ?? 0) + (n.delayed ?? 0) + (n.prioritized ?? 0) + (n.paused ?? 0) + (n['waiting-children'] ?? 0);
    const finished = (await queue.getJobs(['completed'], 0, 999, false)) as Job<QueueJobData>[];
    const skipped = finished.filter((j) => j.returnvalue === 'skipped').length;
    let rate: number | null = null;
    const times = finished.filter((j) => j.processedOn && j.finishedOn);
    if (times.length > 0) {
      const start = Math.min(...times.map((j) => j.processedOn!));
      const end = Math.max(...times.map((j) => j.finishedOn!));
      rate = times.length / Math.max((end - start) / 1000, 1e-3);
    }
    const failedJobs = (await queue.getJobs(['failed'], 0, 4, true)) as Job<QueueJobData>[];
    const failures = failedJobs.map((j) => ({ item: j.data?.item?.name ?? String(j.id), reason: (j.failedReason ?? '').split('\n')[0]! }));
    const left = waiting + (n.active ?? 0);
    return {
      queue: queueName, redis: shownUrl(url), waiting, active: n.active ?? 0, done: n.completed ?? 0, skipped,
      failed: n.failed ?? 0, failures, jobsPerSecond: rate, etaSeconds: rate ? left / rate : left === 0 ? 0 : null,
    };
  } finally {
    await queue.close();
  }
}

const duration = (s: number) => (s < 90 ? `${s.toFixed(0)} s` : s < 5400 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`);

export function statusText(s: QueueStatus): string {
  const lines = [
    `${s.queue} at ${s.redis}: ${s.done} done${s.skipped ? ` (${s.skipped} of the last ${Math.min(s.done, 1000)} skipped: already in the manifest)` : ''}, ${s.active} active, ${s.waiting} waiting, ${s.failed} failed`,
    s.jobsPerSecond === null ? 'rate: no job finished yet' : `rate: ${s.jobsPerSecond.toFixed(2)} jobs/s; ETA ${s.etaSeconds === null ? 'unknown' : duration(s.etaSeconds)}`,
    ...s.failures.map((f) => `failed: ${f.item}: ${f.reason}`),
  ];
  if (s.failed > s.failures.length) lines.push(`… and ${s.failed - s.failures.length} more failed`);
  return lines.join('\n');
}

// ---- the commands -------------------------------------------------------------------------------------------

/** `loupe queue push … -- COMMAND ARGS…` and `loupe queue status …`. */
export async function queueCommand(argv: string[]): Promise<number> {
  const sep = argv.indexOf('--');
  const own = sep < 0 ? argv : argv.slice(0, sep);
  const words = sep < 0 ? [] : argv.slice(sep + 1);
  const args = new Args(own, QUEUE_OPTIONS, 'queue');
  const [sub, ...extra] = args.positional;
  if (sub !== 'push' && sub !== 'status') throw new ArgumentError(`queue: give push or status${sub !== undefined ? `, not "${sub}"` : ''} (loupe queue --help)`);
  if (extra.length) throw new ArgumentError(`queue ${sub}: unexpected argument "${extra[0]}"${sub === 'push' ? ' (the data-set command goes after --)' : ''}`);
  const o = validateOptions(QUEUE_OPTIONS, args.given(QUEUE_OPTIONS), {}, `queue ${sub}`);
  checkRedisUrl(o.redis);
  checkQueueName(o.queue);
  if (sub === 'status') {
    if (sep >= 0) throw new ArgumentError('queue status takes no command (nothing after --)');
    if (args.given(QUEUE_OPTIONS).attempts !== undefined) throw new ArgumentError('--attempts is for queue push');
    const client = await connectRedis(o.redis);
    try {
      const s = await queueStatus(client, o.queue, o.redis);
      console.log(o.json ? JSON.stringify(s, null, 1) : statusText(s));
    } finally {
      client.disconnect();
    }
    return 0;
  }
  if (o.json) throw new ArgumentError('--json is for queue status');
  if (sep < 0) throw new ArgumentError('queue push: give the data-set command after --, such as: loupe queue push --redis URL -- explain --method saliency --model M --images DIR --out DIR');
  // Everything about the command line is checked before Redis is asked.
  await prepareDataset(words, 'queue push');
  const client = await connectRedis(o.redis);
  try {
    const s = await pushRun(client, o.queue, words, o.attempts);
    const notes = [`${s.done} already done`, ...(s.already ? [`${s.already} already queued`] : []), ...(s.retried ? [`${s.retried} failed jobs retried`] : [])];
    console.log(`queued ${s.queued} jobs (${notes.join(', ')}) on ${o.queue} at ${shownUrl(o.redis)}`);
  } finally {
    client.disconnect();
  }
  return 0;
}

/** One prepared command line in a worker: the command, its session on the engine, its manifest. */
interface Run {
  key: string;
  c: DatasetCommand;
  run: string;
  manifest: Manifest;
  session: DatasetSession;
}

/** A failure that another try cannot mend: the input's, or the command line's. */
const permanent = (e: unknown) => e instanceof LoupeError && !(e instanceof GpuError) && !(e instanceof CancelledError);

/** `loupe worker --redis URL …`. */
export async function workerCommand(argv: string[]): Promise<number> {
  const args = new Args(argv, WORKER_OPTIONS, 'worker');
  if (args.positional.length) throw new ArgumentError(`worker: unexpected argument "${args.positional[0]}"`);
  const o = validateOptions(WORKER_OPTIONS, args.given(WORKER_OPTIONS), {}, 'worker');
  checkRedisUrl(o.redis);
  checkQueueName(o.queue);
  const client = await connectRedis(o.redis, true);
  const { Worker, Queue, UnrecoverableError } = await bullmq();
  const delay = Number(process.env.LOUPE_TEST_ITEM_DELAY_MS ?? 0);

  let engine: Engine | undefined;
  const runs = new Map<string, Run>();
  let gpu: Promise<unknown> = Promise.resolve(); // the GPU work of concurrent jobs takes turns
  const abort = new AbortController();
  let busy = 0;

  const runOf = async (d: QueueJobData): Promise<Run> => {
    const key = JSON.stringify([d.command, d.argv]);
    const had = runs.get(key);
    if (had) return had;
    const { c, p } = await prepareDataset([d.command, ...d.argv], 'worker');
    const out = c.out(p);
    if (!existsSync(join(out, RUN_FILE))) throw new ArgumentError(`${join(out, RUN_FILE)} not found: this worker does not see the --out folder loupe queue push wrote (mount it at the same path)`);
    const identity = c.identity(p);
    const run = identityKey(identity);
    const manifest = Manifest.open(out, identity, '--out', { shared: true });
    if (!engine) engine = await (await import('./gpu-node.ts')).createNodeEngine();
    const r: Run = { key, c, run, manifest, session: c.open(p, engine) };
    runs.set(key, r);
    if (runs.size > 2) {
      // a worker serving many runs keeps the last two models on the GPU
      const [oldest] = runs.values();
      if (oldest && oldest !== r && busy <= 1) {
        runs.delete(oldest.key);
        oldest.session.close();
      }
    }
    return r;
  };

  const process1 = async (job: Job<QueueJobData>): Promise<string> => {
    const d = job.data;
    const name = d?.item?.name ?? String(job.id);
    busy++;
    const t0 = performance.now();
    try {
      const r = await runOf(d);
      if (r.run !== d.run)
        throw new ArgumentError(`the run's parameters changed since it was pushed (key ${d.run}, now ${r.run}: a file it reads was changed); push it again into another --out folder`);
      r.manifest.refresh(); // what other workers have appended
      const sha = fileSha256(d.item.path);
      if (r.manifest.done(d.item.name, sha)) {
        console.error(`${name} skipped`);
        return 'skipped';
      }
      console.error(`${name} started`);
      await job.updateProgress(0);
      if (delay > 0) await new Promise((res) => setTimeout(res, delay));
      const turn = gpu.then(() => runItem(r.manifest, d.item, r.session.compute, abort.signal, { adapter: engine?.adapterInfo, inputSha256: sha }));
      gpu = turn.catch(() => undefined);
      await turn;
      await job.updateProgress(100);
      console.error(`${name} done in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
      return 'done';
    } catch (e) {
      const msg = (e as Error)?.message ?? String(e);
      console.error(`${name} failed: ${msg}`);
      if (permanent(e)) throw new UnrecoverableError(msg);
      throw e;
    } finally {
      busy--;
    }
  };

  const worker: Worker<QueueJobData, string> = new Worker<QueueJobData, string>(o.queue, process1, {
    connection: client,
    concurrency: o.concurrency,
    lockDuration: o.lockMs,
    stalledInterval: o.lockMs,
    maxStalledCount: 5,
  });
  worker.on('error', (e) => console.error(`loupe: worker: ${e.message}`));

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await worker.close();
      for (const r of runs.values()) r.session.close();
      runs.clear();
    })();
    return stopping;
  };
  const onSignal = () => {
    if (stopping) abort.abort(); // a second signal: the job in flight stops at its next check point and goes back
    void stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const queue: Queue | undefined = o.idleExit !== undefined ? new Queue(o.queue, { connection: client }) : undefined;
  try {
    await worker.waitUntilReady();
    if (queue) {
      let idleSince = Date.now();
      while (!stopping) {
        await new Promise((res) => setTimeout(res, 250));
        if (stopping) break;
        const n = await queue.getJobCounts('waiting', 'delayed', 'prioritized', 'paused', 'active');
        const pending = Object.values(n).reduce((a, b) => a + b, 0);
        if (pending > 0 || busy > 0) idleSince = Date.now();
        else if (Date.now() - idleSince >= o.idleExit! * 1000) break;
      }
      await stop();
    } else await new Promise<void>((res) => worker.on('closed', () => res()));
    await stopping;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await queue?.close();
    client.disconnect();
    if (engine) {
      engine.trimPool();
      engine.device.destroy();
    }
  }
  return 0;
}
