// The explorer's shared state, in one small store that notifies (Redux-like, no framework), and
// the transitions that several controllers ask for. Pure: no DOM, no client.
//
//   const store = createStore(initialState());
//   store.get()                  the current state (frozen; replace values, never mutate them)
//   store.update(patch)          patch: an object of keys to replace, or state => object
//   store.subscribe(listener)    listener(state, changed: Set<key>); returns the unsubscribe
//
// A key counts as changed when its new value is not the old one (Object.is), so every value is
// replaced, never mutated: a Slice is copied before it changes (slice.copy()), a test set is a new
// object per encoding. An update made while listeners run (a controller reacting to another's
// change) is applied at once and notified after the current round, so every listener sees every
// change, in order, and always reads the newest state.
//
// The transitions below return patches: `store.update(selectDigit(store.get(), i, now))`.

import { principalAxes } from './pca.js';
import { Slice } from './slice.js';
import { MNIST_WORDS, className } from '../words.js';

/**
 * @typedef {object} ExplorerState
 * @property {import('../words.js').Words} words what the data are called and what their labels
 *   name (www/words.js: MNIST's digits, or the visitor's images and their classes)
 * @property {number|null} dim latent dimension D
 * @property {Slice|null} slice the plane through the latent space
 * @property {{mu: Float32Array, logVar: Float32Array, labels: Uint8Array, n: number}|null} test
 *   the test digits' encodings under the current model (n×D each)
 * @property {Float32Array|null} images the test digits themselves, n×784 in [0, 1], same order
 * @property {number|null} selected index of the selected test digit
 * @property {{a: number, b: number, z: Float32Array, time: number|null}|null} handle plane point,
 *   latent vector under it, and when the user moved it there (performance.now(); null: not the user)
 * @property {{upload: Yours|null, drawing: Yours|null}} yours
 * @property {{A: End|null, B: End|null}} ends the interpolation's ends, as the user picked them
 * @property {{a: Float32Array, b: Float32Array, kind?: 'linear'|'slerp', line?: Float32Array, steps?: Float32Array}|null} segment
 *   μ of the two ends under the current model, and the interpolation's path between them: a fine
 *   polyline (m×D) and the decoded steps (k×D)
 * @property {number} step the training step last reported
 * @property {{cx: number, cy: number, half: number}|null} view the plane's visible square
 * @property {{cx: number, cy: number, half: number}|null} focus a visible square a feature asks
 *   the plane for (the true posterior's zoom), before its fixed axes and the data's extent
 * @property {Record<string, import('./latent-plane.js').Layer & {z: number}|null>} layers fields
 *   the plane draws under its dots, by name, lowest z first
 *
 * @typedef {{pixels: Float32Array, name?: string, mu: Float32Array|null, logVar: Float32Array|null}} Yours
 *   a digit of the user's: its 28×28 input and (once encoded) its posterior
 * @typedef {{pixels: Float32Array|null, testIndex: number|null, text: string}} End
 *   an interpolation end: the user's digit (pixels, encoded again under each model) or a test digit
 */

/** @typedef {ReturnType<typeof createStore<ExplorerState>>} ExplorerStore */

/** @returns {ExplorerState} */
export function initialState(words = MNIST_WORDS) {
  return {
    words,
    dim: null,
    slice: null,
    test: null,
    images: null,
    selected: null,
    handle: null,
    yours: { upload: null, drawing: null },
    ends: { A: null, B: null },
    segment: null,
    step: 0,
    view: null,
    focus: null,
    layers: {},
  };
}

/**
 * @template S
 * @param {S} initial
 * @param {{onError?: (error: unknown) => void}} [options] where a listener's exception goes (the
 *   other listeners still run)
 */
