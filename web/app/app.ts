// Loupe's browser app (after Strezoski & Worring's plug-and-play tool, with no server compute):
// open a model (ONNX, or a Caffe .prototxt + .caffemodel) and images, see the layer table, the
// graph and each image's top classes, explain with any method of the registry (its controls come
// from the method's option schema), and look at the results in one grid with synchronised zoom,
// pan and hover. The engine runs in a worker on navigator.gpu; files never leave the page.
import { explainers, explainer, type ExplainerEntry } from '../../explainers/registry.ts';
import { flagName, labelIndex, type OptionSpec } from '../../explainers/options.ts';
import type { ModelSummary } from '../../engine/summary.ts';
import { Grid, GRID_CSS } from './grid.ts';
import { GraphView, layerTable, GRAPH_CSS } from './graph-view.ts';
import { WorkerClient, Cancelled } from './client.ts';
import type { Explained, FileIn, ImageInfo, Opened, Prediction, PreprocessIn } from './protocol.ts';
import type { Tile } from '../../render/tiles.ts';

const $ = <T extends HTMLElement = HTMLElement>(sel: string) => document.querySelector(sel) as T;
const el = <K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> & Record<string, unknown> = {}, ...kids: (Node | string)[]) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k.startsWith('data-') || k === 'for' || k === 'role' || k === 'aria-label' || k === 'list') e.setAttribute(k, String(v));
    else (e as unknown as Record<string, unknown>)[k] = v;
  }
  e.append(...kids);
  return e;
};

interface ImageEntry extends ImageInfo {
  index: number;
  url: string;
  truth?: string;
  prediction?: Prediction;
}

const app = {
  client: undefined as WorkerClient | undefined,
  opened: undefined as Opened | undefined,
  labels: undefined as string[] | undefined,
  images: [] as ImageEntry[],
  selected: new Set<number>(),
  grid: undefined as Grid | undefined,
  graph: undefined as GraphView | undefined,
  run: 0,
  tiles: [] as Tile[],
  exports: [] as FileIn[],
  patchModel: undefined as FileIn | undefined,
  share: undefined as Share | undefined,
  /** milliseconds from page start to the first prediction shown, and of the last explanation */
  timings: {} as Record<string, number>,
};
(globalThis as unknown as { loupeApp: typeof app }).loupeApp = app; // for specs and the console

interface Share {
  method: string;
  options: Record<string, string | boolean>;
  images?: string[];
  preset?: string;
}

// ---- status and errors -------------------------------------------------------------------------

function status(text: string): void {
  $('#status').textContent = text;
}

function showError(message: string): void {
  const box = $('#error');
  box.textContent = message;
  box.hidden = false;
  status('');
}

function clearError(): void {
  $('#error').hidden = true;
}

let busy = 0;
/**
 * Runs an action from a control: any failure is shown as one message, never as an uncaught error.
 * `body[data-busy]` says whether actions are still running (specs and scripts wait on it).
 */
function action(fn: () => Promise<void>): () => void {
  return () => {
    clearError();
    document.body.dataset.busy = String(++busy > 0);
    fn()
      .catch((e) => {
        if (e instanceof Cancelled) status('cancelled');
        else showError(e instanceof Error ? e.message : String(e));
      })
      .finally(() => (document.body.dataset.busy = String(--busy > 0)));
  };
}

async function readFiles(list: FileList | File[]): Promise<{ file: File; bytes: Uint8Array }[]> {
  return Promise.all([...list].map(async (file) => ({ file, bytes: new Uint8Array(await file.arrayBuffer()) })));
}

function download(name: string, blob: Blob): HTMLAnchorElement {
  return el('a', { href: URL.createObjectURL(blob), download: name, textContent: name });
}

// ---- the model -----------------------------------------------------------------------------------

const MODEL_EXT = /\.(onnx|prototxt|pt|caffemodel)$/i;
const IMAGE_EXT = /\.(png|jpe?g)$/i;

