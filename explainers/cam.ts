// The CAM family's per-layer formulas (METHODS.md §4, issue 14): one image's map at one layer as a
// function of its activations A (C×h×w) and, for the gradient CAMs, the gradient g = ∂f_c/∂A of
// the class logit. Pure CPU arithmetic on what a recording keeps; explainers/gradients.ts records
// A and g, applies ReLU, upsamples and normalises. The formulas follow pytorch-grad-cam
// (jacobgil/pytorch-grad-cam, pytorch_grad_cam/*.py), the implementation people compare against:
//   gradcam    w_k = mean_ij g                                              (grad_cam.py)
//   gradcampp  α = g² / (2g² + (Σ_ij A)·g³ + 1e-6), α = 0 where g = 0,
//              w_k = Σ_ij α·ReLU(g)          (grad_cam_plusplus.py: its eps and where ReLU goes)
//   xgradcam   w_k = Σ_ij A·g / (Σ_ij A + 1e-7)                            (xgrad_cam.py: its eps)
//   hirescam   Σ_k g ⊙ A, element-wise                                      (hirescam.py)
//   layercam   Σ_k ReLU(g) ⊙ A, element-wise                                (layer_cam.py)
//   eigencam   the activations' projection on their first principal component (eigen_cam.py,
//              utils/svd_on_activations.py: positions × channels, centred over positions)
// and the caller takes ReLU of the map, as BaseCAM does for all of them. No Node modules.
import { ArgumentError } from '../engine/errors.ts';

/** The CAMs computed from activations and class gradients (a recording and one reverse pass). */
export type GradientCam = 'gradcam' | 'gradcampp' | 'xgradcam' | 'hirescam' | 'layercam';
/** Every CAM variant: the gradient ones and EigenCAM (activations only, no class). */
export type CamVariant = GradientCam | 'eigencam';

/** The name each variant goes by in messages and captions. */
export const CAM_TITLES: Record<CamVariant, string> = {
  gradcam: 'Grad-CAM', gradcampp: 'Grad-CAM++', xgradcam: 'XGrad-CAM', hirescam: 'HiResCAM', layercam: 'LayerCAM', eigencam: 'EigenCAM',
};

/** Each variant's map at one layer, as a formula (for `stored` in the metadata and for help). */
export const CAM_FORMULAS: Record<CamVariant, string> = {
  gradcam: 'ReLU(Σ_k w_k A_k), w_k = mean_ij g',
  gradcampp: 'ReLU(Σ_k w_k A_k), w_k = Σ_ij α ReLU(g), α = g² / (2g² + Σ_ij A · g³ + 1e-6) (0 where g = 0)',
  xgradcam: 'ReLU(Σ_k w_k A_k), w_k = Σ_ij A g / (Σ_ij A + 1e-7)',
  hirescam: 'ReLU(Σ_k g_k ⊙ A_k)',
  layercam: 'ReLU(Σ_k ReLU(g_k) ⊙ A_k)',
  eigencam: "ReLU of the activations' (positions × channels, centred over positions) projection on their first principal component, signed to correlate positively with the centred channel sum",
};

/**
 * How a gradient CAM combines A and g: either one weight per channel (the map is Σ_k w_k A_k) or a
 * term per element (the map is Σ_k f(A_k, g_k), position by position). `base` is the channel's
 * offset in A and g, `hw` its size.
 */
type CamRule =
  | { channel: (A: Float32Array, g: Float32Array, base: number, hw: number) => number }
  | { element: (a: number, g: number) => number };

