// .ci/setup-system adds bookworm-backports from the mirror the machine already uses: the apt entry
// that serves bookworm, read from one-line or deb822 sources (--print-backports-entry, APT_ETC).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = join(import.meta.dirname, '..', '.ci', 'setup-system');

/** Runs `--print-backports-entry` on an /etc/apt made of `files` (path under it -> text), or on `etc`. */
function entry(files: Record<string, string> | string) {
  let etc = files as string;
  if (typeof files !== 'string') {
    etc = mkdtempSync(join(tmpdir(), 'loupe-apt-'));
    mkdirSync(join(etc, 'sources.list.d'));
    for (const [f, text] of Object.entries(files)) writeFileSync(join(etc, f), text);
  }
  const r = spawnSync('bash', [SCRIPT, '--print-backports-entry'], { encoding: 'utf8', env: { ...process.env, APT_ETC: etc } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('.ci/setup-system: the bookworm-backports entry', () => {
  it('names no host itself', () => {
    expect(readFileSync(SCRIPT, 'utf8')).not.to.match(/[a-z0-9-]+\.(org|com|net|io)\b|https?:\/\/[a-z]/i);
  });

  it('copies a one-line entry that serves bookworm, with its options', () => {
    const r = entry({
      'sources.list': [
        '# deb http://old.example/debian bookworm main',
        'deb https://other.example/apt cloud-sdk-bookworm main',
        'deb-src http://src.example/debian bookworm main',
        'deb [ arch=amd64 signed-by=/usr/share/keyrings/k.gpg ] http://mirror.example/debian bookworm main contrib # the main archive',
        'deb http://mirror.example/debian-security bookworm-security main',
        '',
      ].join('\n'),
    });
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.equal('deb [ arch=amd64 signed-by=/usr/share/keyrings/k.gpg ] http://mirror.example/debian bookworm-backports main\n');
    expect(entry({ 'sources.list.d/main.list': 'deb http://mirror.example/debian bookworm main\n' }).out).to.equal('deb http://mirror.example/debian bookworm-backports main\n');
  });

  it('writes a deb822 stanza for a deb822 source, skipping disabled, deb-src-only and other suites', () => {
    const key = ['-----BEGIN PGP PUBLIC KEY BLOCK-----', ' .', ' mQINBF...', ' -----END PGP PUBLIC KEY BLOCK-----'];
    const r = entry({
      'sources.list.d/debian.sources': [
        'Types: deb',
        'URIs: http://off.example/debian',
        'Suites: bookworm',
        'Components: main',
        'Enabled: no',
        '',
        'Types: deb-src',
        'URIs: http://src.example/debian',
        'Suites: bookworm',
        'Components: main',
        '',
        'Types: deb',
        'URIs: http://mirror.example/debian-security',
        'Suites: bookworm-security',
        'Components: main',
        '',
        'Types: deb deb-src',
        '# a comment inside the stanza',
        'URIs: http://mirror.example/debian http://second.example/debian',
        'Suites: bookworm bookworm-updates',
        'Components: main',
        `Signed-By: ${key[0]}`,
        ...key.slice(1),
        '',
      ].join('\n'),
    });
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.equal(['Types: deb', 'URIs: http://mirror.example/debian', 'Suites: bookworm-backports', 'Components: main', `Signed-By: ${key[0]}`, ...key.slice(1), ''].join('\n'));
  });

  it('fails, saying so, when no source serves bookworm', () => {
    const r = entry({ 'sources.list': 'deb http://mirror.example/debian trixie main\n' });
    expect(r.code).to.equal(1);
    expect(r.err).to.match(/no apt source .* serves bookworm/);
  });

  it("reads this machine's own sources", function () {
    if (!existsSync('/etc/os-release') || !/^VERSION_CODENAME=bookworm$/m.test(readFileSync('/etc/os-release', 'utf8'))) this.skip();
    const r = entry('/etc/apt');
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.match(/^deb (\[[^\]]*\] )?\S+ bookworm-backports main\n$|^Types: deb\nURIs: \S+\nSuites: bookworm-backports\nComponents: main\n/);
  });
});
