// The explorer's words and numbers, as the page shows them: pure functions of the store's state.
// What the data are called and what their labels name come from `words` (www/words.js: MNIST's
// digits, or the visitor's images and their classes).

import { MNIST_WORDS, classPlural, className, inWords, labelPhrase } from '../words.js';

const SUBSCRIPTS = '₀₁₂₃₄₅₆₇₈₉';

/** "z₁" for dimension 0: dimensions are numbered from 1 on the page, as in the paper. */
export function zName(d) {
  return `z${String(d + 1).replace(/\d/g, (c) => SUBSCRIPTS[c])}`;
}

/** A number for the page: two decimals, a true minus sign, no "−0.00". */
export function fmt(v) {
  return v.toFixed(2).replace(/^-/, '−').replace(/^−0\.00$/, '0.00');
}

/** μ in parentheses, at most its first 8 values. */
export function muText(mu) {
  const shown = Array.from(mu.slice(0, 8), fmt).join(', ');
  return mu.length > 8 ? `(${shown}, … ${mu.length} values)` : `(${shown})`;
}

/** A vector for a data attribute (tests read it): four decimals, comma-separated. */
export function vectorData(v) {
  return Array.from(v, (x) => x.toFixed(4)).join(',');
}

/**
 * Names of the plane's horizontal and vertical axes.
 * @returns {[string, string]}
 */
export function axisNames(slice) {
  if (slice.mode === 'pca') return ['PC 1', 'PC 2'];
  return [zName(slice.dimX), slice.dimY === null ? '' : zName(slice.dimY)];
}

/** Where the handle is: all of z up to 4 dimensions, else its coordinates along the plane. */
export function coordsText({ dim, slice, handle }) {
  const { z } = handle;
  if (dim <= 4) return `z = (${Array.from(z, fmt).join(', ')})`;
  if (slice.mode === 'pca') return `PC 1 = ${fmt(handle.a)}, PC 2 = ${fmt(handle.b)}`;
  return `${zName(slice.dimX)} = ${fmt(z[slice.dimX])}, ${zName(slice.dimY)} = ${fmt(z[slice.dimY])}`;
}

/** What the plane is, for D > 2 (null for D ≤ 2, where the plane is the whole space). */
export function sliceNoteText({ dim, slice, selected, test, words = MNIST_WORDS }) {
  if (!dim || dim <= 2) return null;
  const phrase = selected !== null && test ? labelPhrase(words, test.labels[selected]) : null;
  const where =
    selected !== null
      ? `those of the selected test ${words.digit} #${selected}${phrase ? ` (${phrase})` : ''}`
      : `those of the selected point (click a test ${words.digit} to select one; until then 0, the prior’s mean)`;
  const span = slice.mode === 'pca' ? 'the two principal axes of the test encodings' : `${zName(slice.dimX)} and ${zName(slice.dimY)}`;
  return `The latent space has ${dim} dimensions, so the plane is a 2-D slice through it spanned by ${span}; the other coordinates stay at ${where}.`;
}

/**
 * "test digit #12, labelled 9" ("test image #12, labelled circles" on the visitor's images; "test
 * image #12" for one without a label).
 * @param {import('../words.js').Words} [words]
 */
export function testDigitName(test, i, words = MNIST_WORDS) {
  const name = className(words, test.labels[i]);
  return name !== null ? `test ${words.digit} #${i}, labelled ${name}` : `test ${words.digit} #${i}`;
}

/** The selected test digit's caption (`short`: without its μ). */
export function selectedText({ selected: i, test, dim, words = MNIST_WORDS }, { short = false } = {}) {
  const name = testDigitName(test, i, words);
  const capitalised = `${name[0].toUpperCase()}${name.slice(1)}`;
  return short ? capitalised : `${capitalised}. μ = ${muText(test.mu.subarray(i * dim, (i + 1) * dim))}`;
}

