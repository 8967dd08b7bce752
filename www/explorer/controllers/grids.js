// The grids of the paper's figures: the learned manifold (figure 4), decoded over an n×n grid of
// the plane evenly spaced in probability under the prior (z = Φ⁻¹ of a uniform grid, through the
// base the plane keeps), and samples from the prior (figure 5),
// whose z stay fixed until the user asks for new ones, so they can be watched as the model learns.
//
// Reads: dim, slice (the manifold's plane and base), test (a new model), words.
// Asks for nothing: the grid size and the samples' z are its own.

import { drawDigits, WHITE_ON_BLACK } from '../../views/digits.js';
import { latestOnly } from '../schedule.js';
import { standardNormal } from '../gaussian.js';
import { planeGrid } from '../geometry.js';
import { listen } from './listen.js';

export const SAMPLE_COUNT = 64;
const SAMPLE_COLUMNS = 8;
/** The explorer's grids: one canvas pixel per image pixel, CSS scales them up. */
const GRID = { ...WHITE_ON_BLACK, scale: 1, gap: 0 };

/**
 * @param {import('../layout.js').GridsRefs} ui the grids part's elements (layout.js)
 * @param {{store: import('../store.js').ExplorerStore, client: import('../../client.js').VaeClient,
 *          report: (error: unknown) => void}} context
 */
export function mountGrids(ui, { store, client, report }) {
  let manifoldN = Number(ui.manifoldN.value);
  let sampleZ = null; // Float32Array SAMPLE_COUNT×D

  const quantiles = new Map(); // n -> Float32Array n, Φ⁻¹((k + ½)/n): the same for every model
  async function quantilesOf(n) {
    if (!quantiles.has(n)) quantiles.set(n, await client.quantiles(n));
    return quantiles.get(n);
  }

  const drawn = { manifold: '', samples: false }; // what the canvases show: the manifold's grid in words

  /** The two grids' text alternatives, in the data's words (again when those change). */
  function describe() {
    const { digits } = store.get().words;
    if (drawn.manifold) ui.manifold.setAttribute('aria-label', `The learned manifold: the ${digits} the decoder draws over ${drawn.manifold}, evenly spaced in probability under the prior`);
    if (drawn.samples) ui.samples.setAttribute('aria-label', `${SAMPLE_COUNT} ${digits} decoded from z drawn from the prior N(0, I), in ${SAMPLE_COUNT / SAMPLE_COLUMNS} rows of ${SAMPLE_COLUMNS}`);
  }

  const manifoldQueue = latestOnly(async (n) => {
    const { slice, dim } = store.get();
    if (!slice) return;
    const q = await quantilesOf(n);
    // A 1-D latent space has a row of n digits, not a grid.
    const count = dim === 1 ? n : n * n;
    const images = await client.decode(dim === 1 ? q : planeGrid(slice, q), count);
    if (slice !== store.get().slice) return; // a newer plane's grid is on its way
    drawDigits(ui.manifold, images, count, n, GRID);
    ui.manifold.dataset.n = String(n);
    drawn.manifold = dim === 1 ? `a row of ${n} values of z` : `a grid of ${n}×${n} values of z`;
    describe();
    ui.manifold.dataset.updates = String(Number(ui.manifold.dataset.updates ?? 0) + 1);
  }, report);

  const samplesQueue = latestOnly(async () => {
    const { dim } = store.get();
    if (!sampleZ || sampleZ.length !== SAMPLE_COUNT * dim) return;
    const images = await client.decode(sampleZ, SAMPLE_COUNT);
    drawDigits(ui.samples, images, SAMPLE_COUNT, SAMPLE_COLUMNS, GRID);
    drawn.samples = true;
    describe();
    ui.samples.dataset.updates = String(Number(ui.samples.dataset.updates ?? 0) + 1);
  }, report);

  const unsubscribe = store.subscribe((state, changed) => {
    if (changed.has('words')) describe();
    if (changed.has('dim') && state.dim) sampleZ = standardNormal(SAMPLE_COUNT * state.dim);
    if (!state.test) return; // until the encodings arrive (the first refresh) there is nothing to show
    if (changed.has('test') || changed.has('slice')) manifoldQueue.submit(manifoldN);
    if (changed.has('test')) samplesQueue.submit(null);
  });

  const off = listen([
    [ui.manifoldN, 'input', () => {
      manifoldN = Number(ui.manifoldN.value);
      ui.manifoldNOut.value = String(manifoldN);
      manifoldQueue.submit(manifoldN);
    }],
    [ui.newSamples, 'click', () => {
      const { dim } = store.get();
      if (!dim) return;
      sampleZ = standardNormal(SAMPLE_COUNT * dim);
      samplesQueue.submit(null);
    }],
  ]);

  return {
    idle: () => Promise.all([manifoldQueue.idle(), samplesQueue.idle()]),
    destroy() {
      unsubscribe();
      off();
    },
  };
}
