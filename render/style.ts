// Figures of style transfer (survey §7.3, explainers/style.ts), shared by the CLI and the browser:
// the content photo, the style image and the result side by side with their losses, and the two
// loss curves. Also the procedural "painting" the spec and the example use, since the shared data
// holds no painting: bold seeded brush strokes in a fixed palette.
import type { RGBAImage } from '../loaders/image.ts';
import { createImage, montage, resizeImage, type RGB } from './render.ts';
import { plotCurves } from './evaluate.ts';
import { prng } from '../explainers/optimize.ts';
import type { StyleResult } from '../explainers/style.ts';

/** A night-sky palette: deep blues, a teal, ochre and yellow, a little white (Van Gogh's colours, roughly). */
const PALETTE: RGB[] = [[22, 42, 110], [40, 80, 170], [70, 130, 200], [30, 120, 120], [220, 180, 40], [245, 220, 90], [200, 110, 30], [240, 240, 225]];

/**
 * A seeded image of bold brush strokes, w×h: a dark blue ground, then 60 + (w·h)/200 strokes, each a
 * thick slightly curved band of one palette colour with a darker edge, in random places and
 * directions that swirl around three centres. Deterministic for a seed.
 */
export function strokes(w: number, h: number, seed: number): RGBAImage {
  const img = createImage(w, h, [18, 30, 80]);
  const r = prng(seed);
  const side = Math.min(w, h);
  const centres = [0, 1, 2].map(() => [r.next() * w, r.next() * h] as [number, number]);
  const count = 60 + Math.floor((w * h) / 200);
  for (let k = 0; k < count; k++) {
    const col = PALETTE[Math.floor(r.next() * PALETTE.length)]!;
    const cx = r.next() * w, cy = r.next() * h;
    // swirl: perpendicular to the direction to the nearest centre, plus some noise
    const [sx, sy] = centres.reduce((a, b) => ((a[0] - cx) ** 2 + (a[1] - cy) ** 2 <= (b[0] - cx) ** 2 + (b[1] - cy) ** 2 ? a : b));
    const angle = Math.atan2(cy - sy, cx - sx) + Math.PI / 2 + (r.next() - 0.5) * 0.8;
    const len = side * (0.08 + 0.18 * r.next());
    const width = Math.max(1.5, side * (0.012 + 0.02 * r.next()));
    const bend = (r.next() - 0.5) * 0.6;
    const steps = Math.ceil(len);
    for (let s = 0; s <= steps; s++) {
      const t = s / steps - 0.5;
      const a = angle + bend * t;
      const px = cx + Math.cos(a) * t * len, py = cy + Math.sin(a) * t * len;
      for (let dy = -Math.ceil(width); dy <= Math.ceil(width); dy++)
        for (let dx = -Math.ceil(width); dx <= Math.ceil(width); dx++) {
          const d = Math.hypot(dx, dy);
          if (d > width) continue;
          const x = Math.round(px + dx), y = Math.round(py + dy);
          if (x < 0 || y < 0 || x >= w || y >= h) continue;
          const shade = d > width - 1 ? 0.6 : 1; // a darker rim: visible edges, as paint has
          img.data.set([Math.round(col[0] * shade), Math.round(col[1] * shade), Math.round(col[2] * shade), 255], (y * w + x) * 4);
        }
    }
  }
  return img;
}

const sci = (v: number) => (v === 0 ? '0' : v.toExponential(2));

/** PREFIX.png: content | style | result, each with its caption, the losses under the result. */
export function styleFigure(content: RGBAImage, style: RGBAImage, result: RGBAImage, r: Pick<StyleResult, 'log' | 'contentLayer' | 'styleLayers' | 'seconds'>, opts: { model: string; alpha: number; beta: number; init: string }): RGBAImage {
  const first = r.log[0]!, last = r.log[r.log.length - 1]!;
  const cell = Math.max(192, Math.min(320, Math.max(content.width, content.height)));
  const fit = (img: RGBAImage) => (img.width === cell && img.height === cell ? img : resizeImage(img, cell, cell, 'bilinear'));
  return montage(
    [
      { image: fit(content), caption: `content: ${r.contentLayer}` },
      { image: fit(style), caption: `style: ${r.styleLayers.join(', ')}` },
      { image: fit(result), caption: `${last.iteration} iterations, ${r.seconds.toFixed(0)} s; content ${sci(first.content)} -> ${sci(last.content)}; style ${sci(first.style)} -> ${sci(last.style)}` },
    ],
    { columns: 3, cellSize: cell, textScale: 1, titleScale: 1, captionLines: 4, title: `style transfer, ${opts.model}: alpha=${opts.alpha}, beta=${opts.beta}, from the ${opts.init === 'noise' ? 'noise' : 'photo'}` },
  );
}

/** PREFIX-curve.png: the content, style and total losses per iteration, each as a fraction of its largest value. */
export function styleCurve(r: Pick<StyleResult, 'log'>): RGBAImage {
  const series = (['content', 'style', 'total'] as const).map((k) => {
    const v = r.log.map((l) => l[k]);
    const max = Math.max(...v);
    return { label: `${k} ${sci(v[0]!)} -> ${sci(v[v.length - 1]!)}`, curve: v.map((x) => (max > 0 ? x / max : 0)) };
  });
  return plotCurves(series, 'losses / their largest value', `iteration (0-${r.log.length - 1})`, 420, 300);
}
