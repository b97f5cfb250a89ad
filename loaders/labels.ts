// Class names: one per line; Caffe's synset_words.txt lines ("n01440764 tench, Tinca tinca") lose
// their WordNet id. Bytes in, no file system (the CLI and the browser app both read labels files).
import { InputFormatError } from '../engine/errors.ts';

export function parseLabels(bytes: Uint8Array, fileName: string): string[] {
  const lines = new TextDecoder().decode(bytes).split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new InputFormatError(`${fileName}: no labels in file`);
  return lines.map((l) => l.replace(/^n\d{8}\s+/, '').trim());
}