/**
 * The explorer's status line after a refresh.
 * @param {import('../words.js').Words} [words]
 */
export function statusText(n, step, dim, words = MNIST_WORDS) {
  const at = step ? ` at training step ${step.toLocaleString('en')}` : '';
  return `${n.toLocaleString('en')} test ${words.digits} encoded${at}; latent dimension ${dim}.`;
}

/**
 * What the true posterior's panel is of (controllers/posterior.js).
 * @param {'test'|'upload'|'drawing'} source
 * @param {{text: string}|null} digit the digit of that source, if there is one
 * @param {import('../words.js').Words} [words]
 */
export function posteriorCaption(dim, source, digit, side, words = MNIST_WORDS) {
  if (!(dim >= 2)) return 'The posterior needs a latent space of at least two dimensions.';
  if (!digit) {
    if (source === 'test') return inWords('Click a test digit on the plane to see its posterior (or upload or draw one, and pick it above).', words);
    return inWords(`No ${source} yet: ${source === 'upload' ? 'upload' : 'draw'} a digit below.`, words);
  }
  const where = dim > 2 ? ' On this plane through the latent space only: the posterior restricted to the plane, normalised there.' : '';
  return `Of ${digit.text}, on a ${side}×${side} grid over the plane as shown.${where}`;
}

/**
 * What the labels of the test digits nearest to a point say, e.g. "mostly 7s (8 of the 10
 * nearest test digits)", or on the visitor's images "mostly “circles” (8 of the 10 nearest test
 * images)"; null when there are none.
 * @param {Iterable<number> & ArrayLike<number>} labels
 * @param {import('../words.js').Words} [words]
 */
export function nearText(labels, words = MNIST_WORDS) {
  const n = labels.length;
  if (!n || !Array.prototype.some.call(labels, (l) => className(words, l) !== null)) return null;
  const counts = new Map();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  const [[top, most], ...rest] = [...counts].sort((p, q) => q[1] - p[1] || p[0] - q[0]);
  const nearest = `nearest test ${words.digits}`;
  const of = `${most} of the ${n} ${nearest}`;
  if (most === n) return `among ${classPlural(words, top)} (all ${n} ${nearest})`;
  if (most * 2 > n) return `mostly ${classPlural(words, top)} (${of})`;
  const names = [top, ...rest.slice(0, 2).map(([l]) => l)].map((l) => classPlural(words, l));
  return `between ${names.slice(0, -1).join(', ')} and ${names.at(-1)} (the ${n} ${nearest})`;
}

/**
 * The latent plane's text alternative: what it shows and where the handle is.
 * @param {{count: number, range: {cx: number, cy: number, half: number}, axes: string[], flat: boolean,
 *          handle: string, outside: boolean, near: string|null, selected: string|null, layers: string[],
 *          message: string|null, words?: import('../words.js').Words}} plane  `outside`: the handle lies
 *   beyond the part shown (drawn at its edge)
 */
export function planeText({ count, range, axes, flat, handle, outside, near, selected, layers, message, words = MNIST_WORDS }) {
  if (message) return `The latent plane: ${message}`;
  const span = (c) => `from ${fmt(c - range.half)} to ${fmt(c + range.half)}`;
  const over = flat ? `${axes[0]} ${span(range.cx)}` : `${axes[0]} ${span(range.cx)} and ${axes[1]} ${span(range.cy)}`;
  const dots = words.labelled ? 'dots coloured by their label' : 'dots of one colour (the images have no labels)';
  const parts = [`The latent plane, ${over}: ${count.toLocaleString('en')} test ${words.digits}' encodings μ as ${dots}`];
  parts.push(`the handle at ${handle}${outside ? ', beyond the part shown (drawn at its edge)' : ''}${near ? `, ${near}` : ''}`);
  if (selected) parts.push(`selected: ${selected}`);
  if (layers.length) parts.push(`also shown: ${layers.join(', ')}`);
  return `${parts.join('; ')}.`;
}
