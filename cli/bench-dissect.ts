// `loupe bench --only dissect`: network dissection's two costs on SqueezeNet v1.0's last fire module
// (fire9's concat, 512 units at 13×13), measured apart: the forward pass to the layer, and the
// concept tally (engine/dissect.ts's ConceptTally: upsampling to the masks, thresholding,
// intersections per unit × concept, unit and concept areas) on the GPU, against the same tally as a
// plain TypeScript loop on the CPU over the same activations (upsampleMap, the GPU's own arithmetic,
// so the counts must agree exactly: checked). Labels as Broden has them for NetDissect: masks at
// 112×112, 1,198 concepts, several label planes per image (random here; the tally's work does not
// depend on which concept a pixel has). Then the projected time for Broden's 63,305 images: one
// forward for the tally plus the quantile sweeps, which re-run the network when the maps do not fit
// the replay cache (21 GB of fire9 maps for Broden do not).
import type { Engine } from '../engine/gpu.ts';
import type { Model } from '../engine/runner.ts';
import { ConceptTally } from '../engine/dissect.ts';
import { upsampleMap } from '../explainers/dissect.ts';
import { mulberry32 } from '../engine/train.ts';

export const BRODEN_IMAGES = 63_305;

export interface DissectBench {
  layer: string;
  units: number;
  map: [number, number];
  mask: [number, number];
  concepts: number;
  planes: number;
  batch: number;
  forwardImagesPerSecond: number;
  tallyImagesPerSecond: number;
  cpuTallyImagesPerSecond: number;
  gpuOverCpu: number;
  countsAgree: boolean;
  /** seconds for Broden: forward + tally, and with the quantile sweeps (3 more forwards) */
  brodenTallySeconds: number;
  brodenSeconds: number;
}


const fmt = (s: number) => (s >= 3600 ? `${(s / 3600).toFixed(1)} h` : s >= 60 ? `${(s / 60).toFixed(0)} min` : `${s.toFixed(0)} s`);

