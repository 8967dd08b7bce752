// Repair a digit: a digit (the test digit selected on the plane, or the user's drawing or upload)
// seen through a corruption the visitor picks or paints, repaired by conditional inference under
// the model (client.repair, src/repair/): the repaired digit, eight repairs drawn from p(x | y),
// where they disagree, log p(y), and the error on what had to be inferred. Redone when the
// digit, the corruption, the method or the model changes (the latest request wins; a model that
// moved on while the panel was out of view is caught up with when it comes back).
//
// Reads: images, selected, yours, test (a new model state), dim, words. Asks for nothing.

import { drawDigit, drawDigits, WHITE_ON_BLACK, PIXELS, SIDE } from '../../views/digits.js';
import { describeLatent, drawLatent, drawSeen, drawSpread } from '../repair-view.js';
import { latestOnly } from '../schedule.js';
import { testDigitName } from '../format.js';
import { listen } from './listen.js';
import { mulberry32 } from '../../seeded.js';
import { inWords } from '../../words.js';

/**
 * The missing-pixel presets: which pixels (row r, column c) each hides. The page makes its masks
 * itself, since it draws them and the brush extends them, and sends the flags; src/repair/'s
 * own presets serve the native benchmark.
 */
const HIDES = {
  bottomHalf: (r) => r >= SIDE / 2,
  topHalf: (r) => r < SIDE / 2,
  leftHalf: (r, c) => c < SIDE / 2,
  rightHalf: (r, c) => c >= SIDE / 2,
  centreSquare: (r, c) => r >= 7 && r < 21 && c >= 7 && c < 21,
};
const RANDOM = { random50: 0.5, random80: 0.8, random90: 0.9 };
/** The other corruptions, as protocol.js's Corruption. */
const OTHERS = {
  flip: { kind: 'flip', rate: 0.2 },
  noise: { kind: 'noise', sigma: 0.3 },
  low7: { kind: 'lowResolution', block: 4 },
  low14: { kind: 'lowResolution', block: 2 },
};
/** The brush hides the pixels within this many pixels of the pointer. */
const BRUSH_RADIUS = 1.5;
/** The corruptions' noise and the random masks are seeded, so the same choice gives the same y. */
const SEED = 7;
/**
 * While the model trains, the repair follows it at most this often: each one costs the worker
 * what a few training steps do (a grid of 4,096 decodes, or 1,000 importance samples).
 */
const MODEL_EVERY_MS = 3000;
/** A chain's kept states are revealed one after another over this long. */
const CHAIN_REVEAL_MS = 1500;

/** 784 flags, true where a missing-pixel preset hides the pixel; null for the other corruptions. */
export function presetHidden(name) {
  if (HIDES[name]) return Array.from({ length: PIXELS }, (_, i) => HIDES[name](Math.floor(i / SIDE), i % SIDE));
  if (RANDOM[name]) {
    const next = mulberry32(SEED);
    return Array.from({ length: PIXELS }, () => next() < RANDOM[name]);
  }
  return null;
}

/**
 * @param {import('../layout.js').RepairRefs} ui the repair part's elements (layout.js)
 * @param {{store: import('../store.js').ExplorerStore, client: import('../../client.js').VaeClient,
 *          report: (error: unknown) => void}} context
 */
