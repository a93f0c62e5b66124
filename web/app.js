// The pose editor's page. Plain modules, no framework: a skeleton editor (SVG), one generation scheduler per shown
// model, SPT's parsing panel (its predicted map, repainted with a brush, and garment swaps) and the animation form.
// Poses are 18 [x, y] pairs in the source photo's pixels, -1 for a missing joint; parsing maps one label 0..9 per pixel
// of the source photo.

const JOINT_NAMES = [
  'nose', 'neck', 'right shoulder', 'right elbow', 'right wrist', 'left shoulder', 'left elbow', 'left wrist',
  'right hip', 'right knee', 'right ankle', 'left hip', 'left knee', 'left ankle',
  'right eye', 'left eye', 'right ear', 'left ear',
];
const LIMBS = [
  [1, 2], [1, 5], [2, 3], [3, 4], [5, 6], [6, 7], [1, 8], [8, 9], [9, 10], [1, 11], [11, 12], [12, 13],
  [1, 0], [0, 14], [14, 16], [0, 15], [15, 17], [2, 16], [5, 17],
];
const MIRROR = [0, 1, 5, 6, 7, 2, 3, 4, 11, 12, 13, 8, 9, 10, 15, 14, 17, 16];
const COLORS = [
  [255, 0, 0], [255, 85, 0], [255, 170, 0], [255, 255, 0], [170, 255, 0], [85, 255, 0], [0, 255, 0],
  [0, 255, 85], [0, 255, 170], [0, 255, 255], [0, 170, 255], [0, 85, 255], [0, 0, 255], [85, 0, 255],
  [170, 0, 255], [255, 0, 255], [255, 0, 170], [255, 0, 85],
];
const SVG_NS = 'http://www.w3.org/2000/svg';
const UNDO_DEPTH = 200;
// A model slower than this updates at the end of a drag only: live updates would each cost more than they show, and
// the one still running when the drag ends would delay the final image by up to a whole generation.
const LIVE_UPDATE_MS = 400;

const $ = (id) => document.getElementById(id);
const rgb = (c) => `rgb(${c[0]},${c[1]},${c[2]})`;
const visible = (p) => p[0] >= 0 && p[1] >= 0;
const clonePose = (pose) => pose.map((p) => [p[0], p[1]]);

/** What the page has done, for people and for the browser test: requests sent, images shown, latencies. */
const stats = {
  issued: {}, generateRequests: 0, inFlight: 0, maxInFlight: 0, shown: 0, superseded: 0, lastLatencyMs: null, latencies: [],
  parsingShown: 0, rendered: 0, swapped: 0,
};
window.reposerStats = stats;

// --- errors -------------------------------------------------------------------------------------------------------

function showError(message) {
  $('error-text').textContent = message;
  $('error').hidden = false;
}
function clearError() {
  $('error').hidden = true;
}
$('error-close').addEventListener('click', clearError);

/** The server's reason for a failed response: its JSON `error`, else the status line. */
async function failure(res) {
  try {
    const body = await res.json();
    if (body && typeof body.error === 'string') return body.error;
  } catch {
    // Not JSON: fall through to the status line.
  }
  return `${res.status} ${res.statusText}`;
}

async function getJson(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(await failure(res));
  return res.json();
}

// --- the skeleton editor ------------------------------------------------------------------------------------------

/**
 * An SVG skeleton over a frame of (width, height) pixels. Joints drag with any pointer and move with the arrow keys
 * when focused; every finished change is one undo step. `onChange(pose, final)` runs on every move (final: false) and
 * at the end of a gesture or key press (final: true).
 */
class SkeletonEditor {
  constructor(svg, name, onChange) {
    this.svg = svg;
    this.name = name;
    this.onChange = onChange;
    this.pose = null;
    this.width = 1;
    this.height = 1;
    this.history = [];
    this.selected = 4;
    this.dragging = null;
    svg.addEventListener('pointermove', (e) => this.drag(e));
    svg.addEventListener('pointerup', (e) => this.endDrag(e));
    svg.addEventListener('pointercancel', (e) => this.endDrag(e));
  }