const CAM_RULES: Record<GradientCam, CamRule> = {
  // Grad-CAM: the mean gradient. (Sum, then divide: the order Grad-CAM has always used.)
  gradcam: {
    channel(_A, g, base, hw) {
      let alpha = 0;
      for (let q = 0; q < hw; q++) alpha += g[base + q]!;
      alpha /= hw;
      return alpha;
    },
  },
  // Grad-CAM++ as pytorch-grad-cam writes Eq. 19 of Chattopadhyay et al. for the logit (not exp(S)):
  // the channel's activation sum multiplies g³, eps 1e-6 sits in the denominator, and α is zeroed
  // explicitly where g = 0 (np.where(grads != 0, aij, 0)), so a zero gradient never divides.
  gradcampp: {
    channel(A, g, base, hw) {
      let sumA = 0;
      for (let q = 0; q < hw; q++) sumA += A[base + q]!;
      let w = 0;
      for (let q = 0; q < hw; q++) {
        const d = g[base + q]!;
        if (d <= 0) continue; // α · ReLU(g) is 0 where g ≤ 0 (and α is 0 where g = 0)
        const d2 = d * d;
        w += (d2 / (2 * d2 + sumA * d2 * d + 1e-6)) * d;
      }
      return w;
    },
  },
  // XGrad-CAM (Fu et al.): the activation-weighted gradient over the channel's activation sum; eps 1e-7 as pytorch-grad-cam.
  xgradcam: {
    channel(A, g, base, hw) {
      let sumA = 0, sumAg = 0;
      for (let q = 0; q < hw; q++) {
        sumA += A[base + q]!;
        sumAg += A[base + q]! * g[base + q]!;
      }
      return sumAg / (sumA + 1e-7);
    },
  },
  // HiResCAM (Draelos & Carin): gradient times activation element by element, no averaging.
  hirescam: { element: (a, g) => g * a },
  // LayerCAM (Jiang et al.): only positive gradients weigh, element by element (works at low layers).
  layercam: { element: (a, g) => (g > 0 ? g * a : 0) },
};

/**
 * One image's CAM at one layer before ReLU and upsampling: `A` and `g` hold the batch (N×C×hw),
 * image `i`'s channels start at `i·ch·hw`. Accumulated in a Float32Array channel by channel (each
 * step computed in double), as Grad-CAM always did.
 */
export function gradientCamMap(variant: GradientCam, A: Float32Array, g: Float32Array, i: number, ch: number, hw: number): Float32Array {
  const rule = CAM_RULES[variant];
  if (!rule) throw new ArgumentError(`unknown CAM variant "${variant}"; variants are ${Object.keys(CAM_RULES).join(', ')}`);
  const cam = new Float32Array(hw);
  for (let k = 0; k < ch; k++) {
    const base = (i * ch + k) * hw;
    if ('channel' in rule) {
      const w = rule.channel(A, g, base, hw);
      for (let q = 0; q < hw; q++) cam[q] += w * A[base + q]!;
    } else for (let q = 0; q < hw; q++) cam[q] += rule.element(A[base + q]!, g[base + q]!);
  }
  return cam;
}

/** Most power-iteration steps before EigenCAM takes the vector it has (the first component is then nearly degenerate). */
const POWER_STEPS = 20_000;

/**
 * EigenCAM of one image at one layer, before ReLU: with M the hw×C matrix of the activations
 * (`A` holds the batch, image `i` from `i·ch·hw`) centred over positions (each channel minus its
 * mean), M·v for v the first right singular vector of M, i.e. the projection of every position on
 * the first principal component, as pytorch-grad-cam's get_2d_projection. Computed in float64
 * through the smaller Gram matrix: MᵀM (C×C) gives v directly; M·Mᵀ (hw×hw) gives u with
 * M·v = √λ·u. Its top eigenvector comes from power iteration, started at the centred channel sum.
 *
 * The sign of a singular vector is arbitrary (pytorch-grad-cam keeps whatever the SVD returns);
 * here it is fixed so that the projection correlates positively with the centred channel sum
 * s_p = Σ_k M_pk (where the layer is most active overall comes out positive); when that
 * correlation is exactly 0, the projection's largest |value| (its first, in order) is made
 * positive. All-constant activations (M = 0) give zeros.
 */
