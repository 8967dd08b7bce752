// The data set the model trains on: MNIST (as the page starts), or the visitor's own images. The
// images are read and made 28×28 in the page (www/own-data/), shown before anything is trained
// (a contact sheet of the first 64, what was taken and skipped and why, the classes and their
// colours, the split), and sent to the worker as IDX files only when the visitor says "Train on
// these". A set the page refuses never reaches the model: the model and its data stay as they were.
// The set trained on is kept in this browser (www/run-store.js) beside the run, so that a reload
// (or a crash) brings the run back with its data.
//
// What tests can read: [data-testid=data-set] data-source (mnist | own: what the model trains on),
// data-ready (its controls answer);
// [data-testid=data-status] data-state (empty | reading | ready | refused), data-taken,
// data-skipped, data-train, data-test, data-labelled, data-classes, data-hash, data-decoder,
// data-framing (digit | whole), data-ms (reading and processing, ms); [data-testid=data-sheet] data-count; one
// <li data-path data-reason> per skipped file in [data-testid=data-skipped].

import { messageOf } from '../protocol.js';
import { RunStoreError, loadDataSet, saveDataSet } from '../run-store.js';
import { DIGIT_COLOURS } from '../explorer/palette.js';
import { IDX_NAMES, splitFiles, splitSet, splitSizes } from '../own-data/split.js';
import { drawDigits } from '../views/digits.js';
import * as status from '../views/status.js';
import { reword, wordsFor } from '../words.js';
import { trainFromScratch } from './choice.js';
import { sentence, setPhase, showError } from './page.js';
import { fillForm } from './settings-form.js';

/** @typedef {import('./page.js').Page} Page */
/** @typedef {import('../own-data/process.js').OwnSet} OwnSet */

/**
 * The modules that read images and zips, loaded when the visitor first gives some (fflate among
 * them: a visit that stays on MNIST never fetches it).
 */
const readers = () => Promise.all([import('../own-data/collect.js'), import('../own-data/process.js'), import('../own-data/zip.js')]);

/** Images on the contact sheet, and per row. */
const SHEET = { count: 64, columns: 16 };
/** Skipped files listed one by one (the rest are counted). */
const LIST_SKIPPED = 200;

const $ = (ref) => /** @type {HTMLElement} */ (document.querySelector(`[data-ref="${ref}"]`));

function findElements() {
  return {
    root: $('data-set'),
    mnist: /** @type {HTMLInputElement} */ ($('data-mnist')),
    own: /** @type {HTMLInputElement} */ ($('data-own')),
    panel: $('own-data'),
    drop: $('data-drop'),
    files: /** @type {HTMLInputElement} */ ($('data-files')),
    folder: /** @type {HTMLInputElement} */ ($('data-folder')),
    status: $('data-status'),
    sheet: /** @type {HTMLCanvasElement} */ ($('data-sheet')),
    classes: $('data-classes'),
    skipped: /** @type {HTMLDetailsElement} */ ($('data-skipped')),
    skippedSummary: $('data-skipped-summary'),
    skippedList: $('data-skipped-list'),
    use: /** @type {HTMLButtonElement} */ ($('data-use')),
    download: /** @type {HTMLButtonElement} */ ($('data-download')),
  };
}

/**
 * Wires the data set's controls. `page.own.set` is the set read and shown (not yet trained on, or
 * the one in the model), `page.own.files` what it was read from (read again when the framing
 * changes); `page.client.dataSet` says what the model has.
 * @param {Page} page
 */
export function mountDataSet(page) {
  const ui = findElements();
  const own = { ui, files: /** @type {File[]} */ ([]), name: '', set: /** @type {OwnSet | null} */ (null), reading: 0 };
  page.own = own;
  const framing = () => /** @type {'digit' | 'whole'} */ (/** @type {HTMLInputElement} */ (ui.panel.querySelector('input[name="data-framing"]:checked'))?.value ?? 'digit');

  const chooseSource = () => {
    ui.panel.hidden = !ui.own.checked;
    if (ui.mnist.checked && page.client?.dataSet) backToMnist(page);
  };
  chooseSource(); // a choice made before this ran
  ui.mnist.addEventListener('change', chooseSource);
  ui.own.addEventListener('change', chooseSource);
  const picked = (input, name) => {
    const files = [...(input.files ?? [])];
    input.value = '';
    if (files.length) read(page, files, name(files), framing());
  };
  ui.files.addEventListener('change', () => picked(ui.files, (files) => (files.length === 1 ? files[0].name : `${files.length} files`)));
  ui.folder.addEventListener('change', () => picked(ui.folder, (files) => files[0].webkitRelativePath.split('/')[0] || `${files.length} files`));
  for (const input of ui.panel.querySelectorAll('input[name="data-framing"]')) {
    input.addEventListener('change', () => {
      if (own.files.length) read(page, own.files, own.name, framing());
    });
  }
  ui.drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    ui.drop.dataset.over = 'true';
  });
  ui.drop.addEventListener('dragleave', () => delete ui.drop.dataset.over);
  ui.drop.addEventListener('drop', async (event) => {
    event.preventDefault();
    delete ui.drop.dataset.over;
    const { files, name } = await droppedFiles(event.dataTransfer);
    if (files.length) read(page, files, name, framing());
  });
  ui.use.addEventListener('click', () => useOwnSet(page));
  ui.download.addEventListener('click', () => downloadSet(page));
  ui.root.dataset.ready = 'true';
}