  setFrame(width, height) {
    this.width = width;
    this.height = height;
    this.svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  }

  /** Replaces the pose; `record` makes it an undo step. */
  setPose(pose, record = true) {
    if (record && this.pose) this.remember();
    this.pose = clonePose(pose);
    this.render();
  }

  remember() {
    this.history.push(clonePose(this.pose));
    if (this.history.length > UNDO_DEPTH) this.history.shift();
  }

  undo() {
    const previous = this.history.pop();
    if (!previous) return false;
    this.pose = previous;
    this.render();
    this.onChange(this.pose, true);
    return true;
  }

  render() {
    const s = Math.max(this.width, this.height);
    const limbWidth = Math.max(1.5, s / 90);
    const radius = Math.max(2.5, s / 55);
    const focused = document.activeElement?.dataset?.joint;
    this.svg.replaceChildren();
    LIMBS.forEach(([a, b], i) => {
      const p = this.pose[a];
      const q = this.pose[b];
      if (!visible(p) || !visible(q)) return;
      const line = document.createElementNS(SVG_NS, 'line');
      line.setAttribute('x1', p[0] + 0.5);
      line.setAttribute('y1', p[1] + 0.5);
      line.setAttribute('x2', q[0] + 0.5);
      line.setAttribute('y2', q[1] + 0.5);
      line.setAttribute('stroke', rgb(COLORS[Math.min(i, COLORS.length - 1)]));
      line.setAttribute('stroke-width', limbWidth);
      line.setAttribute('stroke-linecap', 'round');
      line.setAttribute('stroke-opacity', '0.7');
      this.svg.append(line);
    });
    this.pose.forEach((p, j) => {
      if (!visible(p)) return;
      const c = document.createElementNS(SVG_NS, 'circle');
      c.setAttribute('cx', p[0] + 0.5);
      c.setAttribute('cy', p[1] + 0.5);
      c.setAttribute('r', radius);
      c.setAttribute('fill', rgb(COLORS[j]));
      c.setAttribute('stroke-width', radius / 3);
      c.setAttribute('class', j === this.selected ? 'joint selected' : 'joint');
      c.setAttribute('tabindex', '0');
      c.setAttribute('role', 'button');
      c.setAttribute('aria-label', `${this.name} ${JOINT_NAMES[j]}, x ${Math.round(p[0])}, y ${Math.round(p[1])}; arrow keys move it`);
      c.dataset.joint = String(j);
      c.addEventListener('pointerdown', (e) => this.startDrag(e, j));
      c.addEventListener('keydown', (e) => this.key(e, j));
      c.addEventListener('focus', () => { this.selected = j; });
      this.svg.append(c);
    });
    if (focused !== undefined) this.svg.querySelector(`[data-joint="${focused}"]`)?.focus();
  }

  /** The pointer's position in frame pixels. */
  toFrame(e) {
    const m = this.svg.getScreenCTM().inverse();
    const pt = new DOMPoint(e.clientX, e.clientY).matrixTransform(m);
    const clamp = (v, hi) => Math.min(hi - 1, Math.max(0, v - 0.5));
    return [clamp(pt.x, this.width), clamp(pt.y, this.height)];
  }

  startDrag(e, j) {
    e.preventDefault();
    this.remember();
    this.selected = j;
    this.dragging = { joint: j, pointer: e.pointerId };
    this.svg.setPointerCapture(e.pointerId);
  }

  drag(e) {
    if (!this.dragging || e.pointerId !== this.dragging.pointer) return;
    this.pose[this.dragging.joint] = this.toFrame(e);
    this.render();
    this.onChange(this.pose, false);
  }

  endDrag(e) {
    if (!this.dragging || e.pointerId !== this.dragging.pointer) return;
    this.dragging = null;
    this.onChange(this.pose, true);
  }

