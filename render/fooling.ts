// The fooling images' figure (survey §7.1): one cell per class, captioned with the fooled model's
// probability of the class, the steps it took, and the judge's probability of the same class (and
// its own top class where that differs).
import type { RGBAImage } from '../loaders/image-formats.ts';
import type { FoolResult } from '../explainers/fooling.ts';
import { montage, tensorToImage, type MontageCell } from './render.ts';

/** 99.9927%, 12.3%, 4e-9%, 0% (below float64's smallest) */
const pct = (p: number) => (p >= 0.999 ? `${(Math.floor(1e6 * p) / 1e4).toFixed(4)}%` : p >= 0.001 ? `${(100 * p).toFixed(1)}%` : p > 0 ? `${(100 * p).toExponential(0)}%` : '0%');

export function foolFigure(r: FoolResult, shape: [number, number, number], pp: { mean?: number[]; scale?: number; bgr?: boolean }, o: { title: string; label?: (k: number) => string; columns?: number }): RGBAImage {
  const [c, h, w] = shape;
  const per = c * h * w;
  const label = o.label ?? ((k: number) => String(k));
  const cells: MontageCell[] = r.classes.map((k, i) => {
    const it = r.iterations[i];
    let caption = `${label(k)}: ${pct(r.probs[i]!)} ${it === null ? 'not reached' : `in ${it}`}`;
    const g = r.pixels[i]!;
    if (g.max - g.min < 64) caption += ` | pixels ${Math.round(g.min)}-${Math.round(g.max)}`; // a faint image: say how faint
    if (r.judge) {
      const top = r.judge.top[i]!;
      caption += ` | judge ${pct(r.judge.probs[i]!)}${top !== k ? `, says ${label(top)}` : ''}`;
    }
    return { image: tensorToImage(r.images.subarray(i * per, (i + 1) * per), c, h, w, { mean: pp.mean, scale: pp.scale, bgr: pp.bgr }), caption };
  });
  return montage(cells, { columns: o.columns ?? Math.min(cells.length, 5), cellSize: Math.max(140, Math.min(224, h * 5)), title: o.title, textScale: 1, titleScale: 2, upscale: 'nearest' });
}