/**
 * Reads and processes `files`, and shows the result; only the latest of overlapping reads shows.
 * @param {Page} page
 * @param {File[]} files
 * @param {string} name
 * @param {'digit' | 'whole'} framing
 */
async function read(page, files, name, framing) {
  const { own } = page;
  const { ui } = own;
  const reading = ++own.reading;
  own.files = files;
  own.name = name;
  own.set = null;
  ui.use.disabled = ui.download.disabled = true;
  const started = performance.now();
  showStatus(ui, 'reading', `Reading ${files.length.toLocaleString('en-US')} files…`);
  let result;
  try {
    const [{ collect }, { processSet }] = await readers();
    const collected = await collect(files);
    result = await processSet(collected, {
      name,
      framing,
      onProgress: (done, total) => {
        if (reading === own.reading) ui.status.textContent = `Making the images 28×28: ${done.toLocaleString('en-US')} of ${total.toLocaleString('en-US')}…`;
      },
    });
  } catch (error) {
    result = { refused: `the images could not be read: ${messageOf(error)}`, skipped: [] };
  }
  if (reading !== own.reading) return;
  ui.status.dataset.ms = (performance.now() - started).toFixed(0);
  showSkipped(ui, result.skipped);
  if ('refused' in result) {
    own.set = null;
    ui.sheet.hidden = true;
    ui.sheet.dataset.count = '0';
    ui.classes.replaceChildren();
    showStatus(ui, 'refused', `${sentence(`Not used: ${result.refused}`)} The model and its data are as they were.`, { taken: 0, skipped: result.skipped.length });
    return;
  }
  own.set = result;
  showSet(page, result);
  ui.use.disabled = ui.download.disabled = false;
}

/**
 * The processed set: counts, split, classes, suggested decoder, contact sheet.
 * @param {Page} page
 * @param {OwnSet} set
 */
function showSet(page, set) {
  const { ui } = page.own;
  const { train, test } = splitSet(set.count);
  const n = (k) => k.toLocaleString('en-US');
  const skipped = set.skipped.length ? `, ${n(set.skipped.length)} skipped` : '';
  const inverted = set.inverted ? ` ${n(set.inverted)} had a light background and were inverted.` : '';
  const classes = set.labelled ? `${set.classes.length} ${set.classes.length === 1 ? 'class' : 'classes'}` : 'no sub-folders or labels, so unlabelled';
  const decoder = set.decoder === 'bernoulli' ? 'near-binary, so the Bernoulli decoder suits them' : 'grey, so the Gaussian decoder suits them';
  showStatus(
    ui,
    'ready',
    `${n(set.count)} images taken${skipped}; ${classes}. Split ${n(train.length)} to train, ${n(test.length)} to test (fixed, seeded).${inverted} ` +
      `They are ${decoder} (set below; you can change it).`,
    { taken: set.count, skipped: set.skipped.length, train: train.length, test: test.length, labelled: set.labelled, classes: set.classes.length, hash: set.hash, decoder: set.decoder, framing: set.framing },
  );
  // The suggested decoder goes into the settings form; Train on these applies it.
  const select = /** @type {HTMLSelectElement | null} */ (page.ui.form.elements.namedItem('decoder'));
  if (select && select.value !== set.decoder) {
    select.value = set.decoder;
    select.dispatchEvent(new Event('change', { bubbles: true }));
  }
  const count = Math.min(SHEET.count, set.count);
  const floats = Float32Array.from(set.pixels.subarray(0, count * 784), (v) => v / 255);
  drawDigits(ui.sheet, floats, count, SHEET.columns, { scale: 1, gap: 1 });
  ui.sheet.hidden = false;
  ui.sheet.dataset.count = String(count);
  ui.classes.replaceChildren(
    ...set.classes.map((c) => {
      const item = document.createElement('li');
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = DIGIT_COLOURS[c.label];
      item.append(swatch, `${c.name}: ${n(c.count)}${set.names[c.label] !== c.name ? ` (as "${set.names[c.label]}")` : ''}`);
      item.dataset.label = String(c.label);
      return item;
    }),
  );
}

