// The explorer: what the VAE has learned, live while it learns. The latent plane with the test
// digits' encodings and a handle to decode any z; the manifold and prior samples of the paper's
// figures 4 and 5; a digit uploaded or drawn by the user, encoded onto the plane; interpolation
// between two encodings.
//
// This module is the controller: it owns the explorer's state, talks to the model only through
// the `VaeClient` it is given (docs/client.md), and hands typed arrays to the views
// (latent-plane.js, digits.js, draw-pad.js), which never see the client.
//
//   mountExplorer(root, client) -> { refresh(), destroy() }
//
// Refreshing: on the client's 'metrics', 'evaluated', 'running' (stopped) and 'reset' events the
// test set is re-encoded and everything redrawn, at most once per REFRESH_MS and never two at
// once (schedule.js). Interactive requests (the handle's decode, the drawing's encode, the
// manifold's n) each keep at most one request in flight and run the newest value next.
//
// For tests: window.__explorer = { lastProcessed, lastDrawProcessed, decodeMs, refreshes }, and
// data attributes on the elements with data-testid (see tests/e2e/explorer.test.mjs).

import { buildLayout } from './layout.js';
import { LatentPlane } from './latent-plane.js';
import { DrawPad } from './draw-pad.js';
import { clearDigit, drawDigit, drawDigitGrid, drawFitted } from './digits.js';
import { BlankImageError, preprocessRgba } from './preprocess.js';
import { ImageInputError, filesOf, loadImageFile } from './image-input.js';
import { principalAxes } from './pca.js';
import { Slice } from './slice.js';
import { manifoldCoordinates, standardNormal } from './gaussian.js';
import { latestOnly, throttle } from './schedule.js';

/** Least time between two refreshes of everything while training runs, in ms. */
const REFRESH_MS = 1500;
/** Retry interval while the model or its data are not ready yet, in ms. */
const RETRY_MS = 1000;
const SAMPLE_COLUMNS = 8;
const SAMPLE_COUNT = 64;
const INTERPOLATION_STEPS = 10;
const PIXELS = 784;

const MARKERS = {
  upload: { label: 'upload', colour: '#111111', shape: 'diamond' },
  drawing: { label: 'drawing', colour: '#111111', shape: 'square', labelSide: 'left' },
};

/**
 * Builds the explorer inside `root` and keeps it in step with `client`'s model.
 * @param {HTMLElement} root
 * @param {import('../client.js').VaeClient} client
 * @returns {{refresh: () => void, destroy: () => void}}
 */