export function createStore(initial, { onError = (e) => console.error(e) } = {}) {
  let state = Object.freeze({ ...initial });
  const listeners = new Set();
  let pending = null; // Set of keys changed and not yet notified
  let notifying = false;

  /** @param {Partial<S> | null | ((state: S) => Partial<S> | null | undefined)} patch */
  function update(patch) {
    const changes = typeof patch === 'function' ? patch(state) : patch;
    if (!changes) return;
    const changed = Object.keys(changes).filter((key) => {
      if (!(key in state)) throw new Error(`the explorer's state has no "${key}"`);
      return !Object.is(changes[key], state[key]);
    });
    if (!changed.length) return;
    state = Object.freeze({ ...state, ...changes });
    pending ??= new Set();
    for (const key of changed) pending.add(key);
    if (notifying) return;
    notifying = true;
    try {
      while (pending) {
        const keys = pending;
        pending = null;
        for (const listener of [...listeners]) {
          try {
            listener(state, keys);
          } catch (error) {
            onError(error);
          }
        }
      }
    } finally {
      notifying = false;
    }
  }

  return {
    /** @returns {S} */
    get: () => state,
    update,
    /** @param {(state: S, changed: Set<string>) => void} listener */
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

// ---- transitions ----

/** μ of test digit `i` (a view into the test set's array). */
export function testMu(test, dim, i) {
  return test.mu.subarray(i * dim, (i + 1) * dim);
}

/** The handle at plane point (a, b) of `slice`. */
export function handleAt(slice, a, b, time = null) {
  return { a, b, z: slice.toLatent(a, b), time };
}

/**
 * A latent space of dimension `dim` (nothing if it is the current one): the plane spans z₁, z₂
 * through the origin, nothing is selected, the handle is at the origin, and every μ computed
 * under the old model is forgotten (the user's digits and the interpolation are encoded again).
 */
export function withDimension(state, dim) {
  if (dim === state.dim) return {};
  const slice = new Slice(dim);
  const forget = (item) => item && { ...item, mu: null, logVar: null };
  return {
    dim,
    slice,
    test: null,
    selected: null,
    handle: handleAt(slice, 0, 0),
    yours: { upload: forget(state.yours.upload), drawing: forget(state.yours.drawing) },
    segment: null,
    focus: null,
    layers: {},
  };
}

/**
 * New test encodings `{mu, logVar, labels}` (from client.encodeTest): the dimension follows
 * them, principal axes are computed again, the selected digit stays the plane's base, and the
 * handle keeps its plane point (its z follows the base).
 */
export function withEncodings(state, { mu, logVar, labels }) {
  const n = labels.length;
  const dim = mu.length / n;
  const fresh = withDimension(state, dim);
  const next = { ...state, ...fresh };
  const test = { mu, logVar, labels, n };
  const selected = next.selected !== null && next.selected < n ? next.selected : null;
  let slice = next.slice;
  if (slice.mode === 'pca' || selected !== null) {
    slice = slice.copy();
    if (slice.mode === 'pca') slice.setAxes(...pcaAxes(test, dim, slice));
    if (selected !== null) slice.setBase(testMu(test, dim, selected));
  }
  return {
    ...fresh,
    test,
    selected,
    slice,
    handle: handleAt(slice, next.handle.a, next.handle.b),
  };
}

/** The handle moved to plane point (a, b); `time`: when the user moved it (null: not the user). */
export function moveHandle(state, a, b, time = null) {
  return state.slice ? { handle: handleAt(state.slice, a, b, time) } : {};
}

/** A new plane; the handle keeps its latent vector's coordinates along the new axes. */
export function withSlice(state, slice) {
  const [a, b] = slice.coords(state.handle.z);
  return { slice, handle: handleAt(slice, a, b) };
}

/** The plane spanned by latent dimensions x and y. */
export function withDims(state, x, y) {
  const slice = state.slice.copy();
  slice.setDims(x, y);
  return withSlice(state, slice);
}

/** The plane spanned by the test encodings' two principal axes (nothing before there are any). */
export function withPrincipalAxes(state) {
  if (!state.test) return {};
  const slice = state.slice.copy();
  slice.setAxes(...pcaAxes(state.test, state.dim, state.slice));
  return withSlice(state, slice);
}

/**
 * Selects test digit `index` (null: none): it becomes the plane's base (the coordinates the
 * plane does not show) and the handle jumps to it. Deselecting puts the base back at the origin.
 */
export function selectDigit(state, index, time = null) {
  const { test, dim } = state;
  if (!state.slice) return { selected: null };
  const slice = state.slice.copy();
  if (!test || index === null || index >= test.n) {
    slice.setBase(new Float32Array(dim));
    return { selected: null, slice, handle: handleAt(slice, state.handle.a, state.handle.b) };
  }
  const mu = testMu(test, dim, index);
  slice.setBase(mu);
  const [a, b] = slice.coords(mu);
  return { selected: index, slice, handle: handleAt(slice, a, b, time) };
}

/** Layer `name` of the plane is now `layer` (null: none). */
export function withLayer(state, name, layer) {
  return state.layers[name] === layer ? {} : { layers: { ...state.layers, [name]: layer } };
}

/** One of the user's digits changed (null: cleared). */
export function withYours(state, kind, item) {
  return { yours: { ...state.yours, [kind]: item } };
}

/** Interpolation end `end` ('A' or 'B') becomes `source` (see endFromYours, endFromTest). */
export function setEnd(state, end, source) {
  return { ends: { ...state.ends, [end]: source } };
}

/** An interpolation end from the user's upload or drawing, or null if there is none. */
export function endFromYours(state, kind) {
  const item = state.yours[kind];
  if (!item) return null;
  return { pixels: item.pixels, testIndex: null, text: kind === 'upload' ? item.name : 'drawing' };
}

/** An interpolation end from the selected test digit, or null if none is selected. */
export function endFromTest(state) {
  const { selected: i, test, images, words = MNIST_WORDS } = state;
  if (i === null || !test) return null;
  const pixels = images ? images.slice(i * 784, (i + 1) * 784) : null;
  const name = className(words, test.labels[i]);
  return { pixels, testIndex: i, text: `test #${i}${name !== null ? ` (${name})` : ''}` };
}

function pcaAxes(test, dim, slice) {
  const previous = slice.mode === 'pca' ? [slice.u, slice.v] : [];
  const { axes } = principalAxes(test.mu, test.n, dim, { previous });
  return [axes[0], axes[1]];
}