export function mountRepair(ui, { store, client, report }) {
  let hidden = presetHidden(ui.corruption.value); // the missing pixels, or null
  let painting = false;
  // Nothing is repaired while the panel is out of view (its first sight catches up): the
  // observer reports the panel's visibility once at once.
  let visible = false;
  let stale = true;
  let modelRunAt = -Infinity;
  let modelTimer = 0;

  /** The clean digit the panel repairs, and what to call it; null when there is none yet. */
  function digit() {
    const state = store.get();
    const source = ui.source.value;
    if (source === 'drawing' || source === 'upload') {
      const item = state.yours[source];
      return item ? { pixels: item.pixels, name: source === 'drawing' ? 'your drawing' : item.name } : null;
    }
    if (!state.images) return null;
    const i = state.selected ?? 0;
    const name = `test ${state.words.digit} #${i}`;
    return { pixels: state.images.subarray(i * PIXELS, (i + 1) * PIXELS), name, spoken: state.test ? testDigitName(state.test, i, state.words) : name };
  }

  function corruption() {
    const other = OTHERS[ui.corruption.value];
    return other ?? { kind: 'missing', seen: hidden.map((h) => !h) };
  }

  const queue = latestOnly(async () => {
    const clean = digit();
    if (!clean) {
      const waiting = ui.source.value === 'test' ? 'Waiting for the test digits…' : `Draw or upload a digit above to repair ${ui.source.value === 'drawing' ? 'your drawing' : 'your upload'}.`;
      ui.note.textContent = inWords(waiting, store.get().words);
      return;
    }
    const method = ui.method.value;
    const started = performance.now();
    const r = await client.repair(clean.pixels, corruption(), method, { scored: true, seed: SEED });
    const ms = performance.now() - started;
    drawSeen(ui.observed, r.observed, OTHERS[ui.corruption.value] ? null : hidden);
    drawDigit(ui.repaired, r.mean);
    drawSpread(ui.spread, r.std);
    drawDigit(ui.truth, clean.pixels);
    drawDigits(ui.imputations, r.imputations, 8, 8, { ...WHITE_ON_BLACK, scale: 1, gap: 2, gapColour: [255, 255, 255] });
    showLatent(r, method !== 'grid' && method !== 'importanceSampling');
    const fixed = (v, d) => (Number.isFinite(v) ? v.toFixed(d) : '–');
    ui.evidence.textContent = r.logEvidence === null ? '– (a chain)' : `${fixed(r.logEvidence, 1)} nats`;
    const chain = r.acceptanceRate !== null;
    ui.qualityName.textContent = chain ? 'proposals accepted' : r.effectiveSampleSize !== null ? 'effective samples' : 'grid points';
    ui.quality.textContent = chain ? `${(100 * r.acceptanceRate).toFixed(0)} %` : r.effectiveSampleSize !== null ? fixed(r.effectiveSampleSize, 0) : '64 × 64';
    ui.mse.textContent = r.truth ? `${fixed(r.truth.mse, 4)} (${r.truth.pixels} pixels)` : '–';
    ui.ms.textContent = `${ms.toFixed(0)} ms`;
    const methodName = ui.method.selectedOptions[0].textContent;
    ui.note.textContent = `${capitalised(clean.name)}, repaired by ${methodName}.`;
    describeRepair(clean.spoken ?? clean.name, methodName);
    const root = ui.part;
    root.dataset.updates = String(Number(root.dataset.updates ?? 0) + 1);
    root.dataset.logEvidence = r.logEvidence === null ? '' : String(r.logEvidence);
    root.dataset.mse = r.truth ? String(r.truth.mse) : '';
    root.dataset.ms = ms.toFixed(1);
  }, (error) => {
    ui.note.textContent = `The repair failed: ${error instanceof Error ? error.message : error}`;
    report(error);
  });

  /** The four digits' and the eight repairs' text alternatives: which digit, seen how, repaired how. */
  function describeRepair(name, methodName) {
    const seen = ui.corruption.selectedOptions[0].textContent;
    ui.observed.setAttribute('aria-label', `${capitalised(name)}, as seen: ${seen}; hidden pixels in blue`);
    ui.repaired.setAttribute('aria-label', `${capitalised(name)}, repaired by ${methodName}: E[x | y], the mean of the repairs`);
    ui.spread.setAttribute('aria-label', `Where the repairs of ${name} disagree: brighter where they differ more`);
    ui.truth.setAttribute('aria-label', `The ${store.get().words.digit} itself, before any of it was hidden: ${name}`);
    ui.imputations.setAttribute('aria-label', `Eight repairs of ${name}, drawn from p(x | y) by ${methodName}`);
  }

  const repairNow = () => queue.submit(null);

  let reveal = 0;
  /** Where z is (repair-view.js's drawLatent); a chain's states revealed step by step. */
  function showLatent(r, chain) {
    cancelAnimationFrame(reveal);
    const dim = r.qMu.length;
    const latent = { dim, posterior: r.posterior, qMu: r.qMu, qLogVar: r.qLogVar, z: r.z, chain };
    ui.latent.setAttribute('aria-label', describeLatent(latent));
    const states = Math.floor(r.z.length / dim);
    ui.latent.dataset.states = String(states);
    if (!chain) {
      drawLatent(ui.latent, latent);
      ui.latent.dataset.shown = String(states);
      return;
    }
    const began = performance.now();
    const frame = () => {
      const shown = Math.min(states, Math.ceil((states * (performance.now() - began)) / CHAIN_REVEAL_MS));
      drawLatent(ui.latent, { ...latent, shown });
      ui.latent.dataset.shown = String(shown);
      if (shown < states) reveal = requestAnimationFrame(frame);
    };
    frame();
  }

  /** The model moved on: the repair follows, at most every MODEL_EVERY_MS. */
  function modelMoved() {
    clearTimeout(modelTimer);
    const wait = modelRunAt + MODEL_EVERY_MS - performance.now();
    if (wait > 0) {
      modelTimer = setTimeout(modelMoved, wait);
      return;
    }
    modelRunAt = performance.now();
    repairNow();
  }

  /** The grid needs a 2-D latent space: offered only there, importance sampling otherwise. */
  function fitMethods(dim) {
    const grid = [...ui.method.options].find((option) => option.value === 'grid');
    grid.disabled = dim !== 2;
    if (grid.disabled && ui.method.value === 'grid') ui.method.value = 'importanceSampling';
  }

  /** Hides the pixels near the pointer (switching to the brush, from the missing pixels in use). */
  function paint(event) {
    const box = ui.observed.getBoundingClientRect();
    const x = ((event.clientX - box.left) / box.width) * SIDE;
    const y = ((event.clientY - box.top) / box.height) * SIDE;
    if (ui.corruption.value !== 'brush') {
      hidden = hidden ?? new Array(PIXELS).fill(false);
      ui.corruption.value = 'brush';
    }
    for (let i = 0; i < PIXELS; i++) {
      const dx = (i % SIDE) + 0.5 - x;
      const dy = Math.floor(i / SIDE) + 0.5 - y;
      if (dx * dx + dy * dy <= BRUSH_RADIUS * BRUSH_RADIUS) hidden[i] = true;
    }
    repairNow();
  }

  const visibility = new IntersectionObserver((entries) => {
    visible = entries.some((entry) => entry.isIntersecting);
    if (visible && stale) {
      stale = false;
      repairNow();
    }
  });
  visibility.observe(ui.part);

  const unsubscribe = store.subscribe((state, changed) => {
    if (changed.has('dim') && state.dim) fitMethods(state.dim);
    const ours = ui.source.value === 'test' ? changed.has('selected') || changed.has('images') : changed.has('yours');
    if (!ours && !changed.has('test') && !changed.has('words')) return;
    if (!visible) stale = true;
    else if (ours) repairNow();
    else modelMoved();
  });

  const off = listen([
    [ui.source, 'change', repairNow],
    [ui.method, 'change', repairNow],
    [ui.corruption, 'change', () => {
      // The brush starts from nothing hidden; a preset replaces what was painted.
      hidden = ui.corruption.value === 'brush' ? new Array(PIXELS).fill(false) : presetHidden(ui.corruption.value);
      repairNow();
    }],
    [ui.observed, 'pointerdown', (event) => {
      painting = true;
      ui.observed.setPointerCapture?.(event.pointerId);
      paint(event);
    }],
    [ui.observed, 'pointermove', (event) => {
      if (painting) paint(event);
    }],
    [ui.observed, 'pointerup', () => {
      painting = false;
    }],
    [ui.observed, 'pointercancel', () => {
      painting = false;
    }],
  ]);

  if (store.get().dim) fitMethods(store.get().dim);

  return {
    idle: () => queue.idle(),
    destroy() {
      unsubscribe();
      visibility.disconnect();
      clearTimeout(modelTimer);
      off();
    },
  };
}

function capitalised(text) {
  return `${text[0].toUpperCase()}${text.slice(1)}`;
}