async function openModel(files: { file: File; bytes: Uint8Array }[]): Promise<void> {
  status(`opening ${files.map((f) => f.file.name).join(' + ')}…`);
  const opened = await app.client!.call<Opened>({ type: 'open-model', files: files.map((f) => ({ name: f.file.name, bytes: f.bytes })) });
  app.opened = opened;
  const s = opened.summary;
  $('#model-name').textContent = `${opened.files.join(' + ')} (${opened.format}): input ${s.input.name} [N, ${s.input.shape.slice(1).join(', ')}], ${s.layers.length} layers, ${s.params.toLocaleString('en')} parameters, ${(s.flops / 1e9).toFixed(3)} GFLOPs per image`;
  $('#weights-missing').hidden = !opened.weightsMissing;
  const onSelect = (layer: string) => {
    app.graph?.select(layer);
    for (const r of document.querySelectorAll('#layers tr.selected')) r.classList.remove('selected');
    document.querySelector(`#layers tr[data-layer="${CSS.escape(layer)}"]`)?.classList.add('selected');
    const field = document.querySelector<HTMLSelectElement>('#options select[name="layer"]');
    if (field && [...field.options].some((o) => o.value === layer)) {
      if (field.multiple) for (const o of field.options) o.selected ||= o.value === layer;
      else field.value = layer;
    }
  };
  $('#layers').replaceChildren(layerTable(s, onSelect));
  app.graph?.destroy();
  app.graph = new GraphView($('#graph'), onSelect);
  app.graph.show(s);
  setPresets(opened);
  buildForm();
  await applyPreprocess();
  status(opened.weightsMissing ? 'architecture only: weights missing' : `model ready`);
  updateRunState();
  await predict();
}

// ---- preprocessing ---------------------------------------------------------------------------------

const PRESETS: Record<string, { title: string; pp: Omit<PreprocessIn, 'channels'> }> = {
  'caffe-imagenet': { title: 'Caffe ImageNet: BGR, minus mean (104, 117, 123)', pp: { mean: [104, 117, 123], bgr: true, scale: 1 } },
  'unit': { title: 'pixels / 255 (0..1)', pp: { scale: 1 / 255 } },
  'caffe-mnist': { title: 'pixels / 256 (Caffe LeNet)', pp: { scale: 1 / 256 } },
  raw: { title: 'raw pixels 0..255', pp: {} },
};

function setPresets(opened: Opened): void {
  const sel = $<HTMLSelectElement>('#pp-preset');
  const opts = [...(opened.preprocess ? [['model', 'from the model file']] : []), ...Object.entries(PRESETS).map(([k, v]) => [k, v.title]), ['custom', 'custom']];
  sel.replaceChildren(...opts.map(([v, t]) => el('option', { value: v!, textContent: t! })));
  const c = opened.summary.input.shape[1];
  sel.value = app.share?.preset ?? (opened.preprocess ? 'model' : opened.format === 'caffe' ? (c === 3 ? 'caffe-imagenet' : 'caffe-mnist') : 'raw');
  // A model that does not say how its pixels are prepared: the user should look at the guess.
  $<HTMLDetailsElement>('#pp-panel').open = !opened.preprocess;
  fillPreset();
}

function fillPreset(): void {
  const key = $<HTMLSelectElement>('#pp-preset').value;
  const pp = key === 'model' ? app.opened?.preprocess ?? {} : PRESETS[key]?.pp;
  if (pp) {
    $<HTMLInputElement>('#pp-mean').value = pp.mean?.join(',') ?? '';
    $<HTMLInputElement>('#pp-scale').value = pp.scale !== undefined ? String(pp.scale) : '1';
    $<HTMLInputElement>('#pp-bgr').checked = !!pp.bgr;
    $<HTMLInputElement>('#pp-grey').checked = !!pp.grayscale;
  }
  const [, , h, w] = app.opened?.summary.input.shape ?? [];
  $('#pp-size').textContent = h ? `${h}×${w}` : '';
}

