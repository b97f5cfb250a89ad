// The adversarial example's figure (the survey's Fig. 20): per image a row with the clean image,
// the adversarial one, their difference amplified, then for each chosen layer the feature map that
// changed most, clean beside adversarial (both on the clean map's scale), captioned with the layer's
// relative activation change; with an explanation method, its maps of both images.
import type { RGBAImage } from '../loaders/image-formats.ts';
import type { AttackResult } from '../explainers/adversarial.ts';
import type { Explanation } from '../explainers/explanation.ts';
import { figures, shownImages, type FigureContext } from './figures.ts';
import { montage, renderSequential, tensorToImage, type MontageCell } from './render.ts';

type Change = { layer: string; change: number[]; shape: number[]; clean: Float32Array; adversarial: Float32Array };

export function attackFigure(r: AttackResult, changes: Change[], ctx: FigureContext, explained: { clean: Explanation; adversarial: Explanation } | undefined, eps: number, method: string): RGBAImage {
  const [c, h, w] = ctx.shape;
  const per = c * h * w;
  const clean = shownImages(ctx);
  const adv = shownImages({ ...ctx, data: r.adversarial });
  const label = (k: number) => (ctx.labels?.[k] ? ctx.labels[k]!.split(',')[0]! : `class ${k}`);
  const cells: MontageCell[] = [];
  const expClean = explained && figures(explained.clean, ctx)[0];
  const expAdv = explained && figures(explained.adversarial, { ...ctx, data: r.adversarial });
  let columns = 0;
  for (let i = 0; i < ctx.batch; i++) {
    const row: MontageCell[] = [
      { image: clean[i]!, caption: `${label(r.cleanClass[i]!)} ${(100 * r.cleanProb[i]!).toFixed(1)}%` },
      { image: adv[i]!, caption: `${label(r.advClass[i]!)} ${(100 * r.advProb[i]!).toFixed(1)}%` },
    ];
    // |x' − x| summed over channels, scaled to its own maximum (the amplification)
    const diff = new Float32Array(h * w);
    for (let k = 0; k < c; k++) for (let p = 0; p < h * w; p++) diff[p]! += Math.abs(r.adversarial[i * per + k * h * w + p]! - ctx.data[i * per + k * h * w + p]!);
    row.push({ image: renderSequential(diff, h, w, { colormap: 'inferno' }), caption: `|x'-x|, Linf ${r.linf[i]!.toFixed(3)} of eps ${eps}` });
    for (const ch of changes) {
      if (ch.shape.length !== 4) {
        row.push({ image: tensorToImage(new Float32Array(h * w), 1, h, w), caption: `${ch.layer}: changed ${(100 * ch.change[i]!).toFixed(0)}%` });
        continue;
      }
      const [, K, lh, lw] = ch.shape as [number, number, number, number];
      const hw = lh * lw;
      let best = 0, bestD = -1;
      for (let k = 0; k < K; k++) {
        let d = 0;
        for (let p = 0; p < hw; p++) d += (ch.adversarial[(i * K + k) * hw + p]! - ch.clean[(i * K + k) * hw + p]!) ** 2;
        if (d > bestD) [best, bestD] = [k, d];
      }
      const a = ch.clean.subarray((i * K + best) * hw, (i * K + best + 1) * hw), b = ch.adversarial.subarray((i * K + best) * hw, (i * K + best + 1) * hw);
      let lo = Infinity, hi = -Infinity;
      for (const v of [...a, ...b]) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
      row.push({ image: renderSequential(a, lh, lw, { min: lo, max: hi }), caption: `${ch.layer} #${best} clean` });
      row.push({ image: renderSequential(b, lh, lw, { min: lo, max: hi }), caption: `adv, layer changed ${(100 * ch.change[i]!).toFixed(0)}%` });
    }
    if (expClean && expAdv && 'cells' in expClean && 'cells' in expAdv[0]!) {
      const per2 = expClean.cells.length / ctx.batch;
      row.push({ ...expClean.cells[i * per2 + per2 - 1]!, caption: `${explained!.clean.method} clean` });
      const ac = expAdv[0]!.cells;
      row.push({ ...ac[i * per2 + per2 - 1]!, caption: `${explained!.adversarial.method} adversarial` });
    }
    columns = row.length;
    cells.push(...row);
  }
  return montage(cells, { columns, cellSize: Math.max(112, Math.min(224, h * 4)), title: `${method.toUpperCase()} eps=${eps} (fraction of the pixel range) - ${ctx.model}` });
}
