// Your digit: an image uploaded (picked, dropped anywhere on the page, or pasted) or drawn on the
// pad, made into an MNIST-style 28×28 input (preprocess.js), encoded, reconstructed, and put on
// the plane; either can be an interpolation end.
//
// Reads: dim, test (a new model: encode again), yours.
// Asks for: withYours (the input, then its μ and log σ²), setEnd.

import { DrawPad } from '../draw-pad.js';
import { clearDigit, drawDigit, drawFitted, drawPlaceholder } from '../../views/digits.js';
import { BlankImageError, preprocessRgba } from '../preprocess.js';
import { ImageInputError, filesOf, loadImageFile } from '../image-input.js';
import { latestOnly } from '../schedule.js';
import { muText, vectorData } from '../format.js';
import { endFromYours, setEnd, withYours } from '../store.js';
import { listen } from './listen.js';

const KINDS = ['upload', 'drawing'];

/**
 * @param {import('../layout.js').YoursRefs} ui the "yours" part's elements (layout.js)
 * @param {{store: import('../store.js').ExplorerStore, client: import('../../client.js').VaeClient,
 *          report: (error: unknown) => void}} context
 */
export function mountYours(ui, { store, client, report }) {
  const shown = {
    upload: { processed: ui.uploadProcessed, recon: ui.uploadRecon, mu: ui.uploadMu, setA: ui.uploadA, setB: ui.uploadB, words: 'your image' },
    drawing: { processed: ui.drawProcessed, recon: ui.drawRecon, mu: ui.drawMu, setA: ui.drawA, setB: ui.drawB, words: 'your drawing' },
  };
  const pad = new DrawPad(ui.pad, { onChange: () => drawingChanged() });
  for (const kind of KINDS) for (const c of [shown[kind].processed, shown[kind].recon]) clearDigit(c);
  drawPlaceholder(ui.uploadOriginal, 'no image yet');

  const queues = {
    upload: latestOnly((pixels) => encode('upload', pixels), report),
    drawing: latestOnly((pixels) => encode('drawing', pixels), report),
  };

  async function encode(kind, pixels) {
    if (!store.get().yours[kind] || !store.get().dim) return; // cleared meanwhile
    const { mu, logVar } = await client.encode(pixels, 1);
    // While the user draws, newer pixels replace the item before its encoding is back: show this
    // one anyway (the newest is encoded next), so the point follows the pen.
    const state = store.get();
    const item = state.yours[kind];
    if (!item || mu.length !== state.dim) return;
    store.update(withYours(state, kind, { ...item, mu, logVar }));
    const recon = await client.decode(mu, 1);
    if (!store.get().yours[kind]) return;
    const el = shown[kind];
    drawDigit(el.recon, recon);
    el.mu.textContent = `μ = ${muText(mu)}`;
    el.recon.setAttribute('aria-label', `The model's reconstruction of ${el.words}, decoded from its μ = ${muText(mu)}`);
    el.mu.dataset.mu = vectorData(mu);
    el.mu.dataset.encodes = String(Number(el.mu.dataset.encodes ?? 0) + 1);
    el.setA.disabled = el.setB.disabled = false;
  }

  /** A new model: the user's digits are encoded again (their μ moves as the model learns). */
  const unsubscribe = store.subscribe((state, changed) => {
    if (!changed.has('test') || !state.test) return;
    for (const kind of KINDS) if (state.yours[kind]) queues[kind].submit(state.yours[kind].pixels);
  });

  // ---- upload ----

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
      showUploadError(file, loaded, error);
      return;
    }
    ui.uploadError.hidden = true;
    ui.uploadError.textContent = '';
    drawFitted(ui.uploadOriginal, loaded.canvas, loaded.canvas.width, loaded.canvas.height);
    ui.uploadOriginal.dataset.name = loaded.name;
    ui.uploadOriginal.title = `${loaded.name}, ${loaded.width}×${loaded.height} px`;
    ui.uploadOriginal.setAttribute('aria-label', `Your image: ${ui.uploadOriginal.title}`);
    showProcessed(shown.upload, result);
    // The marker stays where the last upload put it until this one's encoding is back.
    store.update((s) => withYours(s, 'upload', { mu: null, logVar: null, ...s.yours.upload, pixels: result.pixels, name: loaded.name }));
    ui.uploadMu.textContent = 'μ: encoding…';
    queues.upload.submit(result.pixels);
  }

  function showUploadError(file, loaded, error) {
    let message;
    if (error instanceof ImageInputError) message = error.message;
    else if (error instanceof BlankImageError) message = `${error.message} (${loaded?.name ?? file.name})`;
    else message = `${file.name || 'the image'} could not be read: ${error?.message ?? error}`;
    ui.uploadError.textContent = message;
    ui.uploadError.hidden = false;
    ui.uploadError.dataset.count = String(Number(ui.uploadError.dataset.count ?? 0) + 1);
  }

  function showProcessed({ processed: canvas, words }, result) {
    drawDigit(canvas, result.pixels);
    const { width, height } = result.size;
    canvas.setAttribute('aria-label', `${words[0].toUpperCase()}${words.slice(1)} as the model's 28×28 input: ${result.inverted ? 'inverted, ' : ''}scaled to ${width}×${height} px and centred`);
    canvas.dataset.com = `${result.centreOfMass.x.toFixed(2)},${result.centreOfMass.y.toFixed(2)}`;
    canvas.dataset.inverted = String(result.inverted);
    canvas.dataset.box = `${result.size.width}x${result.size.height}`;
  }

  // ---- drawing ----

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
    showProcessed(shown.drawing, result);
    // The point stays where the last stroke put it until this one's encoding is back.
    store.update((s) => withYours(s, 'drawing', { mu: null, logVar: null, ...s.yours.drawing, pixels: result.pixels }));
    queues.drawing.submit(result.pixels);
  }

  function clearDrawing() {
    pad.clear();
    store.update((s) => withYours(s, 'drawing', null));
    const el = shown.drawing;
    clearDigit(el.processed);
    clearDigit(el.recon);
    el.processed.setAttribute('aria-label', "Your drawing as the model's 28×28 input: nothing drawn yet");
    el.recon.setAttribute('aria-label', "The model's reconstruction of your drawing: nothing drawn yet");
    el.mu.textContent = 'μ: –';
    delete el.mu.dataset.mu;
    el.setA.disabled = el.setB.disabled = true;
  }

  // ---- wiring ----

  const pickEnd = (end, kind) => () => {
    const source = endFromYours(store.get(), kind);
    if (source) store.update((s) => setEnd(s, end, source));
  };

  // Drop anywhere on the page, paste anywhere (unless into a text field).
  const doc = ui.part.ownerDocument;
  const hasFiles = (e) => Array.from(e.dataTransfer?.types ?? []).includes('Files');
  let dragDepth = 0;
  const dropping = (on) => ui.part.classList.toggle('vx-dropping', on);
  const off = listen([
    [ui.file, 'change', () => {
      const files = Array.from(ui.file.files ?? []);
      if (files.length) useFiles(files).catch(report);
    }],
    [ui.drawClear, 'click', clearDrawing],
    [ui.uploadA, 'click', pickEnd('A', 'upload')],
    [ui.uploadB, 'click', pickEnd('B', 'upload')],
    [ui.drawA, 'click', pickEnd('A', 'drawing')],
    [ui.drawB, 'click', pickEnd('B', 'drawing')],
    [doc, 'dragenter', (e) => {
      if (!hasFiles(e)) return;
      dragDepth++;
      dropping(true);
    }],
    [doc, 'dragleave', (e) => {
      if (!hasFiles(e)) return;
      dragDepth = Math.max(0, dragDepth - 1);
      if (!dragDepth) dropping(false);
    }],
    [doc, 'dragover', (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    }],
    [doc, 'drop', (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      dragDepth = 0;
      dropping(false);
      useFiles(filesOf(e.dataTransfer)).catch(report);
    }],
    [doc, 'paste', (e) => {
      const files = filesOf(e.clipboardData);
      if (!files.length) return;
      e.preventDefault();
      useFiles(files).catch(report);
    }],
  ]);

  return {
    idle: () => Promise.all(KINDS.map((kind) => queues[kind].idle())),
    destroy() {
      unsubscribe();
      off();
    },
  };
}