function currentPreprocess(): PreprocessIn {
  const c = app.opened!.summary.input.shape[1]!;
  const meanText = $<HTMLInputElement>('#pp-mean').value.trim();
  const mean = meanText === '' ? undefined : meanText.split(',').map(Number);
  if (mean && (mean.some((v) => !Number.isFinite(v)) || (mean.length !== 1 && mean.length !== c))) throw new Error(`mean: give 1 or ${c} numbers, got "${meanText}"`);
  const scale = Number($<HTMLInputElement>('#pp-scale').value || '1');
  if (!Number.isFinite(scale)) throw new Error(`scale: not a number`);
  return { mean: mean?.length === 1 ? new Array(c).fill(mean[0]) : mean, scale, bgr: $<HTMLInputElement>('#pp-bgr').checked, grayscale: $<HTMLInputElement>('#pp-grey').checked || c === 1, channels: c };
}

async function applyPreprocess(): Promise<void> {
  if (!app.opened) return;
  await app.client!.call({ type: 'preprocess', preprocess: currentPreprocess() });
}

// ---- images -----------------------------------------------------------------------------------------

async function addImages(files: { file: File; bytes: Uint8Array }[]): Promise<void> {
  if (files.length === 0) return;
  status(`reading ${files.length} image${files.length > 1 ? 's' : ''}…`);
  const r = await app.client!.call<{ added: ImageInfo[]; errors: string[] }>({ type: 'add-images', files: files.map((f) => ({ name: f.file.name, bytes: f.bytes })) });
  for (const info of r.added) {
    const f = files.find((x) => x.file.name === info.name)!;
    const rel = (f.file as File & { webkitRelativePath?: string }).webkitRelativePath ?? '';
    const parts = rel.split('/');
    app.images.push({ ...info, index: app.images.length, url: URL.createObjectURL(new Blob([f.bytes as BlobPart])), truth: parts.length >= 3 ? parts[parts.length - 2] : undefined });
  }
  if (app.selected.size === 0 && app.images.length) app.selected.add(0);
  renderGallery();
  if (r.errors.length) showError(r.errors.join('\n'));
  updateRunState();
  await predict();
}

async function predict(): Promise<void> {
  if (!app.opened || app.opened.weightsMissing || app.images.length === 0) return;
  status('predicting…');
  const preds = await app.client!.call<Prediction[]>({ type: 'predict', top: 5 });
  preds.forEach((p, i) => (app.images[i]!.prediction = p));
  app.timings.firstPrediction ??= performance.now();
  renderGallery();
  status(`${app.images.length} image${app.images.length > 1 ? 's' : ''} classified`);
}

function truthIndex(truth: string): number | undefined {
  if (/^\d+$/.test(truth)) return Number(truth);
  const i = app.labels ? labelIndex(app.labels, truth.replace(/_/g, ' ')) : -1; // folder names write spaces as _
  return i >= 0 ? i : undefined;
}

function renderGallery(): void {
  const onlyWrong = $<HTMLInputElement>('#only-wrong').checked;
  const cards = app.images.map((im) => {
    const top = im.prediction?.top ?? [];
    const t = im.truth !== undefined ? truthIndex(im.truth) : undefined;
    const wrong = t !== undefined && top.length > 0 && top[0]!.index !== t;
    const card = el('div', { className: `thumb${app.selected.has(im.index) ? ' selected' : ''}${wrong ? ' wrong' : ''}`, 'data-index': im.index, title: 'click to select for explanation' },
      el('img', { src: im.url, alt: im.name }),
      el('div', { className: 'name', textContent: im.name }),
      ...(im.truth !== undefined ? [el('div', { className: 'truth', textContent: `true: ${im.truth}${wrong ? ' ✗' : ''}` })] : []),
      el('ol', { className: 'top' }, ...top.map((p) => el('li', { textContent: `${(p.prob * 100).toFixed(1)} % ${p.label.split(',')[0]}`, title: `${p.index}: ${p.label}` }))));
    card.hidden = onlyWrong && !wrong;
    card.onclick = (ev) => {
      if (!(ev as MouseEvent).shiftKey && !(ev as MouseEvent).ctrlKey && !(ev as MouseEvent).metaKey) app.selected.clear();
      if (app.selected.has(im.index)) app.selected.delete(im.index);
      else app.selected.add(im.index);
      renderGallery();
      updateRunState();
    };
    return card;
  });
  $('#gallery').replaceChildren(...cards);
  $('#gallery-count').textContent = app.images.length ? `${app.images.length} images, ${app.selected.size} selected (shift-click adds)` : '';
}