  key(e, j) {
    const step = e.shiftKey ? 10 : 1;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    const d = moves[e.key];
    if (!d) return;
    e.preventDefault();
    this.remember();
    const [x, y] = this.pose[j];
    this.pose[j] = [Math.min(this.width - 1, Math.max(0, x + d[0])), Math.min(this.height - 1, Math.max(0, y + d[1]))];
    this.render();
    this.onChange(this.pose, true);
  }
}

// --- generation: one scheduler per shown model --------------------------------------------------------------------

const clientId = crypto.randomUUID ? crypto.randomUUID() : `c${Math.random().toString(36).slice(2)}`;

/**
 * Keeps at most one request in flight and one waiting (the newest pose), so dragging sends one request per
 * generation the server can finish, not one per mouse move. A result older than the one shown is dropped.
 */
class Scheduler {
  constructor(slot, img, caption) {
    this.slot = slot;
    this.img = img;
    this.caption = caption;
    this.model = null;
    this.lastMs = 0;
    this.waiting = null;
    this.inFlight = false;
    this.issued = 0;
    this.shownSeq = 0;
    this.dragEnd = null;
    this.retryTimer = null;
  }

  /** Asks for the image of `job` ({ source, sourcePose, targetPose }); `final` false marks a move in mid-drag. */
  request(job, final) {
    if (!this.model) return;
    if (!final && this.lastMs > LIVE_UPDATE_MS) return;
    const seq = ++this.issued;
    stats.issued[this.slot] = seq;
    this.waiting = { ...job, model: this.model, seq };
    if (final) this.dragEnd = { seq, at: performance.now() };
    if (!this.inFlight && !this.retryTimer) void this.send();
  }

  async send() {
    const job = this.waiting;
    if (!job) return;
    this.waiting = null;
    this.inFlight = true;
    stats.generateRequests++;
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    try {
      const res = await fetch('/api/generate', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          source: job.source, model: job.model, sourcePose: job.sourcePose, targetPose: job.targetPose, client: clientId, slot: this.slot,
        }),
      });
      if (res.status === 204) {
        stats.superseded++;
      } else if (res.status === 503) {
        const wait = Number(res.headers.get('Retry-After') ?? 1);
        showError(`${await failure(res)} (retrying automatically)`);
        this.waiting ??= job;
        this.retryTimer = setTimeout(() => { this.retryTimer = null; void this.send(); }, wait * 1000);
      } else if (!res.ok) {
        showError(await failure(res));
      } else {
        const blob = await res.blob();
        this.lastMs = Number(res.headers.get('X-Generation-Ms'));
        if (job.seq > this.shownSeq) await this.show(job, blob, this.lastMs);
      }
    } catch (err) {
      showError(`the server did not answer: ${err.message}`);
    } finally {
      stats.inFlight--;
      this.inFlight = false;
      if (this.waiting && !this.retryTimer) void this.send();
    }
  }

  async show(job, blob, serverMs) {
    const url = URL.createObjectURL(blob);
    const next = new Image();
    next.src = url;
    await next.decode();
    if (job.seq <= this.shownSeq) {
      URL.revokeObjectURL(url);
      return;
    }
    const old = this.img.src;
    this.img.src = url;
    if (old.startsWith('blob:')) URL.revokeObjectURL(old);
    this.shownSeq = job.seq;
    stats.shown++;
    clearError();
    let text = `${job.model}: ${serverMs} ms on the server`;
    if (this.dragEnd && job.seq >= this.dragEnd.seq) {
      const latency = Math.round(performance.now() - this.dragEnd.at);
      stats.lastLatencyMs = latency;
      stats.latencies.push({ model: job.model, ms: latency });
      text += `, ${latency} ms after the last change`;
      this.dragEnd = null;
    }
    this.caption.textContent = text;
    this.img.dataset.seq = String(job.seq);
  }
}

// --- the page -----------------------------------------------------------------------------------------------------

const state = { source: null, library: null, keyframes: [], models: [], examples: [] };
const schedulers = [new Scheduler('a', $('result-a'), $('caption-a')), new Scheduler('b', $('result-b'), $('caption-b'))];

