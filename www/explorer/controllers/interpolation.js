// Interpolation: ten digits decoded along the straight line from μ_A to μ_B, or along the great
// circle through them (slerp), the two ends picked with the "Set as" buttons of the other
// features, and computed again under each new model.
//
// Reads: dim, test (a new model), ends, words.
// Asks for: segment (the ends' μ and the path between them, which the plane draws).

import { clearDigit, drawDigit, drawDigits, WHITE_ON_BLACK } from '../../views/digits.js';
import { latestOnly } from '../schedule.js';
import { interpolationPath } from '../geometry.js';
import { testMu } from '../store.js';
import { listen } from './listen.js';

/** Digits on the path, ends included. */
export const INTERPOLATION_STEPS = 10;
/** Points of the path the plane draws (a great circle projected on the plane is a curve). */
const LINE_POINTS = 61;

/**
 * @param {import('../layout.js').InterpolationRefs} ui the interpolation part's elements (layout.js)
 * @param {{store: import('../store.js').ExplorerStore, client: import('../../client.js').VaeClient,
 *          report: (error: unknown) => void}} context
 */
export function mountInterpolation(ui, { store, client, report }) {
  const shown = {
    A: { canvas: ui.interpA, caption: ui.interpAText },
    B: { canvas: ui.interpB, caption: ui.interpBText },
  };
  for (const end of ['A', 'B']) clearDigit(shown[end].canvas);

  /** μ of an interpolation end under the current model (null: not available). */
  async function endMu(end, state) {
    if (end.testIndex !== null) return state.test ? testMu(state.test, state.dim, end.testIndex).slice() : null;
    const { mu } = await client.encode(end.pixels, 1);
    return mu;
  }

  let path = null; // the path the strip shows: { kind, A, B } (the ends' texts)

  /** The strip's text alternative, in the data's words (again when those change). */
  function describe() {
    if (!path) return;
    const along = path.kind === 'slerp' ? 'great circle' : 'straight line';
    ui.strip.setAttribute('aria-label', `Ten ${store.get().words.digits} decoded along the ${along} from A (${path.A}) to B (${path.B}), from left to right`);
  }

  const queue = latestOnly(async () => {
    const state = store.get();
    const { A, B } = state.ends;
    if (!A || !B || !state.dim) return;
    const [muA, muB] = [await endMu(A, state), await endMu(B, state)];
    const { dim } = store.get();
    if (!muA || !muB || muA.length !== dim || muB.length !== dim) return;
    const kind = ui.slerp.checked ? 'slerp' : 'linear';
    const steps = interpolationPath(muA, muB, INTERPOLATION_STEPS, kind);
    store.update({ segment: { a: muA, b: muB, kind, steps, line: interpolationPath(muA, muB, LINE_POINTS, kind) } });
    const images = await client.decode(steps, INTERPOLATION_STEPS);
    drawDigits(ui.strip, images, INTERPOLATION_STEPS, INTERPOLATION_STEPS, { ...WHITE_ON_BLACK, scale: 1, gap: 2, gapColour: [255, 255, 255] });
    ui.strip.hidden = false;
    ui.stripEmpty.hidden = true;
    ui.strip.dataset.count = String(INTERPOLATION_STEPS);
    ui.strip.dataset.kind = kind;
    path = { kind, A: A.text, B: B.text };
    describe();
    ui.strip.dataset.updates = String(Number(ui.strip.dataset.updates ?? 0) + 1);
  }, report);

  function showEnd(end, source) {
    const { canvas, caption } = shown[end];
    if (source.pixels) drawDigit(canvas, source.pixels);
    else clearDigit(canvas);
    caption.textContent = `${end}: ${source.text}`;
    canvas.setAttribute('aria-label', `End ${end}: ${source.text}`);
    canvas.dataset.source = source.text;
  }

  let shownEnds = store.get().ends;
  const unsubscribe = store.subscribe((state, changed) => {
    if (changed.has('words')) describe();
    if (changed.has('ends')) {
      for (const end of ['A', 'B']) if (state.ends[end] && state.ends[end] !== shownEnds[end]) showEnd(end, state.ends[end]);
      shownEnds = state.ends;
      queue.submit(null);
    } else if (changed.has('test') && state.test) {
      queue.submit(null);
    }
  });

  const off = listen([[ui.slerp, 'change', () => queue.submit(null)]]);

  return {
    idle: () => queue.idle(),
    destroy() {
      unsubscribe();
      off();
    },
  };
}
