// Mocha's spec reporter, plus closing lines that CI reads. Mocha's own
// "N passing" is not a line CI's reader knows, so a green run was recorded as
// one that ran no test; so was the next run, which closed on the plain
// "mocha: N passed, N failed, N skipped" alone. The counts now also close in
// the TAP summary form that node's own test runner ends with (# tests, # pass,
// # fail, ...), a form CI's reader names.
'use strict';
const Mocha = require('mocha');
const { Spec } = Mocha.reporters;
const { EVENT_RUN_END } = Mocha.Runner.constants;

class LoupeReporter extends Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const s = this.stats;
      process.stdout.write(`mocha: ${s.passes} passed, ${s.failures} failed, ${s.pending} skipped\n`);
      const tap = { tests: s.tests, suites: s.suites, pass: s.passes, fail: s.failures, cancelled: 0, skipped: s.pending, todo: 0, duration_ms: s.duration ?? 0 };
      process.stdout.write(Object.entries(tap).map(([k, v]) => `# ${k} ${v}\n`).join(''));
    });
  }
}

module.exports = LoupeReporter;