function regenerate(final) {
  if (!state.source) return;
  const job = { source: state.source.id, sourcePose: sourceEditor.pose, targetPose: targetEditor.pose };
  for (const s of schedulers) s.request(job, final);
  if (final) void parsingPanel.refresh();
}

const sourceEditor = new SkeletonEditor($('source-skeleton'), 'source', (_pose, final) => { if (final) regenerate(true); });
const targetEditor = new SkeletonEditor($('target-skeleton'), 'target', (_pose, final) => regenerate(final));

/** Sizes a stage to the photo's aspect ratio, as large as fits the column and 60% of the viewport height. */
function sizeStage(stage, width, height) {
  stage.style.aspectRatio = `${width} / ${height}`;
  stage.style.width = `min(100%, calc(60vh * ${width / height}))`;
}

async function useSource(source) {
  state.source = source;
  const img = $('source-img');
  img.src = `/api/sources/${source.id}/image`;
  img.classList.toggle('small', source.height < 256);
  for (const id of ['source-stage', 'target-stage']) sizeStage($(id), source.width, source.height);
  for (const im of [$('result-a'), $('result-b')]) {
    sizeStage(im.parentElement, source.width, source.height);
    im.classList.toggle('small', source.height < 256);
  }
  sourceEditor.setFrame(source.width, source.height);
  targetEditor.setFrame(source.width, source.height);
  sourceEditor.history = [];
  targetEditor.history = [];
  const pose = source.pose ?? source.defaultPose;
  sourceEditor.setPose(pose, false);
  targetEditor.setPose(pose, false);
  $('source-note').textContent = source.pose
    ? `${source.name}: pose from ${source.poseFrom === 'detector' ? 'the pose detector' : source.poseFrom === 'annotation' ? "the dataset's annotation" : 'the example'}.`
    : `${source.name}: no pose was found. Drag the skeleton on the photo onto the person, then pose the target.`;
  state.library = await getJson(`/api/poses?source=${encodeURIComponent(source.id)}`);
  fillLibrary();
  parsingPanel.useSource(source);
  regenerate(true);
}

function fillLibrary() {
  const select = $('library');
  select.replaceChildren(new Option('choose a pose…', ''));
  const group = (label, items, prefix) => {
    if (items.length === 0) return;
    const g = document.createElement('optgroup');
    g.label = label;
    items.forEach((item, i) => g.append(new Option(item.name, `${prefix}:${i}`)));
    select.append(g);
  };
  group('Named poses', state.library.named, 'named');
  group("The dataset's test poses", state.library.dataset, 'dataset');
}

$('library').addEventListener('change', (e) => {
  const [kind, i] = e.target.value.split(':');
  const item = kind ? state.library[kind][Number(i)] : null;
  if (!item) return;
  targetEditor.setPose(item.pose);
  regenerate(true);
  e.target.value = '';
});

$('mirror').addEventListener('click', () => {
  const w = state.source.width;
  const mirrored = targetEditor.pose.map(() => [-1, -1]);
  targetEditor.pose.forEach((p, j) => { if (visible(p)) mirrored[MIRROR[j]] = [w - 1 - p[0], p[1]]; });
  targetEditor.setPose(mirrored);
  regenerate(true);
});

$('reset').addEventListener('click', () => {
  targetEditor.setPose(sourceEditor.pose);
  regenerate(true);
});

const undo = () => { if (!targetEditor.undo()) sourceEditor.undo(); };
$('undo').addEventListener('click', undo);
document.addEventListener('keydown', (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'z' && !(e.target instanceof HTMLInputElement)) {
    e.preventDefault();
    // On the parsing map, Ctrl+Z undoes a stroke, not a pose.
    if (e.target === $('parsing-canvas')) parsingPanel.undo();
    else undo();
  }
});

$('upload').addEventListener('change', async (e) => {
  const file = e.target.files[0];
  if (!file) return;
  const form = new FormData();
  form.append('image', file, file.name);
  try {
    const res = await fetch('/api/sources', { method: 'POST', body: form });
    if (!res.ok) throw new Error(await failure(res));
    clearError();
    await useSource(await res.json());
  } catch (err) {
    showError(`the upload was refused: ${err.message}`);
  } finally {
    e.target.value = '';
  }
});

