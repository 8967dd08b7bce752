// Labels for a visitor's own images, from the folders they are in: the model takes labels 0–9 (the
// explorer colours its plane by them), so the classes are mapped onto those ten.
//
//   no sub-folders            unlabelled: every label UNLABELLED (255, as the model and the IDX files
//                             the page writes say "no label"), and `labelled` false
//   folders named 0–9 only    each digit its own label (a set of handwritten digits keeps its names)
//   up to 10 folders          labels 0, 1, … in the folders' order (natural: "2" before "10")
//   more than 10              the first 9 keep their own label, the rest share the 10th, "other"
//
// The folder that counts is the first one below what all the files share (a picked folder's own
// name, a zip's single top folder), so `digits/3/a.png` and `3/a.png` both say "3".

/** The label of an image without a class (src/data.rs's `UNLABELLED`). */
export const UNLABELLED = 255;
/** The name of the 10th class when there are more than ten. */
export const OTHER = 'other';
/** The name given to the files beside the sub-folders, when some are in sub-folders and some not. */
export const NO_FOLDER = '(no folder)';

const natural = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/**
 * The folders of a path ('a/b/c.png' -> ['a', 'b']).
 * @param {string} path
 */
const foldersOf = (path) => path.split('/').filter(Boolean).slice(0, -1);

/**
 * The class of each path, from its folders: null for all when none is in a sub-folder.
 * @param {string[]} paths  the images' paths, '/'-separated (a folder's webkitRelativePath, a zip's entry names)
 * @returns {(string | null)[]}
 */
export function folderClasses(paths) {
  const folders = paths.map(foldersOf);
  // What every path shares (a picked folder's own name) says nothing about the class.
  let shared = folders.length ? folders[0].length : 0;
  for (const f of folders) {
    let k = 0;
    while (k < Math.min(shared, f.length) && f[k] === folders[0][k]) k++;
    shared = k;
  }
  const classOf = folders.map((f) => (f.length > shared ? f[shared] : null));
  if (classOf.every((name) => name === null)) return classOf;
  return classOf.map((name) => name ?? NO_FOLDER);
}

/**
 * @typedef {object} Classes
 * @property {Uint8Array} labels     one per image
 * @property {boolean} labelled      false when no image has a class
 * @property {string[]} names        names[label]: the class (or "other") each label stands for
 * @property {Array<{name: string, label: number, count: number}>} classes  every class found, in order
 */

/**
 * How classes (one name per image, null for none) map onto the labels 0–9.
 * @param {(string | null)[]} classNames
 * @returns {Classes}
 */
export function labelsFor(classNames) {
  if (classNames.every((name) => name === null)) {
    return { labels: new Uint8Array(classNames.length).fill(UNLABELLED), labelled: false, names: [], classes: [] };
  }
  const named = classNames.map((name) => name ?? NO_FOLDER);
  const counts = new Map();
  for (const name of named) counts.set(name, (counts.get(name) ?? 0) + 1);
  const order = [...counts.keys()].sort(natural.compare);
  const digits = order.every((name) => /^[0-9]$/.test(name));
  const labelOf = new Map();
  order.forEach((name, i) => labelOf.set(name, digits ? Number(name) : Math.min(i, 9)));
  const names = digits ? Array.from({ length: 10 }, (_, d) => String(d)) : order.slice(0, 10);
  if (!digits && order.length > 10) names[9] = OTHER;
  const labels = Uint8Array.from(named, (name) => labelOf.get(name));
  const classes = order.map((name) => ({ name, label: labelOf.get(name), count: counts.get(name) }));
  return { labels, labelled: true, names, classes };
}

/**
 * The labels of images at `paths`, from their folders (folderClasses, then labelsFor).
 * @param {string[]} paths
 */
export const classesOf = (paths) => labelsFor(folderClasses(paths));
