// The latent plane and its handle: the test digits' μ, the user's digits, the interpolation's
// path and other features' layers drawn on the slice; the handle's z decoded as it moves; the
// selected test digit; the slice controls for D > 2 and the plane's display options; and the same
// in words, for who cannot see it: the plane's and the decoded digit's text alternatives, and the
// handle's position and the selection spoken through a polite live region. The legend names the
// data's classes (MNIST's 0–9, or the visitor's folders; none for images without labels).
//
// Reads: words, dim, slice, test, images, selected, handle, yours (markers), segment, focus, layers.
// Asks for: moveHandle, selectDigit, withDims / withPrincipalAxes, setEnd (the selected digit),
// view (what the plane shows, for features that compute over it).

import { LatentPlane } from '../latent-plane.js';
import { clearDigit, drawDigit } from '../../views/digits.js';
import { digitColour } from '../palette.js';
import { inWords } from '../../words.js';
import { latestOnly, throttle } from '../schedule.js';
import { chooseDims, markerFor, pathOnPlane } from '../geometry.js';
import { axisNames, coordsText, nearText, planeText, selectedText, sliceNoteText, testDigitName, vectorData, zName } from '../format.js';
import { endFromTest, moveHandle, selectDigit, setEnd, withDims, withPrincipalAxes } from '../store.js';
import { listen } from './listen.js';

/** Round trips of the handle's decodes kept for the median, newest last. */
const DECODES_KEPT = 200;
/**
 * The handle's position is spoken, and the plane's and the decoded digit's text alternatives
 * rewritten, at most this often: a drag moves the handle 60 times a second, and a screen reader
 * that tried to say each position would say none.
 */
const DESCRIBE_EVERY_MS = 500;
/** Test digits whose labels describe what the handle's neighbourhood decodes to. */
const NEAR_COUNT = 10;
/** What each feature's layer on the plane shows, in words (MNIST's: inWords says them in the data's). */
const LAYER_WORDS = {
  posterior: 'one digit’s true posterior p(z|x) as a heat map with its 39 % and 86 % regions, and the encoder’s q(z|x) at 1σ and 2σ',
  holes: 'where the prior has holes: where N(0, I) has mass that the test digits’ encodings lack, and where they are denser',
};

/**
 * @param {import('../layout.js').PlaneRefs} ui the plane part's elements (layout.js)
 * @param {{store: import('../store.js').ExplorerStore, client: import('../../client.js').VaeClient,
 *          report: (error: unknown) => void}} context
 */
