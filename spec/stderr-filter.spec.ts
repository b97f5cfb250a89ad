// bin/loupe.js runs the CLI in a child process and drops Dawn's two clamped-limit warnings from its
// stderr (cli/stderr-filter.ts): exactly those lines go, everything else passes at once.
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StderrFilter, DAWN_LIMIT_WARNING } from '../cli/stderr-filter.ts';

const ROOT = join(import.meta.dirname, '..');
const W1 = 'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.\n';
const W2 = 'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.\n';
const env = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' };

/** Feeds `chunks` through a filter; returns what it forwarded, write by write. */
function run(chunks: string[]): string[] {
  const writes: string[] = [];
  const f = new StderrFilter((t) => writes.push(t));
  for (const c of chunks) f.push(c);
  f.end();
  return writes;
}

describe('stderr filter (cli/stderr-filter.ts)', () => {
  const others = [
    'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit the budget.\n', // another Dawn message
    'Warning: Some other Dawn warning.\n',
    'loupe: warning: labels.txt has 3 labels, the model 10 classes\n',
    'prefix Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.\n',
    '\rpredict [###...........................] 2/20 10% elapsed 0s eta 3s',
    '\rpredict [##############################] 20/20 100% elapsed 1s eta 0s\n',
  ];
  const text = [W1, others[0], W2, others[1], W1, others[2], others[3], others[4], '\n', W2, others[5], 'no newline at the end'].join('');
  const want = [others[0], others[1], others[2], others[3], others[4], '\n', others[5], 'no newline at the end'].join('');

  it('matches the two warnings and nothing else', () => {
    expect(DAWN_LIMIT_WARNING.test(W1.trimEnd())).to.equal(true);
    expect(DAWN_LIMIT_WARNING.test(W2.trimEnd())).to.equal(true);
    for (const o of others) expect(DAWN_LIMIT_WARNING.test(o.trimEnd()), o).to.equal(false);
  });

  it('drops exactly the warning lines, whole or split anywhere across chunks', () => {
    expect(run([text]).join('')).to.equal(want);
    expect(run([...text]).join('')).to.equal(want); // one character at a time
    let seed = 7;
    for (let trial = 0; trial < 50; trial++) {
      const chunks: string[] = [];
      for (let i = 0; i < text.length; ) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        const n = 1 + (seed % 40);
        chunks.push(text.slice(i, i + n));
        i += n;
      }
      expect(run(chunks).join(''), `trial ${trial}`).to.equal(want);
    }
  });

  it('forwards a partial line at once unless it could still become a warning', () => {
    const writes: string[] = [];
    const f = new StderrFilter((t) => writes.push(t));
    f.push('\rmaxout [#####');
    expect(writes).to.deep.equal(['\rmaxout [#####']);
    f.push('#####] 1/2');
    expect(writes.at(-1)).to.equal('#####] 1/2');
    f.push('\nWarning: maxDyn');
    expect(writes.at(-1)).to.equal('\n'); // the start of a possible warning is held back
    f.push('amicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.\nWarn');
    expect(writes.join('')).to.equal('\rmaxout [#####' + '#####] 1/2' + '\n');
    f.push('ing: the end');
    expect(writes.at(-1)).to.equal('Warning: the end'); // no longer a possible warning
  });
});

describe('bin/loupe.js with the filter', function () {
  const tmp = mkdtempSync(join(tmpdir(), 'loupe-stderr-'));
  const labels = join(tmp, 'three.txt');
  writeFileSync(labels, 'a\nb\nc\n');
  // A command that starts Dawn and then writes a line of its own on stderr: too few labels.
  const args = ['predict', '--model', join(ROOT, 'weights/lenet-relu-mnist.onnx'), '--image', join(ROOT, 'weights/mnist-test-0.png'), '--labels', labels];
  const ownLine = `loupe: warning: ${labels} has 3 labels, the model 10 classes`;

  it('drops the Dawn warnings, keeps the CLI\'s own stderr lines, stdout and the exit code', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/loupe.js'), ...args], { encoding: 'utf8', env, timeout: 300_000 });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^\s+100\.00 %\s+7\s+7$|^\s+9\d\.\d\d %\s+7\s+7$/m);
    expect(r.stderr).to.equal(`${ownLine}\n`);
    // Without the filter (the CLI in this process's child directly) Dawn's lines are there on this
    // adapter: the filter, not a quiet adapter, removed them. On an adapter whose limits Dawn does
    // not clamp there is nothing to remove and only the line above is checked.
    const direct = spawnSync(process.execPath, ['--input-type=module', '-e', `const { main } = await import(${JSON.stringify(join(ROOT, 'dist/cli/main.js'))}); process.exitCode = await main(${JSON.stringify(args)});`], { encoding: 'utf8', env, timeout: 300_000 });
    expect(direct.status, direct.stderr).to.equal(0);
    expect(direct.stderr).to.contain(ownLine);
    if (direct.stderr.includes('artificially reduced')) expect(direct.stderr.split('\n').filter((l) => DAWN_LIMIT_WARNING.test(l))).to.have.length.at.least(2);
  });

  it('the exit code of a failing command passes through', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/loupe.js'), 'info', '--model', join(tmp, 'missing.onnx')], { encoding: 'utf8', env });
    expect(r.status).to.equal(1);
    expect(r.stderr).to.match(/^loupe: .*missing\.onnx.*\n$/);
  });

  it('a SIGINT to bin/loupe.js reaches the CLI, which cancels (one line, exit 1, no output), and bin/loupe.js ends with it', async () => {
    const p = spawn(process.execPath, [join(ROOT, 'bin/loupe.js'), 'maxout', '--model', join(ROOT, 'weights/lenet-relu-mnist.onnx'), '--class', '3', '--iterations', '1000000', '--out', join(tmp, 'never')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    const started = new Promise<void>((ok) => p.stderr.on('data', (d) => { err += d; if (err.includes('maxout [')) ok(); }));
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) => p.on('close', (code, signal) => ok({ code, signal })));
    await started; // the CLI is optimising in the child
    p.kill('SIGINT');
    const r = await ended;
    // the CLI turns Ctrl-C into an abort of the running method (explainers' AbortSignal) and exits 1
    // with one line; the wrapper passes that exit code through
    expect(r, err).to.deep.equal({ code: 1, signal: null });
    expect(err).to.match(/^loupe: image optimisation: cancelled$/m);
    expect(existsSync(join(tmp, 'never.png'))).to.equal(false);
  });
});