function showStatus(ui, state, text, facts = {}) {
  const el = ui.status;
  el.textContent = text;
  el.dataset.state = state;
  for (const key of ['taken', 'skipped', 'train', 'test', 'labelled', 'classes', 'hash', 'decoder', 'framing']) {
    if (key in facts) el.dataset[key] = String(facts[key]);
    else delete el.dataset[key];
  }
}

function showSkipped(ui, skipped) {
  ui.skipped.hidden = skipped.length === 0;
  ui.skippedSummary.textContent = `${skipped.length.toLocaleString('en-US')} ${skipped.length === 1 ? 'file' : 'files'} skipped`;
  const items = skipped.slice(0, LIST_SKIPPED).map(({ path, reason }) => {
    const item = document.createElement('li');
    item.dataset.path = path;
    item.dataset.reason = reason;
    item.textContent = `${path}: ${reason}`;
    return item;
  });
  if (skipped.length > LIST_SKIPPED) {
    const more = document.createElement('li');
    more.textContent = `… and ${(skipped.length - LIST_SKIPPED).toLocaleString('en-US')} more`;
    items.push(more);
  }
  ui.skippedList.replaceChildren(...items);
}

/**
 * "Train on these": the set goes to the worker as its four IDX files; a fresh model with the
 * form's settings (the suggested decoder among them) starts training on it.
 * @param {Page} page
 */
async function useOwnSet(page) {
  const { own } = page;
  const set = own.set;
  if (!set) return;
  if (!['ready', 'running', 'pausing', 'paused'].includes(page.phase)) {
    showError(page, 'The model is still starting: press Train on these again once it is ready.', { kind: 'warning', key: 'data' });
    return;
  }
  own.ui.use.disabled = true;
  try {
    if (page.client.running) page.client.pause();
    const { trainImages, trainLabels, testImages, testLabels } = splitFiles(set.pixels, set.labels);
    await page.client.useDataSet([trainImages, trainLabels, testImages, testLabels], describe(set));
    status.clearMessages(page.ui.errors, 'data');
    await keepInBrowser(page, set);
    await trainFromScratch(page);
    page.ui.modeNote.textContent = `A fresh model learning your ${set.count.toLocaleString('en-US')} images ("${set.name}") from step 0.`;
  } catch (error) {
    showError(page, `Your images were not used: ${sentence(messageOf(error))} The model and its data are as they were.`, { key: 'data' });
  } finally {
    own.ui.use.disabled = !own.set;
    setPhase(page, page.phase);
  }
}

/**
 * Keeps the set in this browser, beside the run that will be saved on it (and the saved run's
 * own set, if another): a reload then offers the run back with its data.
 * @param {Page} page
 * @param {OwnSet} set
 */
async function keepInBrowser(page, set) {
  try {
    const saved = await page.client.savedRun().catch(() => null);
    await saveDataSet(set, saved?.dataSet ? [saved.dataSet.hash] : []);
  } catch (error) {
    if (!(error instanceof RunStoreError)) throw error;
    showError(page, `Your images are not kept in this browser (${error.message}), so a reload cannot bring this run back with them; training goes on.`, { kind: 'warning', key: 'data' });
  }
}

/**
 * Gives the model the data a run was trained on (`dataSet`, protocol.js's DataSet; null for
 * MNIST) unless it has them already: the visitor's images from this browser's storage, or the
 * ones just read if they are the same. Rejects, saying what to do, when this browser does not
 * have them.
 * @param {Page} page
 * @param {import('../protocol.js').DataSet | null} dataSet
 */
export async function bringData(page, dataSet) {
  if ((dataSet?.hash ?? null) === (page.client.dataSet?.hash ?? null)) return;
  if (!dataSet) {
    await page.client.useDataSet(null, null);
    return;
  }
  let set = page.own.set?.hash === dataSet.hash ? page.own.set : null;
  try {
    set ??= await loadDataSet(dataSet.hash);
  } catch {
    // No storage: said below.
  }
  if (!set) {
    throw new Error(
      `it was trained on your images "${dataSet.name}" (${dataSet.count.toLocaleString('en-US')} of them), which this browser no longer holds. ` +
        'Pick the same images under Data set, "Your own images" (without pressing Train on these: they give the same set), then resume again',
    );
  }
  const { trainImages, trainLabels, testImages, testLabels } = splitFiles(set.pixels, set.labels);
  await page.client.useDataSet([trainImages, trainLabels, testImages, testLabels], describe(set));
  page.own.set = set;
  page.own.files = []; // from storage: there are no files to read again
  page.own.ui.own.checked = true;
  showSkipped(page.own.ui, set.skipped);
  showSet(page, set);
  page.own.ui.use.disabled = page.own.ui.download.disabled = false;
}

