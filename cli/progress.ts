// A one-line progress bar with ETA on stderr (redrawn in place on a terminal, a line per 10 % otherwise).
export interface Progress {
  /** `what` relabels the bar: a new label starts a new phase (its own line, elapsed time and ETA) */
  update: (done: number, total?: number, what?: string) => void;
  done: () => void;
}

export function progressBar(label: string, total: number): Progress {
  let t0 = Date.now();
  let drawn = false;
  // Under bin/loupe.js stderr is a pipe to its filter, which says whether it writes to a terminal.
  const tty = process.stderr.isTTY || process.env.LOUPE_STDERR_TTY === '1';
  let lastDecile = -1;
  const fmt = (s: number) => (s < 60 ? `${s.toFixed(0)}s` : `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`);
  const draw = (done: number) => {
    const f = total > 0 ? done / total : 1;
    const el = (Date.now() - t0) / 1000;
    const eta = f > 0 ? (el / f) * (1 - f) : 0;
    const line = `${label} [${'#'.repeat(Math.round(f * 30)).padEnd(30, '.')}] ${Number.isInteger(done) ? done : done.toFixed(1)}/${total} ${(f * 100).toFixed(0)}% elapsed ${fmt(el)} eta ${fmt(eta)}`;
    drawn = true;
    if (tty) process.stderr.write(`\r${line}`);
    else if (Math.floor(f * 10) > lastDecile) {
      lastDecile = Math.floor(f * 10);
      process.stderr.write(`${line}\n`);
    }
  };
  return {
    update: (done, t, what) => {
      if (t !== undefined) total = t;
      if (what !== undefined && what !== label) {
        if (tty && drawn) process.stderr.write('\n');
        label = what;
        t0 = Date.now();
        lastDecile = -1;
      }
      draw(done);
    },
    done: () => {
      if (tty && drawn) process.stderr.write('\n');
    },
  };
}