export function eigenProjection(A: Float32Array, i: number, ch: number, hw: number): Float64Array {
  const M = new Float64Array(ch * hw); // channel-major: M[k·hw + p]
  for (let k = 0; k < ch; k++) {
    const base = (i * ch + k) * hw;
    let mean = 0;
    for (let p = 0; p < hw; p++) mean += A[base + p]!;
    mean /= hw;
    for (let p = 0; p < hw; p++) M[k * hw + p] = A[base + p]! - mean;
  }
  const s = new Float64Array(hw); // the centred channel sum
  for (let k = 0; k < ch; k++) for (let p = 0; p < hw; p++) s[p] += M[k * hw + p]!;
  const proj = new Float64Array(hw);
  if (hw <= ch) {
    // G = M·Mᵀ over positions; proj = √λ u
    const G = new Float64Array(hw * hw);
    for (let k = 0; k < ch; k++) {
      const row = k * hw;
      for (let p = 0; p < hw; p++) {
        const a = M[row + p]!;
        if (a === 0) continue;
        for (let q = p; q < hw; q++) G[p * hw + q] += a * M[row + q]!;
      }
    }
    mirror(G, hw);
    const { vector: u, value } = topEigen(G, hw, s);
    const root = Math.sqrt(Math.max(value, 0));
    for (let p = 0; p < hw; p++) proj[p] = root * u[p]!;
  } else {
    // G = Mᵀ·M over channels; proj = M·v
    const G = new Float64Array(ch * ch);
    for (let k = 0; k < ch; k++)
      for (let l = k; l < ch; l++) {
        let d = 0;
        for (let p = 0; p < hw; p++) d += M[k * hw + p]! * M[l * hw + p]!;
        G[k * ch + l] = d;
      }
    mirror(G, ch);
    const start = new Float64Array(ch); // Mᵀ·s: the start in channel space that maps to s's direction
    for (let k = 0; k < ch; k++) for (let p = 0; p < hw; p++) start[k] += M[k * hw + p]! * s[p]!;
    const { vector: v } = topEigen(G, ch, start);
    for (let k = 0; k < ch; k++) {
      const vk = v[k]!;
      if (vk !== 0) for (let p = 0; p < hw; p++) proj[p] += M[k * hw + p]! * vk;
    }
  }
  let corr = 0;
  for (let p = 0; p < hw; p++) corr += proj[p]! * s[p]!;
  let flip = corr < 0;
  if (corr === 0) {
    let big = 0;
    for (let p = 1; p < hw; p++) if (Math.abs(proj[p]!) > Math.abs(proj[big]!)) big = p;
    flip = proj[big]! < 0;
  }
  if (flip) for (let p = 0; p < hw; p++) proj[p] = -proj[p]!;
  return proj;
}

/** Copies the upper triangle of an n×n matrix onto the lower. */
function mirror(G: Float64Array, n: number): void {
  for (let p = 0; p < n; p++) for (let q = 0; q < p; q++) G[p * n + q] = G[q * n + p]!;
}

/**
 * The top eigenpair of a symmetric positive semi-definite n×n matrix by power iteration from
 * near `start`, until the unit vector moves less than
 * 1e-13 in a step or after POWER_STEPS steps. A zero matrix gives a zero vector and value 0.
 */
function topEigen(G: Float64Array, n: number, start: Float64Array): { vector: Float64Array; value: number } {
  // `start` plus a little of a fixed uneven vector, so that a start orthogonal to the top
  // eigenvector (or a zero one) still finds it.
  const x0 = norm(start);
  const uneven = Float64Array.from({ length: n }, (_, j) => 1 + j / n);
  const u0 = norm(uneven);
  let x = Float64Array.from(start, (v, j) => (x0 > 0 ? v / x0 : 0) + (0.01 * uneven[j]!) / u0);
  scale(x, 1 / norm(x));
  let y = new Float64Array(n);
  let value = 0;
  for (let step = 0; step < POWER_STEPS; step++) {
    y.fill(0);
    for (let p = 0; p < n; p++) {
      let d = 0;
      const row = p * n;
      for (let q = 0; q < n; q++) d += G[row + q]! * x[q]!;
      y[p] = d;
    }
    const len = norm(y);
    if (!(len > 0)) return { vector: new Float64Array(n), value: 0 };
    value = len; // ‖G x‖ → λ as x → the top eigenvector
    scale(y, 1 / len);
    let moved = 0;
    for (let p = 0; p < n; p++) moved = Math.max(moved, Math.abs(y[p]! - x[p]!));
    [x, y] = [y, x];
    if (moved < 1e-13) break;
  }
  return { vector: x, value };
}

function norm(x: Float64Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s);
}

function scale(x: Float64Array, f: number): void {
  for (let j = 0; j < x.length; j++) x[j] = x[j]! * f;
}