/**
 * The set as the worker and a saved run record it (protocol.js's DataSet).
 * @param {OwnSet} set
 * @returns {import('../protocol.js').DataSet}
 */
export const describe = (set) => ({ name: set.name, hash: set.hash, count: set.count, labelled: set.labelled, names: set.names });

/**
 * MNIST again, when the model has the visitor's images: a fresh model on it.
 * @param {Page} page
 */
async function backToMnist(page) {
  try {
    if (page.client.running) page.client.pause();
    await page.client.useDataSet(null, null);
    page.ui.modeNote.textContent = 'Back on MNIST: a fresh model at step 0. Press Start to train it.';
  } catch (error) {
    showError(page, `MNIST could not be loaded again: ${sentence(messageOf(error))}`, { key: 'data' });
  } finally {
    setPhase(page, page.phase);
  }
}

/**
 * Says which data the model has, whenever that changes (the client's DATA_SET): the radio buttons
 * follow, the data bar names it, and the readouts, the chart's and the reconstructions' words are
 * its own (www/words.js; the explorer rewords itself).
 * @param {Page} page
 */
export function showSource(page) {
  if (!page.own) return; // not mounted yet: it shows the source when it is
  const { ui } = page.own;
  const own = Boolean(page.client.dataSet);
  ui.root.dataset.source = own ? 'own' : 'mnist';
  ui.own.checked = own;
  ui.mnist.checked = !own;
  ui.panel.hidden = !own;
  const set = page.client.dataSet;
  status.showDataSource(page.ui.progress, set && { name: set.name, ...splitSizes(set.count) });
  reword(page.ui.results, wordsFor(set));
}

/**
 * "Download data set": the processed images split as the model has them, as the four IDX files
 * `vae train --data DIR` reads, in one .zip, with `dataset.json` (protocol.js's DataSet: which images
 * they are) and the classes' names when there are labels.
 * @param {Page} page
 */
async function downloadSet(page) {
  const set = page.own.set;
  if (!set) return;
  const [, , { writeZip }] = await readers();
  const files = splitFiles(set.pixels, set.labels);
  const folder = set.name.replace(/\.zip$/i, '').replace(/[^\w.-]+/g, '-') || 'images';
  /** @type {Record<string, Uint8Array>} */
  const entries = {};
  for (const [key, name] of Object.entries(IDX_NAMES)) entries[`${folder}/${name}`] = files[key];
  if (set.labelled) entries[`${folder}/labels.txt`] = new TextEncoder().encode(set.names.map((name, label) => `${label}\t${name}\n`).join(''));
  // Which images these are (their SHA-256 among them): `vae train --resume` continues a run only
  // on the images it was trained on, and records them in the runs it writes.
  entries[`${folder}/dataset.json`] = new TextEncoder().encode(JSON.stringify(describe(set)));
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([writeZip(entries)], { type: 'application/zip' }));
  link.download = `${folder}-idx.zip`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

/**
 * The files of a drop, with their paths inside dropped folders (for the classes), and a name for
 * the set (the one folder or file dropped, or how many).
 * @param {DataTransfer | null} transfer
 */
async function droppedFiles(transfer) {
  if (!transfer) return { files: [], name: '' };
  const entries = [...transfer.items].map((item) => item.webkitGetAsEntry?.()).filter(Boolean);
  if (!entries.length) {
    const files = [...transfer.files];
    return { files, name: files.length === 1 ? files[0].name : `${files.length} files` };
  }
  const files = [];
  const walk = async (entry, prefix) => {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => /** @type {FileSystemFileEntry} */ (entry).file(resolve, reject));
      // Kept beside the file: its own webkitRelativePath is empty for a drop.
      Object.defineProperty(file, 'relativePath', { value: `${prefix}${file.name}` });
      files.push(file);
      return;
    }
    const reader = /** @type {FileSystemDirectoryEntry} */ (entry).createReader();
    for (;;) {
      // readEntries gives at most 100 at a time: call it until it gives none.
      const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
      if (!batch.length) break;
      for (const child of batch) await walk(child, `${prefix}${entry.name}/`);
    }
  };
  for (const entry of entries) await walk(entry, '');
  return { files, name: entries.length === 1 ? entries[0].name : `${files.length} files` };
}