export async function benchDissect(o: { engine: Engine; sqz: Model; layer: string; quick: boolean; log: (s: string) => void }): Promise<DissectBench> {
  const { engine, sqz, layer, quick, log } = o;
  const n = quick ? 4 : 16, reps = quick ? 2 : 4;
  const MH = 112, MW = 112, C = 1198, P = 4;
  const [, ch, h, w] = sqz.graph.input.shape as [number, number, number, number];
  const next = mulberry32(1616);
  const x = new Float32Array(n * ch * h * w).map(() => (next() - 0.5) * 120);
  // the forward pass to the layer (what every sweep of the data set costs)
  await sqz.run(x, n, { outputs: [layer] }); // warm-up
  let t0 = performance.now();
  let act!: Float32Array, shape!: number[];
  for (let r = 0; r < reps; r++) {
    const t = (await sqz.run(x, n, { outputs: [layer] })).get(sqz.resolve(layer))!;
    act = t.data;
    shape = t.shape;
  }
  const forward = (n * reps) / ((performance.now() - t0) / 1000);
  const [, K, H, W] = shape as [number, number, number, number];
  // per unit a threshold near its top 0.5 % over this batch
  const thr = new Float32Array(K);
  for (let k = 0; k < K; k++) {
    const v: number[] = [];
    for (let i = 0; i < n; i++) for (const a of act.subarray((i * K + k) * H * W, (i * K + k + 1) * H * W)) v.push(a);
    v.sort((a, b) => a - b);
    thr[k] = v[Math.floor(0.995 * (v.length - 1))]!;
  }
  const labels = new Uint32Array(n * P * MH * MW).map(() => (next() < 0.3 ? 0 : 1 + Math.floor(next() * C)));
  // the GPU tally, on the activations uploaded once
  const buf = engine.createBuffer(act.byteLength, 'bench-dissect:act');
  engine.device.queue.writeBuffer(buf, 0, act.buffer, act.byteOffset, act.byteLength);
  const tally = new ConceptTally(engine, { units: K, concepts: C, maskH: MH, maskW: MW, maxBatch: n, maxPlanes: P });
  let gpu: Awaited<ReturnType<ConceptTally['totals']>>;
  let tallyRate: number;
  try {
    tally.setThresholds(thr);
    const once = async () => {
      tally.setLabels(labels, n, P);
      await engine.run(tally.dispatches(buf, n, shape));
      await tally.afterRun(n);
    };
    await once(); // warm-up
    t0 = performance.now();
    for (let r = 0; r < reps; r++) await once();
    tallyRate = (n * reps) / ((performance.now() - t0) / 1000);
    const all = await tally.totals();
    // the totals hold reps + 1 identical batches
    gpu = { ...all, intersections: all.intersections.map((v) => v / (reps + 1)), unitArea: all.unitArea.map((v) => v / (reps + 1)), conceptArea: all.conceptArea.map((v) => v / (reps + 1)) };
  } finally {
    tally.destroy();
    engine.release(buf);
  }
  // the same tally on the CPU: per image and unit, upsample, threshold, count per label plane
  const cpuInter = new Float64Array(K * (C + 1)), cpuArea = new Float64Array(K), cpuConcept = new Float64Array(C + 1);
  t0 = performance.now();
  const hw = MH * MW;
  for (let i = 0; i < n; i++) {
    // a concept on several planes of one pixel counts once there (as the GPU tally counts it)
    const once = (q: number, p: number, c: number) => {
      for (let r = 0; r < p; r++) if (labels[(i * P + r) * hw + q] === c) return false;
      return true;
    };
    for (let q = 0; q < hw; q++)
      for (let p = 0; p < P; p++) {
        const c = labels[(i * P + p) * hw + q]!;
        if (c && once(q, p, c)) cpuConcept[c]!++;
      }
    for (let k = 0; k < K; k++) {
      const up = upsampleMap(act.subarray((i * K + k) * H * W, (i * K + k + 1) * H * W), H, W, MH, MW);
      const t = thr[k]!, row = k * (C + 1);
      for (let q = 0; q < hw; q++) {
        if (!(up[q]! > t)) continue;
        cpuArea[k]!++;
        for (let p = 0; p < P; p++) {
          const c = labels[(i * P + p) * hw + q]!;
          if (c && once(q, p, c)) cpuInter[row + c]!++;
        }
      }
    }
  }
  const cpuRate = n / ((performance.now() - t0) / 1000);
  const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.prototype.every.call(a, (v: number, i: number) => v === b[i]);
  const countsAgree = same(gpu.unitArea, cpuArea) && same(gpu.intersections.map((v, i) => (i % (C + 1) === 0 ? 0 : v)), cpuInter.map((v, i) => (i % (C + 1) === 0 ? 0 : v))) && same(gpu.conceptArea.subarray(1), cpuConcept.subarray(1));
  const tallySeconds = BRODEN_IMAGES / forward + BRODEN_IMAGES / tallyRate;
  const allSeconds = tallySeconds + (3 * BRODEN_IMAGES) / forward;
  log(`\ndissection of SqueezeNet v1.0's ${layer} (${K} units at ${H}×${W}), masks ${MH}×${MW}, ${C} concepts, ${P} label planes, batch ${n}`);
  log(`  forward to the layer ${forward.toFixed(1)} images/s; GPU tally ${tallyRate.toFixed(1)} images/s; CPU tally (TypeScript, same activations) ${cpuRate.toFixed(2)} images/s: GPU÷CPU ${(tallyRate / cpuRate).toFixed(1)}; counts ${countsAgree ? 'equal' : 'DIFFER'}`);
  log(`  Broden's ${BRODEN_IMAGES.toLocaleString('en')} images at these rates: tally pass ${fmt(tallySeconds)} (one forward + the tally), with the three quantile sweeps ${fmt(allSeconds)}`);
  return { layer, units: K, map: [H, W], mask: [MH, MW], concepts: C, planes: P, batch: n, forwardImagesPerSecond: forward, tallyImagesPerSecond: tallyRate, cpuTallyImagesPerSecond: cpuRate, gpuOverCpu: tallyRate / cpuRate, countsAgree, brodenTallySeconds: tallySeconds, brodenSeconds: allSeconds };
}
