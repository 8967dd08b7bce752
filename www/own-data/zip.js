// A .zip of images, opened in the page with fflate (node_modules/fflate/esm/browser.js, served and
// copied into the site as it is: scripts/serve.mjs, scripts/build-site.mjs). Never throws: a file
// that is not a zip, or a damaged one, comes back as the reason, and each entry that cannot be
// used is listed with its own. And a zip written, for "Download data set".

import { unzipSync, zipSync } from '../../node_modules/fflate/esm/browser.js';

/** Largest entry taken, inflated: no image of a data set needs more, and a zip bomb gets no further. */
export const MAX_ENTRY_BYTES = 20 * 1024 * 1024;

/**
 * @typedef {{path: string, bytes: Uint8Array}} Entry
 * @typedef {{path: string, reason: string}} Skipped
 */

/**
 * The files in a zip, and those left out with a reason (empty, too large, compressed in a way
 * this page does not read). `name` is the zip's own, for the messages.
 * @param {Uint8Array} bytes
 * @param {string} name
 * @returns {{entries: Entry[], skipped: Skipped[], refused: string | null}}  refused: why none of it could be read
 */
export function readZip(bytes, name = 'this file') {
  const skipped = [];
  if (!(bytes instanceof Uint8Array) || bytes.length < 22) return { entries: [], skipped, refused: `${name} is not a zip file` };
  let files;
  try {
    files = unzipSync(bytes, {
      filter: (file) => {
        if (file.name.endsWith('/') || isClutter(file.name)) return false;
        const reason =
          file.originalSize === 0 ? 'empty file'
          : file.originalSize > MAX_ENTRY_BYTES ? `too large (${megabytes(file.originalSize)} MB; the limit is ${megabytes(MAX_ENTRY_BYTES)} MB)`
          : file.compression !== 0 && file.compression !== 8 ? `compressed with a method this page cannot read (${file.compression})`
          : null;
        if (reason) skipped.push({ path: file.name, reason });
        return reason === null;
      },
    });
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { entries: [], skipped: [], refused: /invalid zip data/i.test(why) ? `${name} is not a zip file` : `${name} is damaged (${why})` };
  }
  const entries = Object.entries(files).map(([path, data]) => ({ path, bytes: data }));
  return { entries, skipped, refused: null };
}

/** What archivers add beside the files (macOS's resource forks, Finder's and Windows' caches). */
export const isClutter = (path) => /(^|\/)(__MACOSX\/|\.DS_Store$|Thumbs\.db$|desktop\.ini$)/i.test(path);

const megabytes = (bytes) => (bytes / 2 ** 20).toFixed(1);

/**
 * A zip of `files` (name -> bytes), deflated: what "Download data set" saves.
 * @param {Record<string, Uint8Array>} files
 */
export const writeZip = (files) => zipSync(files, { level: 6 });