// ---- the explanation form, from the method's option schema ------------------------------------------

function field(s: OptionSpec, layers: string[]): HTMLElement {
  const id = `opt-${s.name}`;
  const def = s.default !== undefined && (typeof s.default !== 'object' || Array.isArray(s.default)) ? s.default : undefined;
  const hint = s.default !== undefined && typeof s.default === 'object' && !Array.isArray(s.default) ? (s.default as { text: string }).text : '';
  let input: HTMLElement;
  switch (s.type) {
    case 'flag':
      input = el('input', { type: 'checkbox', name: s.name, id, checked: def === true });
      break;
    case 'enum':
      // a default the method decides (SmoothGrad's options of its base) is an empty first choice, left out of the request
      input = el('select', { name: s.name, id }, ...(def === undefined && hint ? [el('option', { value: '', textContent: `(${hint})` })] : []), ...s.values.map((v) => el('option', { value: v, textContent: v, selected: v === def })));
      break;
    case 'layer':
    case 'layers': {
      const sel = el('select', { name: s.name, id, multiple: s.type === 'layers', size: s.type === 'layers' ? 6 : 0 },
        ...(s.type === 'layer' && !s.required ? [el('option', { value: '', textContent: hint ? `(${hint})` : '(none)' })] : []),
        ...layers.map((L) => el('option', { value: L, textContent: L })));
      if (s.type === 'layer' && s.required) sel.value = layers.at(-1) ?? '';
      input = sel;
      break;
    }
    case 'file': {
      if (s.keywords) {
        // a file or a word (IG's --baseline): the page offers the words
        input = el('select', { name: s.name, id }, ...(def === undefined && hint ? [el('option', { value: '', textContent: `(${hint})` })] : []), ...s.keywords.map((v) => el('option', { value: v, textContent: v, selected: v === def })));
        break;
      }
      const wrap = el('span', { className: 'file-option' });
      const f = el('input', { type: 'file', name: s.name, id });
      f.onchange = action(async () => {
        const [r] = await readFiles(f.files!);
        app.patchModel = r && { name: r.file.name, bytes: r.bytes };
        $('#patch-model-name').textContent = app.patchModel?.name ?? '';
      });
      const build = el('button', { type: 'button', id: 'build-patch-model', textContent: 'build from the selected images' });
      build.onclick = action(buildPatchModel);
      wrap.append(f, build, el('span', { id: 'patch-model-name', textContent: app.patchModel?.name ?? '' }));
      input = wrap;
      break;
    }
    case 'int':
    case 'number':
      input = el('input', { type: 'number', name: s.name, id, step: s.type === 'int' ? '1' : 'any', value: def !== undefined ? String(def) : '', placeholder: hint,
        ...(typeof s.min === 'number' ? { min: String(s.min) } : {}), ...(typeof s.max === 'number' ? { max: String(s.max) } : {}) });
      break;
    default:
      input = el('input', { type: 'text', name: s.name, id, value: def !== undefined ? String(def) : '', placeholder: hint || (s.type === 'classes' ? "each image's top class" : ''), ...(s.type === 'classes' ? { list: 'label-list' } as Record<string, unknown> : {}) });
  }
  return el('label', { className: `option option-${s.type}`, title: s.help, for: id }, el('span', { className: 'flag', textContent: `${flagName(s.name)}${s.required ? ' *' : ''}` }), input, el('small', { textContent: s.help }));
}

function buildForm(): void {
  const m = explainer($<HTMLSelectElement>('#method').value);
  const layers = app.opened?.summary.layers.map((l) => l.name) ?? [];
  $('#method-summary').textContent = `${m.title}: ${m.summary}${m.inputs === 'one' ? ' (one image)' : m.inputs === 'none' ? ' (no image)' : ''}`;
  $('#options').replaceChildren(...m.options.map((s) => field(s, layers)));
  const share = app.share;
  if (share && share.method === m.name) {
    for (const [k, v] of Object.entries(share.options)) {
      const f = document.querySelector<HTMLInputElement | HTMLSelectElement>(`#options [name="${k}"]`);
      if (!f) continue;
      if (f instanceof HTMLInputElement && f.type === 'checkbox') f.checked = v === true;
      else if (f instanceof HTMLSelectElement && f.multiple) for (const o of f.options) o.selected = String(v).split(',').includes(o.value);
      else f.value = String(v);
    }
  }
  updateRunState();
}