export function mountPlane(ui, { store, client, report }) {
  const plane = new LatentPlane(
    { root: ui.plane, base: ui.planeBase, overlay: ui.planeOverlay, handle: ui.handle },
    {
      onMove: (a, b, time) => store.update((s) => moveHandle(s, a, b, time)),
      onPick: (index) => store.update((s) => selectDigit(s, index, performance.now())),
      onView: (view) => store.update({ view }),
    },
  );
  for (const c of [ui.decoded, ui.selectedImage]) clearDigit(c);

  /** Round trips of the handle's decodes, ms (window.__explorer.decodeMs). */
  const decodeMs = [];

  /**
   * The classes' colours: one item per class the labels name, in the label's colour.
   * @param {import('../../words.js').Words} words
   */
  function showLegend(words) {
    ui.legend.hidden = !words.labelled;
    ui.legend.replaceChildren(
      ...words.names.map((name, label) => {
        const item = document.createElement('li');
        const swatch = document.createElement('span');
        swatch.className = 'vx-swatch';
        swatch.style.background = digitColour(label);
        swatch.setAttribute('aria-hidden', 'true');
        item.append(swatch, name);
        item.dataset.label = String(label);
        return item;
      }),
    );
  }

  const decodeQueue = latestOnly(async ({ z, time }) => {
    const { dim } = store.get();
    if (!dim || z.length !== dim) return;
    const pixels = await client.decode(z, 1);
    drawDigit(ui.decoded, pixels);
    descriptions.request();
    if (time !== null) showDecodeTime(performance.now() - time);
    ui.decoded.dataset.decodes = String(Number(ui.decoded.dataset.decodes ?? 0) + 1);
  }, report);

  function showDecodeTime(ms) {
    decodeMs.push(ms);
    if (decodeMs.length > DECODES_KEPT) decodeMs.shift();
    describeDecodeTime();
  }

  /** The last round trip and the median, in the data's words (again when those change). */
  function describeDecodeTime() {
    if (!decodeMs.length) return;
    const ms = decodeMs[decodeMs.length - 1];
    const sorted = [...decodeMs].sort((p, q) => p - q);
    const median = sorted[Math.floor(sorted.length / 2)];
    ui.decodeMs.textContent = `decode ${Math.round(ms)} ms`;
    ui.decodeMs.title = `Round trip from the pointer move to the drawn ${store.get().words.digit}: last ${ms.toFixed(1)} ms, median ${median.toFixed(1)} ms over ${sorted.length}`;
    ui.decodeMs.dataset.ms = ms.toFixed(1);
    ui.decodeMs.dataset.median = median.toFixed(1);
    ui.decodeMs.dataset.count = String(sorted.length);
  }

  // ---- words for who cannot see the plane ----

  /** Whether the handle moved by the user since it was last spoken. */
  let unspoken = false;

  /** The plane's and the decoded digit's text alternatives, and the handle's position spoken. */
  function describe() {
    const state = store.get();
    if (!state.slice) return;
    const { handle, words } = state;
    const where = coordsText(state);
    const near = state.test ? nearText(Array.from(plane.nearest(handle.a, handle.b, NEAR_COUNT), (i) => state.test.labels[i]), words) : null;
    const shown = [
      ...Object.values(state.layers).filter(Boolean).map((layer) => inWords(LAYER_WORDS[layer.name] ?? layer.name, words)),
      ...['upload', 'drawing'].filter((kind) => state.yours[kind]?.mu).map((kind) => `your ${kind} at its μ`),
      ...(state.segment ? ['the interpolation’s path from A to B'] : []),
    ];
    ui.planeBase.setAttribute('aria-label', planeText({
      count: plane.count,
      range: plane.range,
      axes: axisNames(state.slice),
      flat: state.dim === 1,
      handle: where,
      outside: Math.abs(handle.a - plane.range.cx) > plane.range.half || (state.dim > 1 && Math.abs(handle.b - plane.range.cy) > plane.range.half),
      near: near && `where the dots nearest to it are ${near}`,
      selected: state.selected !== null && state.test ? testDigitName(state.test, state.selected, words) : null,
      layers: shown,
      message: state.test ? null : `waiting for the test ${words.digits}’ encodings`,
      words,
    }));
    ui.decoded.setAttribute('aria-label', `The ${words.digit} decoded at ${where}${near ? `, where the test ${words.digits} nearest on the plane are ${near}` : ''}`);
    if (unspoken) ui.spoken.textContent = where;
    unspoken = false;
  }
  const descriptions = throttle(describe, DESCRIBE_EVERY_MS, { onError: report });

  // ---- from the store to the page ----

  function newDimension(state, previousDim) {
    const { dim } = state;
    const options = Array.from({ length: dim }, (_, d) => `<option value="${d}">${zName(d)}</option>`).join('');
    ui.dimX.innerHTML = options;
    ui.dimY.innerHTML = options;
    ui.slice.hidden = dim <= 2;
    plane.setOptions({ flat: dim === 1 });
    // Until the new model's encodings arrive the old dots would sit in the wrong space.
    if (previousDim !== null) plane.setMessage(`New model: encoding the test ${state.words.digits}…`);
  }

  let shownAxisNames = null;
  function showSliceControls({ slice }) {
    const pca = slice.mode === 'pca';
    ui.pca.checked = pca;
    ui.dimX.disabled = ui.dimY.disabled = pca;
    if (!pca) {
      ui.dimX.value = String(slice.dimX);
      ui.dimY.value = String(slice.dimY ?? 0);
    }
    ui.slice.dataset.mode = slice.mode;
    const names = axisNames(slice);
    // Setting options redraws every dot: only when the names change, not on each refresh's new base.
    if (names.join() !== shownAxisNames) plane.setOptions({ axisNames: names });
    shownAxisNames = names.join();
  }

  function showSliceNote(state) {
    const text = sliceNoteText(state);
    if (text !== null) ui.sliceNote.textContent = text;
  }

  /** The selected test digit last spoken (the selection is redrawn as training goes, but said once). */
  let spokenSelection = null;

  function showSelected(state) {
    const { selected: i, images } = state;
    plane.setSelected(i);
    ui.selected.hidden = i === null;
    if (i === null) {
      spokenSelection = null;
      return;
    }
    ui.selected.dataset.index = String(i);
    if (images) drawDigit(ui.selectedImage, images, i);
    else clearDigit(ui.selectedImage);
    ui.selectedText.textContent = selectedText(state);
    ui.selectedImage.setAttribute('aria-label', selectedText(state, { short: true }));
    if (i !== spokenSelection) ui.spoken.textContent = `Selected: ${testDigitName(state.test, i, state.words)}`;
    spokenSelection = i;
  }

  function showHandle(state) {
    const { handle } = state;
    plane.setHandle(handle.a, handle.b);
    const text = coordsText(state);
    ui.coords.textContent = text;
    ui.coords.dataset.z = vectorData(handle.z);
    if (handle.time !== null) unspoken = true;
    // The user's moves always decode; the others (a new plane, a new model) once there is a model
    // whose encodings have arrived.
    if (handle.time !== null || state.test) decodeQueue.submit({ z: handle.z, time: handle.time });
  }

  showLegend(store.get().words);
  let previousDim = null;
  const unsubscribe = store.subscribe((state, changed) => {
    const has = (...keys) => keys.some((k) => changed.has(k));
    if (has('words')) {
      showLegend(state.words);
      describeDecodeTime();
    }
    if (!state.slice) return;
    if (has('dim')) newDimension(state, previousDim);
    previousDim = state.dim;
    if (has('slice')) showSliceControls(state);
    if (has('slice', 'test') && state.test) {
      const { test, slice } = state;
      plane.setPoints(slice.project(test.mu, test.n), test.labels, slice.projectCovariance(test.logVar, test.n));
    }
    if (has('slice', 'yours')) for (const kind of /** @type {const} */ (['upload', 'drawing'])) plane.setMarker(kind, markerFor(kind, state.yours[kind], state.slice));
    if (has('slice', 'segment')) plane.setPath(pathOnPlane(state.segment, state.slice));
    if (has('focus')) plane.setOptions({ focus: state.focus });
    if (has('layers')) plane.setLayers(Object.values(state.layers).filter(Boolean).sort((p, q) => p.z - q.z));
    if (has('dim', 'slice', 'selected', 'test', 'words')) showSliceNote(state);
    if (has('selected', 'images', 'test', 'words')) showSelected(state);
    if (has('handle')) showHandle(state);
    if (has('handle', 'test', 'slice', 'selected', 'layers', 'yours', 'segment', 'words')) descriptions.request();
  });

  // ---- from the page to the store ----

  function sliceFromControls(event) {
    const state = store.get();
    if (!state.slice) return;
    if (ui.pca.checked) {
      store.update(withPrincipalAxes(state)); // nothing before the first encodings arrive
    } else {
      const previous = /** @type {[number, number]} */ ([state.slice.dimX ?? 0, state.slice.dimY ?? 1]);
      const changed = event?.target === ui.dimX ? 'x' : 'y';
      const [x, y] = chooseDims(previous, Number(ui.dimX.value), Number(ui.dimY.value), changed);
      store.update(withDims(state, x, y));
    }
    showSliceControls(store.get()); // also undoes a choice the store refused
  }

  const pickEnd = (end) => () => {
    const source = endFromTest(store.get());
    if (source) store.update((s) => setEnd(s, end, source));
  };

  const off = listen([
    [ui.ellipses, 'change', () => plane.setOptions({ ellipses: ui.ellipses.checked })],
    [ui.fixedAxes, 'change', () => plane.setOptions({ fixedHalf: ui.fixedAxes.checked ? 3 : null })],
    [ui.dimX, 'change', sliceFromControls],
    [ui.dimY, 'change', sliceFromControls],
    [ui.pca, 'change', sliceFromControls],
    [ui.selectedA, 'click', pickEnd('A')],
    [ui.selectedB, 'click', pickEnd('B')],
    [ui.selectedClear, 'click', () => store.update((s) => selectDigit(s, null))],
  ]);

  return {
    decodeMs,
    /** Viewport position of test digit `index` on the plane (for tests that click a point). */
    pointOnPlane: (index) => plane.clientPoint(index),
    idle: () => decodeQueue.idle(),
    destroy() {
      unsubscribe();
      descriptions.stop();
      off();
      plane.destroy();
    },
  };
}