$('examples').addEventListener('change', async (e) => {
  const example = state.examples.find((x) => x.id === e.target.value);
  if (example) await useSource(example).catch((err) => showError(err.message));
});

function chooseModels() {
  const a = $('model-a').value;
  const b = $('model-b').value || null;
  // Another model, another speed: it updates live until its first image says otherwise.
  if (schedulers[0].model !== a) schedulers[0].lastMs = 0;
  if (schedulers[1].model !== b) schedulers[1].lastMs = 0;
  schedulers[0].model = a;
  schedulers[1].model = b;
  $('figure-b').hidden = !b;
  parsingPanel.update();
  regenerate(true);
}
$('model-a').addEventListener('change', chooseModels);
$('model-b').addEventListener('change', chooseModels);

// --- SPT: the parsing map, repainting it, garment swaps -----------------------------------------------------------

const toBase64 = (bytes) => {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
};
const fromBase64 = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const hexRgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

/** POSTs JSON; the response, or null when the server replaced it with a newer request of this client (204). */
async function postJson(url, body) {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ...body, client: clientId }) });
  if (res.status === 204) return null;
  if (!res.ok) throw new Error(await failure(res));
  return res;
}

/** Shows an image blob in `img`, freeing the one it replaces. */
function showBlob(img, blob) {
  const old = img.src;
  img.src = URL.createObjectURL(blob);
  if (old.startsWith('blob:')) URL.revokeObjectURL(old);
}

/**
 * The SPT panel, shown while a model that renders through parsing maps is chosen: the target parsing it predicts for
 * the target pose, painted on in place (labels, not colours, are edited: the colours are drawn from them), rendered
 * on request, and garment swaps from another example onto the source.
 */
class ParsingPanel {
  constructor() {
    this.canvas = $('parsing-canvas');
    this.ctx = this.canvas.getContext('2d');
    this.model = null;
    this.source = null;
    this.legend = null;
    this.palette = [];
    this.predicted = null;
    this.labels = null;
    this.width = 1;
    this.height = 1;
    this.history = [];
    this.stroke = null;
    this.cursor = null;
    this.seq = 0;
    this.canvas.addEventListener('pointerdown', (e) => this.startStroke(e));
    this.canvas.addEventListener('pointermove', (e) => this.moveStroke(e));
    this.canvas.addEventListener('pointerup', (e) => this.endStroke(e));
    this.canvas.addEventListener('pointercancel', (e) => this.endStroke(e));
    this.canvas.addEventListener('keydown', (e) => this.key(e));
    this.canvas.addEventListener('blur', () => { this.cursor = null; this.draw(); });
    $('paint-undo').addEventListener('click', () => this.undo());
    $('paint-clear').addEventListener('click', () => this.clear());
    $('render').addEventListener('click', () => void this.render());
    $('swap').addEventListener('click', () => void this.swap());
  }

  /** The model whose parsing the panel shows: the first chosen one that has parsing maps, else none (panel hidden). */
  update() {
    const chosen = [schedulers[0].model, schedulers[1].model];
    const m = state.models.find((x) => x.capabilities.parsing && chosen.includes(x.name)) ?? null;
    const changed = (m?.name ?? null) !== (this.model?.name ?? null);
    this.model = m;
    $('spt-section').hidden = !m;
    if (changed) this.reset();
    this.enable();
  }

  useSource(source) {
    this.source = source;
    sizeStage($('parsing-stage'), source.width, source.height);
    for (const img of [$('render-img'), $('swap-img')]) sizeStage(img.parentElement, source.width, source.height);
    this.canvas.width = source.width;
    this.canvas.height = source.height;
    this.width = source.width;
    this.height = source.height;
    const donor = $('donor');
    const keep = donor.value;
    donor.replaceChildren(...state.examples.filter((x) => x.id !== source.id && x.parsing).map((x) => new Option(x.name, x.id)));
    if ([...donor.options].some((o) => o.value === keep)) donor.value = keep;
    this.reset();
    this.enable();
  }