/** The form's values as the CLI would give them: strings (flags as booleans), unset fields left out. */
function formValues(m: ExplainerEntry): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (const s of m.options) {
    const f = document.querySelector<HTMLInputElement | HTMLSelectElement>(`#options [name="${s.name}"]`);
    if (!f || (s.type === 'file' && !s.keywords)) continue;
    if (f instanceof HTMLInputElement && f.type === 'checkbox') {
      if (f.checked) out[s.name] = true;
    } else if (f instanceof HTMLSelectElement && f.multiple) {
      const v = [...f.selectedOptions].map((o) => o.value).join(',');
      if (v) out[s.name] = v;
    } else if (f.value.trim() !== '') out[s.name] = f.value.trim();
  }
  return out;
}

function updateRunState(): void {
  const m = explainer($<HTMLSelectElement>('#method').value);
  const ready = !!app.opened && !app.opened.weightsMissing && (m.inputs === 'none' || app.selected.size > 0);
  $<HTMLButtonElement>('#run').disabled = !ready || !!app.client?.busy;
  $<HTMLButtonElement>('#run').title = !app.opened ? 'open a model first' : app.opened.weightsMissing ? 'weights missing: choose the .caffemodel with the .prototxt' : ready ? '' : 'select an image in the gallery';
}

// ---- running a method ----------------------------------------------------------------------------------

function progressBar(label: string): { update: (done: number, total: number, what?: string) => void; done: () => void } {
  const bar = $<HTMLProgressElement>('#progress'), text = $('#progress-text');
  const t0 = performance.now();
  bar.hidden = false;
  bar.removeAttribute('value');
  text.textContent = `${label}…`;
  $('#progress-box').dataset.updates = '0';
  return {
    update(done, total, what) {
      const box = $('#progress-box');
      box.dataset.updates = String(Number(box.dataset.updates) + 1);
      box.dataset.last = String(performance.now());
      if (!(total > 0)) {
        text.textContent = `${what ?? label}…`;
        return;
      }
      bar.max = total;
      bar.value = done;
      const el = (performance.now() - t0) / 1000;
      const eta = done > 0 ? (el * (total - done)) / done : NaN;
      text.textContent = `${what ?? label}: ${done} / ${total}${Number.isFinite(eta) ? ` · ${eta < 1 ? '<1' : Math.round(eta)} s left` : ''}`;
    },
    done() {
      bar.hidden = true;
      text.textContent = '';
    },
  };
}

function showTiles(tiles: Tile[], keep: boolean): void {
  const prefixed = tiles.map((t) => ({ ...t, id: `${app.run}:${t.id}` }));
  app.tiles = keep ? [...app.tiles.filter((t) => !t.id.startsWith(`${app.run}:`)), ...prefixed] : prefixed;
  app.grid!.setTiles(app.tiles);
  $('#grid-empty').hidden = app.tiles.length > 0;
}