export function mountExplorer(root, client) {
  const ui = buildLayout(root);
  const debug = {
    lastProcessed: null, // Float32Array 784: the last upload's 28×28 input
    lastDrawProcessed: null, // Float32Array 784: the drawing's
    decodeMs: [], // round trips of the handle's decodes, ms, the last 200
    refreshes: 0,
    /** Viewport position of test digit `index` on the plane (for tests that click a point). */
    pointOnPlane: (index) => plane.clientPoint(index),
  };
  window.__explorer = debug;

  const state = {
    dim: null, // latent dimension D
    slice: null, // Slice
    test: null, // { mu, logVar, labels, n } from encodeTest
    originals: null, // Float32Array n×784: the test digits themselves (fetched once)
    selected: null, // index of the selected test digit
    handle: { a: 0, b: 0 },
    handleZ: null, // Float32Array D: the latent vector under the handle
    upload: null, // { pixels, name, mu, logVar }
    drawing: null, // { pixels, mu, logVar }
    ends: { A: null, B: null }, // { pixels|null, testIndex|null, text, mu|null }
    sampleZ: null, // Float32Array SAMPLE_COUNT×D
    manifoldN: Number(ui.manifoldN.value),
    step: 0,
    ready: false,
    destroyed: false,
  };

  // ---- views ----

  const plane = new LatentPlane(
    { root: ui.plane, base: ui.planeBase, overlay: ui.planeOverlay, handle: ui.handle },
    {
      onMove: (a, b, time) => moveHandle(a, b, time),
      onPick: (index) => select(index),
    },
  );
  const pad = new DrawPad(ui.pad, { onChange: () => drawingChanged() });
  for (const c of [ui.decoded, ui.uploadProcessed, ui.uploadRecon, ui.drawProcessed, ui.drawRecon, ui.interpA, ui.interpB, ui.selectedImage]) {
    clearDigit(c);
  }
  drawFittedBlank(ui.uploadOriginal);

  // ---- status ----

  function setStatus(text, kind = 'info') {
    ui.status.textContent = text;
    ui.status.dataset.kind = kind;
  }

  function report(error) {
    if (state.destroyed) return;
    setStatus(`Explorer: ${error?.message ?? error}`, 'error');
  }

  // ---- latent dimension and slice ----

  function ensureDim(dim) {
    if (dim === state.dim) return;
    state.dim = dim;
    state.slice = new Slice(dim);
    state.selected = null;
    state.test = null;
    state.handle = { a: 0, b: 0 };
    state.handleZ = state.slice.toLatent(0, 0);
    state.sampleZ = standardNormal(SAMPLE_COUNT * dim);
    for (const kind of ['upload', 'drawing']) if (state[kind]) state[kind].mu = state[kind].logVar = null;
    for (const end of ['A', 'B']) if (state.ends[end]) state.ends[end].mu = null;

    const options = Array.from({ length: dim }, (_, d) => `<option value="${d}">${zName(d)}</option>`).join('');
    ui.dimX.innerHTML = options;
    ui.dimY.innerHTML = options;
    ui.dimX.value = '0';
    ui.dimY.value = String(Math.min(1, dim - 1));
    ui.pca.checked = false;
    ui.slice.hidden = dim <= 2;
    ui.dimX.disabled = ui.dimY.disabled = false;
    ui.selected.hidden = true;
    plane.setSelected(null);
    plane.setOptions({ flat: dim === 1, axisNames: axisNames() });
    plane.setHandle(0, 0);
    updateSliceNote();
    updateCoords();
  }

  function axisNames() {
    const s = state.slice;
    if (s.mode === 'pca') return ['PC 1', 'PC 2'];
    return [zName(s.dimX), s.dimY === null ? '' : zName(s.dimY)];
  }

  function updateSliceNote() {
    const d = state.dim;
    if (!d || d <= 2) return;
    const where =
      state.selected !== null
        ? `those of the selected test digit #${state.selected} (a ${state.test?.labels[state.selected] ?? '?'})`
        : 'those of the selected point (click a test digit to select one; until then 0, the prior’s mean)';
    const span = state.slice.mode === 'pca' ? 'the two principal axes of the test encodings' : `${zName(state.slice.dimX)} and ${zName(state.slice.dimY)}`;
    ui.sliceNote.textContent = `The latent space has ${d} dimensions, so the plane is a 2-D slice through it spanned by ${span}; the other coordinates stay at ${where}.`;
    ui.slice.dataset.mode = state.slice.mode;
  }

  function setSliceFromControls(event) {
    const s = state.slice;
    if (!s) return;
    if (ui.pca.checked) {
      if (!state.test) {
        ui.pca.checked = false;
        return;
      }
      applyPca();
    } else {
      let x = Number(ui.dimX.value), y = Number(ui.dimY.value);
      if (x === y) {
        // Picking the other select's dimension swaps the two.
        const previous = [s.dimX ?? 0, s.dimY ?? 1];
        if (event?.target === ui.dimX) y = previous[0] === x ? previous[1] : previous[0];
        else x = previous[1] === y ? previous[0] : previous[1];
        if (x === y) [x, y] = [0, 1];
        ui.dimX.value = String(x);
        ui.dimY.value = String(y);
      }
      s.setDims(x, y);
    }
    ui.dimX.disabled = ui.dimY.disabled = ui.pca.checked;
    afterSliceChange();
  }

  function applyPca() {
    const t = state.test;
    const prev = state.slice.mode === 'pca' ? [state.slice.u, state.slice.v] : [];
    const { axes } = principalAxes(t.mu, t.n, state.dim, { previous: prev });
    state.slice.setAxes(axes[0], axes[1]);
  }

  function afterSliceChange() {
    plane.setOptions({ axisNames: axisNames() });
    // The handle keeps its latent vector's coordinates along the new axes.
    const [a, b] = state.slice.coords(state.handleZ);
    state.handle = { a, b };
    plane.setHandle(a, b);
    projectAll();
    updateSliceNote();
    moveHandle(a, b, null);
    manifoldQueue.submit(state.manifoldN);
  }

  // ---- the plane's content ----

  function projectAll() {
    const t = state.test;
    if (t) {
      plane.setPoints(state.slice.project(t.mu, t.n), t.labels, state.slice.projectCovariance(t.logVar, t.n));
    }
    for (const kind of ['upload', 'drawing']) showMarker(kind);
    showSegment();
  }

  function showMarker(kind) {
    const item = state[kind];
    if (!item?.mu || item.mu.length !== state.dim) {
      plane.setMarker(kind, null);
      return;
    }
    const [a, b] = state.slice.coords(item.mu);
    const cov = state.slice.projectCovariance(item.logVar, 1);
    plane.setMarker(kind, { a, b, cov, ...MARKERS[kind] });
  }

  function showSegment() {
    const { A, B } = state.ends;
    if (A?.mu && B?.mu) plane.setSegment({ a: state.slice.coords(A.mu), b: state.slice.coords(B.mu) });
    else plane.setSegment(null);
  }

  // ---- the handle ----

  const decodeQueue = latestOnly(async ({ z, time }) => {
    if (!state.dim || z.length !== state.dim) return;
    const px = await client.decode(z, 1);
    drawDigit(ui.decoded, px);
    if (time !== null) {
      const ms = performance.now() - time;
      debug.decodeMs.push(ms);
      if (debug.decodeMs.length > 200) debug.decodeMs.shift();
      const sorted = [...debug.decodeMs].sort((p, q) => p - q);
      const median = sorted[Math.floor(sorted.length / 2)];
      ui.decodeMs.textContent = `decode ${Math.round(ms)} ms`;
      ui.decodeMs.title = `Round trip from the pointer move to the drawn digit: last ${ms.toFixed(1)} ms, median ${median.toFixed(1)} ms over ${sorted.length}`;
      ui.decodeMs.dataset.ms = ms.toFixed(1);
      ui.decodeMs.dataset.median = median.toFixed(1);
      ui.decodeMs.dataset.count = String(sorted.length);
    }
    ui.decoded.dataset.decodes = String(Number(ui.decoded.dataset.decodes ?? 0) + 1);
  }, report);

  /** The handle moved to plane point (a, b); `time` is when the user moved it (null: not a user move). */
  function moveHandle(a, b, time) {
    if (!state.slice) return;
    state.handle = { a, b };
    state.handleZ = state.slice.toLatent(a, b);
    updateCoords();
    decodeQueue.submit({ z: state.handleZ, time });
  }

  function updateCoords() {
    const z = state.handleZ;
    if (!z) return;
    const s = state.slice;
    let text;
    if (state.dim <= 4) text = `z = (${Array.from(z, fmt).join(', ')})`;
    else if (s.mode === 'pca') text = `PC 1 = ${fmt(state.handle.a)}, PC 2 = ${fmt(state.handle.b)}`;
    else text = `${zName(s.dimX)} = ${fmt(z[s.dimX])}, ${zName(s.dimY)} = ${fmt(z[s.dimY])}`;
    ui.coords.textContent = text;
    ui.coords.dataset.z = Array.from(z, (v) => v.toFixed(4)).join(',');
    ui.handle.setAttribute('aria-valuetext', text);
  }

  // ---- selecting a test digit ----

  function select(index) {
    const t = state.test;
    if (!t || index === null || index >= t.n) {
      state.selected = null;
      ui.selected.hidden = true;
      plane.setSelected(null);
      if (state.slice) {
        state.slice.setBase(new Float32Array(state.dim));
        updateSliceNote();
        moveHandle(state.handle.a, state.handle.b, null);
        manifoldQueue.submit(state.manifoldN);
      }
      return;
    }
    state.selected = index;
    const mu = t.mu.subarray(index * state.dim, (index + 1) * state.dim);
    state.slice.setBase(mu);
    plane.setSelected(index);
    const [a, b] = state.slice.coords(mu);
    plane.setHandle(a, b);
    moveHandle(a, b, performance.now());
    ui.selected.hidden = false;
    ui.selected.dataset.index = String(index);
    if (state.originals) drawDigit(ui.selectedImage, state.originals, index);
    describeSelected();
    updateSliceNote();
    manifoldQueue.submit(state.manifoldN);
  }

  function describeSelected() {
    const i = state.selected, t = state.test;
    if (i === null || !t) return;
    const mu = t.mu.subarray(i * state.dim, (i + 1) * state.dim);
    ui.selectedText.textContent = `Test digit #${i}, labelled ${t.labels[i]}. μ = ${muText(mu)}`;
  }

  // ---- your digit: upload and drawing ----

  const encodeQueues = {
    upload: latestOnly((pixels) => encodeYours('upload', pixels), report),
    drawing: latestOnly((pixels) => encodeYours('drawing', pixels), report),
  };

  async function encodeYours(kind, pixels) {
    if (!state[kind] || !state.dim) return; // cleared meanwhile
    const { mu, logVar } = await client.encode(pixels, 1);
    // While the user draws, newer pixels replace the item before its encoding is back: show this
    // one anyway (the newest is encoded next), so the point follows the pen.
    const item = state[kind];
    if (!item || mu.length !== state.dim) return;
    item.mu = mu;
    item.logVar = logVar;
    showMarker(kind);
    const recon = await client.decode(mu, 1);
    if (!state[kind]) return;
    const [muEl, reconEl] = kind === 'upload' ? [ui.uploadMu, ui.uploadRecon] : [ui.drawMu, ui.drawRecon];
    drawDigit(reconEl, recon);
    muEl.textContent = `μ = ${muText(mu)}`;
    muEl.dataset.mu = Array.from(mu, (v) => v.toFixed(4)).join(',');
    muEl.dataset.encodes = String(Number(muEl.dataset.encodes ?? 0) + 1);
    const [btnA, btnB] = kind === 'upload' ? [ui.uploadA, ui.uploadB] : [ui.drawA, ui.drawB];
    btnA.disabled = btnB.disabled = false;
  }

  async function useFiles(files) {
    const file = files[0];
    if (!file) return;
    let loaded, result;
    try {
      loaded = await loadImageFile(file);
      const { canvas } = loaded;
      const data = canvas.getContext('2d', { willReadFrequently: true }).getImageData(0, 0, canvas.width, canvas.height);
      result = preprocessRgba(data.data, canvas.width, canvas.height);
    } catch (error) {
      let message;
      if (error instanceof ImageInputError) message = error.message;
      else if (error instanceof BlankImageError) message = `${error.message} (${loaded?.name ?? file.name})`;
      else message = `${file.name || 'the image'} could not be read: ${error?.message ?? error}`;
      ui.uploadError.textContent = message;
      ui.uploadError.hidden = false;
      ui.uploadError.dataset.count = String(Number(ui.uploadError.dataset.count ?? 0) + 1);
      return;
    }
    ui.uploadError.hidden = true;
    ui.uploadError.textContent = '';
    drawFitted(ui.uploadOriginal, loaded.canvas, loaded.canvas.width, loaded.canvas.height);
    ui.uploadOriginal.dataset.name = loaded.name;
    ui.uploadOriginal.title = `${loaded.name}, ${loaded.width}×${loaded.height} px`;
    showProcessed(ui.uploadProcessed, result);
    debug.lastProcessed = result.pixels;
    state.upload = { pixels: result.pixels, name: loaded.name, mu: null, logVar: null };
    ui.uploadMu.textContent = 'μ: encoding…';
    encodeQueues.upload.submit(result.pixels);
  }

  function showProcessed(canvas, result) {
    drawDigit(canvas, result.pixels);
    canvas.dataset.com = `${result.centreOfMass.x.toFixed(2)},${result.centreOfMass.y.toFixed(2)}`;
    canvas.dataset.inverted = String(result.inverted);
    canvas.dataset.box = `${result.size.width}x${result.size.height}`;
  }

  function drawingChanged() {
    if (pad.empty) return;
    const image = pad.imageData();
    let result;
    try {
      result = preprocessRgba(image.data, image.width, image.height);
    } catch (error) {
      if (error instanceof BlankImageError) return;
      throw error;
    }
    showProcessed(ui.drawProcessed, result);
    debug.lastDrawProcessed = result.pixels;
    state.drawing = { pixels: result.pixels, mu: state.drawing?.mu ?? null, logVar: state.drawing?.logVar ?? null };
    encodeQueues.drawing.submit(result.pixels);
  }

  function clearDrawing() {
    pad.clear();
    state.drawing = null;
    clearDigit(ui.drawProcessed);
    clearDigit(ui.drawRecon);
    ui.drawMu.textContent = 'μ: –';
    delete ui.drawMu.dataset.mu;
    ui.drawA.disabled = ui.drawB.disabled = true;
    plane.setMarker('drawing', null);
  }

  // ---- interpolation ----

  function setEnd(end, source) {
    state.ends[end] = source;
    const [canvas, caption] = end === 'A' ? [ui.interpA, ui.interpAText] : [ui.interpB, ui.interpBText];
    if (source.pixels) drawDigit(canvas, source.pixels);
    else clearDigit(canvas);
    caption.textContent = `${end}: ${source.text}`;
    canvas.dataset.source = source.text;
    interpQueue.submit(null);
  }

  function endFromYours(kind) {
    const item = state[kind];
    if (!item) return null;
    return { pixels: item.pixels, testIndex: null, text: kind === 'upload' ? item.name : 'drawing', mu: item.mu };
  }

  function endFromSelected() {
    const i = state.selected;
    if (i === null || !state.test) return null;
    const mu = state.test.mu.slice(i * state.dim, (i + 1) * state.dim);
    const pixels = state.originals ? state.originals.slice(i * PIXELS, (i + 1) * PIXELS) : null;
    return { pixels, testIndex: i, text: `test #${i} (${state.test.labels[i]})`, mu };
  }

  /** μ of an interpolation end under the current model. */
  async function endMu(end) {
    if (end.testIndex !== null) {
      if (!state.test) return null;
      return state.test.mu.slice(end.testIndex * state.dim, (end.testIndex + 1) * state.dim);
    }
    const { mu } = await client.encode(end.pixels, 1);
    return mu;
  }

  const interpQueue = latestOnly(async () => {
    const { A, B } = state.ends;
    if (!A || !B || !state.dim) return;
    const [muA, muB] = [await endMu(A), await endMu(B)];
    if (!muA || !muB || muA.length !== state.dim || muB.length !== state.dim) return;
    A.mu = muA;
    B.mu = muB;
    showSegment();
    const D = state.dim;
    const z = new Float32Array(INTERPOLATION_STEPS * D);
    for (let k = 0; k < INTERPOLATION_STEPS; k++) {
      const t = k / (INTERPOLATION_STEPS - 1);
      for (let d = 0; d < D; d++) z[k * D + d] = (1 - t) * muA[d] + t * muB[d];
    }
    const images = await client.decode(z, INTERPOLATION_STEPS);
    drawDigitGrid(ui.strip, images, INTERPOLATION_STEPS, INTERPOLATION_STEPS, { gap: 2, gapColour: [255, 255, 255] });
    ui.strip.hidden = false;
    ui.stripEmpty.hidden = true;
    ui.strip.dataset.count = String(INTERPOLATION_STEPS);
    ui.strip.dataset.updates = String(Number(ui.strip.dataset.updates ?? 0) + 1);
  }, report);

  // ---- manifold and samples ----

  const manifoldQueue = latestOnly(async (n) => {
    const s = state.slice;
    if (!s) return;
    let images, columns = n, count = n * n;
    if (state.dim === 1) {
      const { xs } = manifoldCoordinates(n);
      images = await client.decode(Float32Array.from(xs), n);
      count = n;
    } else if (s.mode === 'dims') {
      images = await client.manifold(n, s.dimX, s.dimY, Float32Array.from(s.base));
    } else {
      const { xs, ys } = manifoldCoordinates(n);
      const ab = new Float32Array(2 * n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) ab.set([xs[j], ys[i]], 2 * (i * n + j));
      images = await client.decode(s.toLatentMany(ab, n * n), n * n);
    }
    if (s !== state.slice) return;
    drawDigitGrid(ui.manifold, images, count, columns);
    ui.manifold.dataset.n = String(n);
    ui.manifold.dataset.updates = String(Number(ui.manifold.dataset.updates ?? 0) + 1);
  }, report);

  const samplesQueue = latestOnly(async () => {
    const z = state.sampleZ;
    if (!z || z.length !== SAMPLE_COUNT * state.dim) return;
    const images = await client.decode(z, SAMPLE_COUNT);
    drawDigitGrid(ui.samples, images, SAMPLE_COUNT, SAMPLE_COLUMNS);
    ui.samples.dataset.updates = String(Number(ui.samples.dataset.updates ?? 0) + 1);
  }, report);

  // ---- the refresh cycle ----

  let retryTimer = 0;
  async function refresh() {
    if (state.destroyed) return;
    let t;
    try {
      t = await client.encodeTest();
    } catch (error) {
      if (!state.ready) {
        // The model or its data are not there yet: try again shortly, quietly.
        clearTimeout(retryTimer);
        retryTimer = setTimeout(() => refresher.request(), RETRY_MS);
        return;
      }
      throw error;
    }
    const n = t.labels.length;
    ensureDim(t.mu.length / n);
    state.test = { ...t, n };
    if (!state.originals) {
      try {
        state.originals = (await client.reconstruct(n)).originals;
      } catch {
        // Thumbnails of selected test digits then show nothing; the rest works.
      }
    }
    if (state.slice.mode === 'pca') applyPca();
    if (state.selected !== null) {
      state.slice.setBase(t.mu.subarray(state.selected * state.dim, (state.selected + 1) * state.dim));
      describeSelected();
    }
    projectAll();
    if (!state.ready) {
      state.ready = true;
      root.dataset.ready = 'true';
    }
    moveHandle(state.handle.a, state.handle.b, null);
    manifoldQueue.submit(state.manifoldN);
    samplesQueue.submit(null);
    for (const kind of ['upload', 'drawing']) if (state[kind]) encodeQueues[kind].submit(state[kind].pixels);
    interpQueue.submit(null);
    await Promise.all([decodeQueue.idle(), manifoldQueue.idle(), samplesQueue.idle(), interpQueue.idle(), encodeQueues.upload.idle(), encodeQueues.drawing.idle()]);

    debug.refreshes++;
    ui.status.dataset.refreshes = String(debug.refreshes);
    ui.status.dataset.step = String(state.step);
    setStatus(
      `${n.toLocaleString('en')} test digits encoded${state.step ? ` at training step ${state.step.toLocaleString('en')}` : ''}; latent dimension ${state.dim}.`,
    );
  }

  const refresher = throttle(refresh, REFRESH_MS, { onError: report });

  // Nobody sees an explorer scrolled out of view: while it is, training events only mark it stale
  // (re-encoding the test set costs training time, a lot on a slow GPU), and it catches up as soon
  // as it comes back into view. The first refresh always runs.
  let visible = true;
  let stale = false;
  const visibility = new IntersectionObserver((entries) => {
    visible = entries.some((entry) => entry.isIntersecting);
    root.dataset.visible = String(visible);
    if (visible && stale) {
      stale = false;
      refresher.request({ immediate: true });
    }
  });
  visibility.observe(root);
  function requestRefresh(options) {
    if (state.ready && !visible) {
      stale = true;
      return;
    }
    refresher.request(options);
  }

  // ---- wiring ----

  const listeners = [];
  const on = (target, type, fn, options) => {
    target.addEventListener(type, fn, options);
    listeners.push(() => target.removeEventListener(type, fn, options));
  };

  on(client, 'metrics', (e) => {
    state.step = e.detail?.step ?? state.step;
    requestRefresh();
  });
  on(client, 'evaluated', () => requestRefresh());
  on(client, 'running', (e) => {
    if (!e.detail?.running) requestRefresh({ immediate: true });
  });
  on(client, 'reset', (e) => {
    state.step = 0;
    const dim = e.detail?.config?.latentDim;
    if (dim && dim !== state.dim) {
      ensureDim(dim);
      plane.setMarker('upload', null);
      plane.setMarker('drawing', null);
      plane.setSegment(null);
      plane.setMessage('New model: encoding the test digits…');
    }
    requestRefresh({ immediate: true });
  });

  on(ui.ellipses, 'change', () => plane.setOptions({ ellipses: ui.ellipses.checked }));
  on(ui.fixedAxes, 'change', () => plane.setOptions({ fixedHalf: ui.fixedAxes.checked ? 3 : null }));
  on(ui.dimX, 'change', setSliceFromControls);
  on(ui.dimY, 'change', setSliceFromControls);
  on(ui.pca, 'change', setSliceFromControls);
  on(ui.manifoldN, 'input', () => {
    state.manifoldN = Number(ui.manifoldN.value);
    ui.manifoldNOut.value = String(state.manifoldN);
    manifoldQueue.submit(state.manifoldN);
  });
  on(ui.newSamples, 'click', () => {
    if (!state.dim) return;
    state.sampleZ = standardNormal(SAMPLE_COUNT * state.dim);
    samplesQueue.submit(null);
  });

  on(ui.file, 'change', () => {
    const files = Array.from(ui.file.files ?? []);
    if (files.length) useFiles(files).catch(report);
  });
  on(ui.drawClear, 'click', clearDrawing);

  const pick = (end, from) => () => {
    const source = from();
    if (source) setEnd(end, source);
  };
  on(ui.uploadA, 'click', pick('A', () => endFromYours('upload')));
  on(ui.uploadB, 'click', pick('B', () => endFromYours('upload')));
  on(ui.drawA, 'click', pick('A', () => endFromYours('drawing')));
  on(ui.drawB, 'click', pick('B', () => endFromYours('drawing')));
  on(ui.selectedA, 'click', pick('A', endFromSelected));
  on(ui.selectedB, 'click', pick('B', endFromSelected));
  on(ui.selectedClear, 'click', () => select(null));

  // Drop anywhere on the page, paste anywhere (unless into a text field).
  const doc = root.ownerDocument;
  const hasFiles = (e) => Array.from(e.dataTransfer?.types ?? []).includes('Files');
  let dragDepth = 0;
  on(doc, 'dragenter', (e) => {
    if (!hasFiles(e)) return;
    dragDepth++;
    ui.root.classList.add('vx-dropping');
  });
  on(doc, 'dragleave', (e) => {
    if (!hasFiles(e)) return;
    dragDepth = Math.max(0, dragDepth - 1);
    if (!dragDepth) ui.root.classList.remove('vx-dropping');
  });
  on(doc, 'dragover', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
  });
  on(doc, 'drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    dragDepth = 0;
    ui.root.classList.remove('vx-dropping');
    useFiles(filesOf(e.dataTransfer)).catch(report);
  });
  on(doc, 'paste', (e) => {
    const files = filesOf(e.clipboardData);
    if (!files.length) return;
    e.preventDefault();
    useFiles(files).catch(report);
  });

  if (client.latentDim) ensureDim(client.latentDim);
  refresher.request({ immediate: true });

  return {
    /** Re-encodes and redraws now (still one at a time). */
    refresh: () => refresher.request({ immediate: true }),
    /** Stops listening and refreshing; the DOM stays. */
    destroy() {
      state.destroyed = true;
      refresher.stop();
      visibility.disconnect();
      clearTimeout(retryTimer);
      plane.destroy();
      for (const off of listeners) off();
    },
  };
}

function drawFittedBlank(canvas) {
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = '#9aa1ad';
  ctx.font = '13px system-ui, sans-serif';
  ctx.textAlign = 'center';
  ctx.fillText('no image yet', canvas.width / 2, canvas.height / 2 + 4);
}

const SUBSCRIPTS = '₀₁₂₃₄₅₆₇₈₉';
/** "z₁" for dimension 0: dimensions are numbered from 1 on the page, as in the paper. */
function zName(d) {
  return `z${String(d + 1).replace(/\d/g, (c) => SUBSCRIPTS[c])}`;
}

/** A number for the page: two decimals, a true minus sign. */
function fmt(v) {
  return v.toFixed(2).replace(/^-/, '−').replace(/^−0\.00$/, '0.00');
}

function muText(mu) {
  const shown = Array.from(mu.slice(0, 8), fmt).join(', ');
  return mu.length > 8 ? `(${shown}, … ${mu.length} values)` : `(${shown})`;
}