  /** Forgets the map, its edits and the panel's images (another model or source). */
  reset() {
    this.seq++;
    this.predicted = null;
    this.labels = null;
    this.history = [];
    this.ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    $('render-figure').hidden = true;
    $('swap-figure').hidden = true;
  }

  /** Uploads have no parsing map, so SPT cannot render them: the tools are off and the note says what to do. */
  enable() {
    const usable = Boolean(this.model && this.source?.parsing);
    for (const id of ['paint-labels', 'brush', 'paint-undo', 'paint-clear', 'render', 'donor', 'garment', 'swap']) $(id).disabled = !usable;
    $('swap').disabled = !usable || $('donor').options.length === 0;
    $('spt-note').textContent = !this.model ? '' : usable
      ? `${this.model.name} renders through parsing maps: this is the map it predicts for the target pose.`
      : `${this.source?.name ?? 'This source'} has no parsing map (no human parser ships with reposer: only the examples and images of the --data dataset have one); ` +
        `SPT renders through one: choose a synthetic example.`;
  }

  /** Asks for the predicted map of the current target pose; a newer pose's answer replaces it (and its edits). */
  async refresh() {
    if (!this.model || !this.source?.parsing) return;
    const seq = ++this.seq;
    try {
      const res = await postJson('/api/parsing', {
        model: this.model.name, source: this.source.id, sourcePose: sourceEditor.pose, targetPose: targetEditor.pose,
      });
      if (!res || seq !== this.seq) return;
      const body = await res.json();
      if (seq !== this.seq) return;
      if (!this.legend) this.fillLegend(body.legend);
      this.predicted = fromBase64(body.labels);
      this.labels = this.predicted.slice();
      this.history = [];
      this.draw();
      stats.parsingShown++;
      this.canvas.dataset.seq = String(stats.parsingShown);
      $('parsing-caption').textContent = `The target parsing ${this.model.name} predicts for the target pose (${res.headers.get('X-Generation-Ms')} ms).`;
    } catch (err) {
      showError(`the parsing map failed: ${err.message}`);
    }
  }

  fillLegend(legend) {
    this.legend = legend;
    this.palette = legend.map((l) => hexRgb(l.color));
    const box = $('paint-labels');
    for (const l of legend) {
      const label = document.createElement('label');
      const radio = document.createElement('input');
      radio.type = 'radio';
      radio.name = 'paint-label';
      radio.value = String(l.label);
      radio.checked = l.label === 5;
      const chip = document.createElement('span');
      chip.className = 'chip';
      chip.style.backgroundColor = l.color;
      label.append(radio, chip, `${l.label} ${l.name}`);
      box.append(label);
    }
  }

  get paintLabel() {
    return Number(document.querySelector('input[name="paint-label"]:checked')?.value ?? 0);
  }

  get brush() {
    const v = Number($('brush').value);
    return Number.isFinite(v) && v >= 1 ? Math.min(64, v) : 1;
  }

  /** The labels as colours, and the keyboard brush as an outline while the map has focus. */
  draw() {
    if (!this.labels) return;
    const image = this.ctx.createImageData(this.width, this.height);
    for (let i = 0; i < this.labels.length; i++) {
      const c = this.palette[this.labels[i]] ?? [0, 0, 0];
      image.data.set(c, i * 4);
      image.data[i * 4 + 3] = 255;
    }
    this.ctx.putImageData(image, 0, 0);
    if (this.cursor) {
      const r = this.brush / 2;
      this.ctx.lineWidth = Math.max(1, this.width / 128);
      this.ctx.strokeStyle = '#ffffff';
      this.ctx.strokeRect(this.cursor[0] - r, this.cursor[1] - r, 2 * r, 2 * r);
    }
  }