async function runMethod(): Promise<void> {
  const m = explainer($<HTMLSelectElement>('#method').value);
  const options: Record<string, unknown> = formValues(m);
  if (m.options.some((s) => s.type === 'file' && s.name === 'patchModel')) {
    if (!app.patchModel) throw new Error('pda: choose a patch model file (loupe patch-model), or build one from the selected images');
    options.patchModel = app.patchModel;
  }
  const images = m.inputs === 'none' ? [] : [...app.selected].sort((a, b) => a - b);
  if (m.inputs === 'one' && images.length !== 1) throw new Error(`${m.name} explains one image at a time: select exactly one in the gallery`);
  const keep = $<HTMLInputElement>('#keep').checked;
  app.run++;
  const bar = progressBar(m.title);
  $<HTMLButtonElement>('#cancel').disabled = false;
  $<HTMLButtonElement>('#run').disabled = true;
  let previewed = false;
  const t0 = performance.now();
  try {
    const r = await app.client!.call<Explained>({ type: 'explain', method: m.name, options, images }, {
      progress: bar.update,
      preview: (tiles) => {
        if (!previewed) showTiles(tiles, keep);
        else for (const t of tiles) app.grid!.updateTile(`${app.run}:${t.id}`, t.image, t.values);
        previewed = true;
        bar.update(Number($<HTMLProgressElement>('#progress').value), Number($<HTMLProgressElement>('#progress').max));
      },
    });
    app.timings.lastExplanation = performance.now() - t0;
    app.timings.lastWorker = r.ms;
    showTiles(r.tiles, keep);
    app.exports = [...r.npy, ...r.json];
    $('#downloads').replaceChildren(...app.exports.map((f) => download(f.name, new Blob([f.bytes as BlobPart], { type: f.name.endsWith('.json') ? 'application/json' : 'application/octet-stream' }))));
    const warnings = (r.note ?? '').split('\n').filter((l) => l.startsWith('loupe: warning: '));
    const note = (r.note ?? '').split('\n').filter((l) => l && !l.startsWith('loupe: warning: ')).join(' ');
    status(`${m.title}: ${(r.ms / 1000).toFixed(2)} s${note ? ` · ${note}` : ''}`);
    if (warnings.length) showError(warnings.map((l) => l.slice('loupe: '.length)).join('\n')); // an empty map is shown, and said to be empty
    app.share = { method: m.name, options: formValues(m), images: images.map((i) => app.images[i]!.name), preset: $<HTMLSelectElement>('#pp-preset').value };
    history.replaceState(null, '', `#${encodeShare(app.share)}`);
  } finally {
    bar.done();
    $<HTMLButtonElement>('#cancel').disabled = true;
    updateRunState();
  }
}

async function buildPatchModel(): Promise<void> {
  const images = [...app.selected];
  if (images.length === 0) throw new Error('select the images to learn patches from (shift-click several)');
  const window = Number(document.querySelector<HTMLInputElement>('#options [name="window"]')?.value || 10);
  const padding = Number(document.querySelector<HTMLInputElement>('#options [name="padding"]')?.value || 2);
  const bar = progressBar('patch model');
  try {
    app.patchModel = await app.client!.call<FileIn>({ type: 'build-patch-model', window, padding, patches: 25000, images }, { progress: bar.update });
    $('#patch-model-name').textContent = `${app.patchModel.name} (from ${images.length} images)`;
  } finally {
    bar.done();
  }
}

// ---- share links: method, layer, class and parameters (never model or image bytes) ---------------------

function encodeShare(s: Share): string {
  return `s=${btoa(unescape(encodeURIComponent(JSON.stringify(s)))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`;
}

function decodeShare(hash: string): Share | undefined {
  const m = /^#s=([A-Za-z0-9_-]+)$/.exec(hash);
  if (!m) return undefined;
  try {
    const s = JSON.parse(decodeURIComponent(escape(atob(m[1]!.replace(/-/g, '+').replace(/_/g, '/'))))) as Share;
    return typeof s.method === 'string' && explainers.some((e) => e.name === s.method) ? s : undefined;
  } catch {
    return undefined;
  }
}

// ---- start ---------------------------------------------------------------------------------------------------

function noWebGpu(why: string): void {
  $('#app').hidden = true;
  const box = $('#no-webgpu');
  box.hidden = false;
  $('#no-webgpu-why').textContent = why;
}

