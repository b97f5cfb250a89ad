// The line filter bin/loupe.js puts between the CLI (a child process) and the real stderr. Dawn
// writes two warnings straight to file descriptor 2 from native code (Limits.cpp, dawn::WarningLog)
// whenever it clamps the adapter's limits to fit its dynamic-offset allocation, e.g. on lavapipe:
//   Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.
// No Dawn option or toggle silences them, so exactly these lines are dropped; everything else is
// forwarded as soon as it arrives: a partial line (a progress bar redrawn with \r) is held back only
// while it could still become one of these warnings.

/** One of the two warnings, as a whole line without its newline. */
export const DAWN_LIMIT_WARNING =
  /^Warning: maxDynamic(?:Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.$/;
const HEAD = 'Warning: maxDynamic';
const LONGEST = 200; // longer than either warning with any limits: a line this long is something else

/** Could `s`, the start of a line, still grow into a DAWN_LIMIT_WARNING line? */
const mayBecomeWarning = (s: string) => s.length <= LONGEST && (HEAD.startsWith(s) || s.startsWith(HEAD));

export class StderrFilter {
  private held = ''; // the start of the current line, not forwarded yet
  private midLine = false; // part of the current line has been forwarded: it is not a warning

  constructor(private readonly write: (text: string) => void) {}

  /** Takes the next chunk of the child's stderr (decoded text); forwards what is known not to be a warning. */
  push(chunk: string): void {
    let s = this.held + chunk;
    this.held = '';
    let out = '';
    while (s.length > 0) {
      const nl = s.indexOf('\n');
      if (this.midLine || nl < 0) {
        if (nl >= 0) {
          out += s.slice(0, nl + 1);
          s = s.slice(nl + 1);
          this.midLine = false;
        } else if (!this.midLine && mayBecomeWarning(s)) {
          this.held = s;
          s = '';
        } else {
          out += s;
          s = '';
          this.midLine = true;
        }
        continue;
      }
      if (!DAWN_LIMIT_WARNING.test(s.slice(0, nl))) out += s.slice(0, nl + 1);
      s = s.slice(nl + 1);
    }
    if (out) this.write(out);
  }

  /** The child's stderr has ended: forwards a held partial line (it never became a warning). */
  end(): void {
    if (this.held) this.write(this.held);
    this.held = '';
  }
}
