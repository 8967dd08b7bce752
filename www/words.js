// The words the page uses for the data the model has: MNIST's (a "digit", the classes 0–9, 60,000
// to train on and 10,000 to test), or, on a visitor's own images, an "image", the classes their
// sub-folders name ("other" for the ones grouped past the ninth; none for a set without
// sub-folders) and their split. They are decided here, from the client's data set
// (`client.dataSet`, protocol.js's DataSet, null for MNIST) and nowhere else: views and
// controllers take a `Words` and ask the functions below.
//
//   wordsFor(client.dataSet)     the words for the data the model has
//   className(words, label)      "7", "circles"; null for an image without a label
//   reword(root, words)          the fixed text of the markup marked `data-words`, in these words
//
// The markup is written in MNIST's words; on a visitor's images `reword` swaps MNIST's phrases
// for theirs (OWN_PHRASES), and on MNIST puts the markup's own text back, unchanged.

import { splitSizes } from './own-data/split.js';

/**
 * @typedef {object} Words
 * @property {'mnist' | 'own'} source
 * @property {string} digit      one item of the data: "digit" or "image"
 * @property {string} digits     "digits" or "images"
 * @property {boolean} labelled  whether labels name classes (a set without sub-folders has none)
 * @property {readonly string[]} names  names[label]: the class each label 0–9 stands for (empty: no labels)
 * @property {number} train      images to train on
 * @property {number} test       images held out to test
 */

/** @type {Words} */
export const MNIST_WORDS = Object.freeze({
  source: 'mnist',
  digit: 'digit',
  digits: 'digits',
  labelled: true,
  names: Object.freeze(Array.from({ length: 10 }, (_, d) => String(d))),
  train: 60_000,
  test: 10_000,
});

/**
 * The words for a data set: MNIST's for null.
 * @param {import('./protocol.js').DataSet | null | undefined} dataSet
 * @returns {Words}
 */
export function wordsFor(dataSet) {
  if (!dataSet) return MNIST_WORDS;
  const { train, test } = splitSizes(dataSet.count);
  return Object.freeze({
    source: 'own',
    digit: 'image',
    digits: 'images',
    labelled: dataSet.labelled,
    names: Object.freeze(dataSet.labelled ? [...dataSet.names] : []),
    train,
    test,
  });
}

/**
 * The class a label stands for ("7" on MNIST, a folder's name on the visitor's images), or null
 * for no class: a set without labels, or the 255 its test images carry (protocol.js's testImages).
 * @param {Words} words
 * @param {number} label
 */
export const className = (words, label) => words.names[label] ?? null;

/**
 * A label in brackets after an item's name: "a 7" on MNIST, "labelled circles" on the visitor's
 * images (a folder's name takes no article); null for no class.
 * @param {Words} words
 * @param {number} label
 */
export function labelPhrase(words, label) {
  const name = className(words, label);
  if (name === null) return null;
  return words.source === 'mnist' ? `a ${name}` : `labelled ${name}`;
}

/**
 * Several items of one class: "7s" on MNIST, "“circles”" on the visitor's images (a folder's
 * name, quoted as given: it may be plural already, or any word).
 * @param {Words} words
 * @param {number} label
 */
export function classPlural(words, label) {
  const name = className(words, label) ?? String(label);
  return words.source === 'mnist' ? `${name}s` : `“${name}”`;
}

const count = (n) => n.toLocaleString('en-US');

/**
 * MNIST's phrases in the markup, and what each becomes on a visitor's images, in the order they
 * are tried (the longer phrases first).
 * @type {Array<[RegExp, (words: Words, ...groups: string[]) => string]>}
 */
const OWN_PHRASES = [
  [/\b60,000 training digits\b/g, (w) => `${count(w.train)} training images`],
  [/\b10,000 test digits\b/g, (w) => `${count(w.test)} test images`],
  [/\ball 10,000\b/g, (w) => `all ${count(w.test)}`],
  [/\bColours of the digits\b/g, () => 'Colours of the classes'],
  [/\ban image of a digit\b/g, () => 'an image'],
  [/\bcoloured by its label\b/g, (w) => (w.labelled ? 'coloured by its label' : 'all one colour (these images have no labels)')],
  [/\b([Aa]) digit( image)?\b/g, (w, a) => `${a}n image`],
  [/\b([Dd])igit(s?)\b/g, (w, d, s) => `${d === 'D' ? 'I' : 'i'}mage${s}`],
];

/** The attributes of a `data-words` element that speak of the data, beside its text. */
const ATTRIBUTES = ['title', 'aria-label'];

/**
 * Each reworded text node's and attribute's text as the markup has it (MNIST's words), and as
 * `reword` last wrote it: `{ markup, written }`, by node (a text node's under '', an element's
 * attributes under their names).
 * @type {WeakMap<Node, Map<string, {markup: string, written: string}>>}
 */
const seen = new WeakMap();

/**
 * A text in the data's words: MNIST's phrases swapped for the visitor's images' ones.
 * @param {string} text  in MNIST's words
 * @param {Words} words
 */
export function inWords(text, words) {
  if (words.source === 'mnist') return text;
  return OWN_PHRASES.reduce((out, [phrase, replace]) => out.replace(phrase, (_, ...groups) => replace(words, ...groups)), text);
}

/**
 * Rewrites the markup's text that speaks of the data in `words`: under `root`, each element
 * marked `data-words` (its text, its title and its aria-label; with `data-words="attributes"` the
 * two attributes only). The markup's own text is kept, so MNIST's words come back as they were.
 * A text a view has written since (an aria-label that follows the model, say) is the view's, in
 * the words the view was given, and is left alone.
 * @param {ParentNode} root
 * @param {Words} words
 */
export function reword(root, words) {
  /** @param {Node} node @param {string} key @param {string | null} now @param {(text: string) => void} write */
  const rewrite = (node, key, now, write) => {
    if (now === null) return;
    if (!seen.has(node)) seen.set(node, new Map());
    const texts = seen.get(node);
    const was = texts.get(key);
    if (was && now !== was.written) return; // a view's since
    const markup = was?.markup ?? now;
    const written = inWords(markup, words);
    texts.set(key, { markup, written });
    if (now !== written) write(written);
  };
  for (const el of root.querySelectorAll('[data-words]')) {
    if (el.getAttribute('data-words') !== 'attributes') {
      const walker = el.ownerDocument.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const text = node;
        rewrite(text, '', text.nodeValue, (value) => (text.nodeValue = value));
      }
    }
    for (const attribute of ATTRIBUTES) rewrite(el, attribute, el.getAttribute(attribute), (value) => el.setAttribute(attribute, value));
  }
}