async function start(): Promise<void> {
  const style = el('style', { textContent: GRID_CSS + GRAPH_CSS });
  document.head.append(style);
  if (!('gpu' in navigator) || !navigator.gpu) {
    noWebGpu('This browser does not offer WebGPU (navigator.gpu is missing).');
    return;
  }
  app.share = decodeShare(location.hash);
  app.grid = new Grid($('#grid'), { tileSize: 227 });
  const method = $<HTMLSelectElement>('#method');
  method.replaceChildren(...explainers.map((e) => el('option', { value: e.name, textContent: e.title })));
  if (app.share) method.value = app.share.method;
  method.onchange = () => buildForm();
  $('#options').addEventListener('submit', (e) => e.preventDefault());
  buildForm();

  app.client = new WorkerClient(new URL('./worker.js', import.meta.url).href);
  app.client.onFatal = showError;
  try {
    const { adapter } = await app.client.call<{ adapter: string }>({ type: 'init' });
    $('#adapter').textContent = `GPU: ${adapter}`;
  } catch (e) {
    noWebGpu(e instanceof Error ? e.message : String(e));
    return;
  }

  $<HTMLInputElement>('#model-input').onchange = action(async () => openModel(await readFiles($<HTMLInputElement>('#model-input').files!)));
  $<HTMLInputElement>('#images-input').onchange = action(async () => addImages(await readFiles($<HTMLInputElement>('#images-input').files!)));
  $<HTMLInputElement>('#folder-input').onchange = action(async () => addImages((await readFiles($<HTMLInputElement>('#folder-input').files!)).filter((f) => IMAGE_EXT.test(f.file.name))));
  $<HTMLInputElement>('#labels-input').onchange = action(async () => {
    const [f] = await readFiles($<HTMLInputElement>('#labels-input').files!);
    app.labels = await app.client!.call<string[]>({ type: 'labels', file: f ? { name: f.file.name, bytes: f.bytes } : null });
    $('#label-list').replaceChildren(...(app.labels ?? []).map((l) => el('option', { value: l.split(',')[0]! })));
    await predict();
  });
  $<HTMLButtonElement>('#clear-images').onclick = action(async () => {
    await app.client!.call({ type: 'clear-images' });
    app.images = [];
    app.selected.clear();
    renderGallery();
    updateRunState();
  });
  $<HTMLInputElement>('#only-wrong').onchange = () => renderGallery();
  $<HTMLSelectElement>('#pp-preset').onchange = action(async () => {
    fillPreset();
    await applyPreprocess();
    await predict();
  });
  for (const id of ['#pp-mean', '#pp-scale', '#pp-bgr', '#pp-grey'])
    $(id).onchange = action(async () => {
      $<HTMLSelectElement>('#pp-preset').value = 'custom';
      await applyPreprocess();
      await predict();
    });
  $<HTMLButtonElement>('#run').onclick = action(runMethod);
  $<HTMLButtonElement>('#cancel').onclick = action(async () => {
    const t0 = performance.now();
    await app.client!.cancel();
    status(`cancelled (stopped in ${Math.round(performance.now() - t0)} ms)`);
  });
  $<HTMLInputElement>('#sync').onchange = () => (app.grid!.sync = $<HTMLInputElement>('#sync').checked);
  $<HTMLButtonElement>('#export-png').onclick = action(async () => {
    if (!app.tiles.length) throw new Error('nothing to export yet: run a method');
    const blob = await new Promise<Blob | null>((r) => app.grid!.toCanvas().toBlob(r, 'image/png'));
    if (!blob) throw new Error('the grid could not be encoded as PNG');
    const a = download('loupe-grid.png', blob);
    $('#downloads').prepend(a);
    a.click();
  });
  $<HTMLButtonElement>('#share').onclick = () => {
    const input = $<HTMLInputElement>('#share-link');
    input.value = location.href;
    input.hidden = false;
    input.select();
  };
  $<HTMLButtonElement>('#fullscreen').onclick = () => document.body.classList.toggle('grid-only');

  // Drag and drop anywhere: models (both Caffe files at once), images and label files.
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    action(async () => {
      const files = await readFiles([...(e.dataTransfer?.files ?? [])]);
      const models = files.filter((f) => MODEL_EXT.test(f.file.name));
      if (models.length) await openModel(models);
      await addImages(files.filter((f) => IMAGE_EXT.test(f.file.name) || !MODEL_EXT.test(f.file.name) && !/\.txt$/i.test(f.file.name)));
    })();
  });
  status('open a model (.onnx, or a Caffe .prototxt with its .caffemodel) and images');
  document.body.dataset.ready = 'true';
}

window.addEventListener('unhandledrejection', (e) => {
  e.preventDefault();
  showError(e.reason instanceof Error ? e.reason.message : String(e.reason));
});
start().catch((e) => showError(e instanceof Error ? e.message : String(e)));