  /** Sets a disc of the brush's diameter around (x, y) to the chosen label. */
  dab(x, y) {
    const r = this.brush / 2;
    const label = this.paintLabel;
    for (let yy = Math.max(0, Math.floor(y - r)); yy <= Math.min(this.height - 1, Math.ceil(y + r)); yy++) {
      for (let xx = Math.max(0, Math.floor(x - r)); xx <= Math.min(this.width - 1, Math.ceil(x + r)); xx++) {
        if ((xx - x) ** 2 + (yy - y) ** 2 <= r * r) this.labels[yy * this.width + xx] = label;
      }
    }
  }

  /** Dabs along a segment, close enough that the stroke has no gaps. */
  line(a, b) {
    const steps = Math.max(1, Math.ceil(Math.hypot(b[0] - a[0], b[1] - a[1]) / Math.max(0.5, this.brush / 4)));
    for (let i = 1; i <= steps; i++) this.dab(a[0] + ((b[0] - a[0]) * i) / steps, a[1] + ((b[1] - a[1]) * i) / steps);
  }

  toMap(e) {
    const box = this.canvas.getBoundingClientRect();
    return [((e.clientX - box.left) / box.width) * this.width, ((e.clientY - box.top) / box.height) * this.height];
  }

  remember() {
    this.history.push(this.labels.slice());
    if (this.history.length > UNDO_DEPTH) this.history.shift();
  }

  startStroke(e) {
    if (!this.labels || !this.source?.parsing) return;
    e.preventDefault();
    this.canvas.setPointerCapture(e.pointerId);
    this.remember();
    const p = this.toMap(e);
    this.stroke = { pointer: e.pointerId, last: p };
    this.dab(p[0], p[1]);
    this.draw();
  }

  moveStroke(e) {
    if (!this.stroke || e.pointerId !== this.stroke.pointer) return;
    const p = this.toMap(e);
    this.line(this.stroke.last, p);
    this.stroke.last = p;
    this.draw();
  }

  endStroke(e) {
    if (!this.stroke || e.pointerId !== this.stroke.pointer) return;
    this.stroke = null;
  }

  key(e) {
    if (!this.labels) return;
    const step = e.shiftKey ? 10 : 1;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    this.cursor ??= [Math.floor(this.width / 2), Math.floor(this.height / 2)];
    if (moves[e.key]) {
      e.preventDefault();
      const [dx, dy] = moves[e.key];
      this.cursor = [Math.min(this.width - 1, Math.max(0, this.cursor[0] + dx)), Math.min(this.height - 1, Math.max(0, this.cursor[1] + dy))];
    } else if (e.key === ' ' || e.key === 'Enter') {
      e.preventDefault();
      this.remember();
      this.dab(this.cursor[0], this.cursor[1]);
    } else {
      return;
    }
    this.canvas.setAttribute('aria-label', `The parsing map; brush at x ${this.cursor[0]}, y ${this.cursor[1]}; Space paints ${this.legend?.[this.paintLabel]?.name ?? ''}`);
    this.draw();
  }

  undo() {
    const previous = this.history.pop();
    if (!previous) return;
    this.labels = previous;
    this.draw();
  }

  clear() {
    if (!this.predicted) return;
    this.remember();
    this.labels = this.predicted.slice();
    this.draw();
  }

  async render() {
    if (!this.labels) return;
    $('render').disabled = true;
    try {
      const res = await postJson('/api/render', {
        model: this.model.name, source: this.source.id, sourcePose: sourceEditor.pose, targetPose: targetEditor.pose,
        parsing: { width: this.width, height: this.height, labels: toBase64(this.labels) },
      });
      if (!res) return;
      showBlob($('render-img'), await res.blob());
      $('render-figure').hidden = false;
      stats.rendered++;
      $('render-img').dataset.seq = String(stats.rendered);
      $('render-caption').textContent = `${this.model.name} rendered to the edited map: ${res.headers.get('X-Generation-Ms')} ms on the server.`;
      clearError();
    } catch (err) {
      showError(`rendering the parsing map failed: ${err.message}`);
    } finally {
      $('render').disabled = false;
    }
  }

  async swap() {
    const donor = $('donor').value;
    if (!donor) return;
    $('swap').disabled = true;
    try {
      const res = await postJson('/api/swap', {
        model: this.model.name, receiver: this.source.id, receiverPose: sourceEditor.pose, donor, labels: [Number($('garment').value)],
      });
      if (!res) return;
      showBlob($('swap-img'), await res.blob());
      $('swap-figure').hidden = false;
      stats.swapped++;
      $('swap-img').dataset.seq = String(stats.swapped);
      const name = state.examples.find((x) => x.id === donor)?.name ?? 'the other person';
      $('swap-caption').textContent = `${this.source.name} wearing the ${$('garment').selectedOptions[0].textContent} of ${name}.`;
      clearError();
    } catch (err) {
      showError(`the garment swap failed: ${err.message}`);
    } finally {
      $('swap').disabled = false;
    }
  }
}

const parsingPanel = new ParsingPanel();

// --- animation ----------------------------------------------------------------------------------------------------

function countKeyframes() {
  const n = state.keyframes.length;
  $('keyframe-count').textContent = `${n} keyframe${n === 1 ? '' : 's'}`;
}
$('add-keyframe').addEventListener('click', () => {
  state.keyframes.push(clonePose(targetEditor.pose));
  countKeyframes();
});
$('clear-keyframes').addEventListener('click', () => {
  state.keyframes = [];
  countKeyframes();
});

$('animate').addEventListener('click', async () => {
  if (!state.source) return;
  const body = {
    source: state.source.id, model: schedulers[0].model, sourcePose: sourceEditor.pose,
    format: $('format').value, delayMs: Number($('delay').value),
  };
  const csv = $('csv').files[0];
  if (csv) {
    body.csv = await csv.text();
    const m = /^(\d+)x(\d+)$/.exec($('csv-frame').value.trim());
    if (!m) {
      showError('CSV frame: give the height×width the CSV was annotated in, such as 128x64');
      return;
    }
    body.csvFrame = [Number(m[1]), Number(m[2])];
  } else {
    if (state.keyframes.length < 2) {
      showError('add at least two keyframes (pose the target, then "Add the target pose as a keyframe"), or choose an annotation CSV');
      return;
    }
    body.keyframes = state.keyframes;
    body.between = Number($('between').value);
  }
  $('animate-status').textContent = 'Generating the frames…';
  $('animate').disabled = true;
  try {
    const res = await fetch('/api/animate', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(await failure(res));
    const frames = res.headers.get('X-Frames');
    const name = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') ?? '')?.[1] ?? `reposer.${body.format}`;
    const url = URL.createObjectURL(await res.blob());
    const link = $('download');
    if (link.href.startsWith('blob:')) URL.revokeObjectURL(link.href);
    link.href = url;
    link.download = name;
    link.textContent = `Download ${name} (${frames} frames)`;
    $('animation').src = url;
    $('animation-figure').hidden = false;
    $('animate-status').textContent = `${frames} frames ready.`;
    clearError();
  } catch (err) {
    $('animate-status').textContent = '';
    showError(`the animation failed: ${err.message}`);
  } finally {
    $('animate').disabled = false;
  }
});

// --- start --------------------------------------------------------------------------------------------------------

async function start() {
  const [models, examples] = await Promise.all([getJson('/api/models'), getJson('/api/examples')]);
  state.examples = examples;
  state.models = models;
  for (const m of models) {
    const label = `${m.name} (${m.family}, ${m.frame[0]}x${m.frame[1]})`;
    $('model-a').append(new Option(label, m.name));
    $('model-b').append(new Option(label, m.name));
  }
  $('csv-frame').value = `${models[0].frame[0]}x${models[0].frame[1]}`;
  for (const e of examples) $('examples').append(new Option(e.name, e.id));
  schedulers[0].model = models[0].name;
  parsingPanel.update();
  if (examples[0]) await useSource(examples[0]);
  document.body.dataset.ready = 'true';
}

start().catch((err) => showError(`the editor could not start: ${err.message}`));
