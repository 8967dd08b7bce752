// Where the worker keeps the latest training run between visits: one record in the browser's
// IndexedDB, `{ bytes: Uint8Array (a checkpoint, src/checkpoint.rs), step, examplesSeen,
// testLoss, latentDim, savedAt, dataSet }` (`dataSet`: protocol.js's DataSet, null for MNIST).
// Beside it, the page keeps the visitor's own images a run trains on (www/page/own-data.js), by
// their hash, so that a reload offers the run back with its data. Every failure (no IndexedDB in
// a private window, the quota exhausted, a blocked database) is a `RunStoreError` with a message a
// person can act on; the caller reports it and trains on.

const DB = 'vae-web';
/** Version 2 added the data sets' store. */
const VERSION = 2;
const STORE = 'runs';
const DATA = 'data';
const KEY = 'latest';

export class RunStoreError extends Error {}

function describe(error) {
  const name = error?.name ?? '';
  if (name === 'QuotaExceededError') {
    return 'the browser’s storage for this site is full, so the run is not saved (free some space, or download the model)';
  }
  if (name === 'SecurityError' || name === 'InvalidStateError') {
    return 'this browser does not let the page store data (a private window?), so the run is not saved across reloads (download the model to keep it)';
  }
  return `the run could not be saved in the browser: ${error?.message ?? error}`;
}

let opening = null;
function open() {
  opening ??= new Promise((resolve, reject) => {
    let request;
    try {
      if (typeof indexedDB === 'undefined') throw Object.assign(new Error('no IndexedDB'), { name: 'SecurityError' });
      request = indexedDB.open(DB, VERSION);
    } catch (error) {
      reject(new RunStoreError(describe(error)));
      return;
    }
    request.onupgradeneeded = () => {
      for (const name of [STORE, DATA]) if (!request.result.objectStoreNames.contains(name)) request.result.createObjectStore(name);
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(new RunStoreError(describe(request.error)));
    request.onblocked = () => reject(new RunStoreError('the run store is blocked by another tab of this page'));
  }).catch((error) => {
    opening = null;
    throw error;
  });
  return opening;
}

function transact(mode, body, store = STORE) {
  return open().then(
    (db) =>
      new Promise((resolve, reject) => {
        let result;
        let tx;
        try {
          tx = db.transaction(store, mode);
          result = body(tx.objectStore(store));
        } catch (error) {
          reject(new RunStoreError(describe(error)));
          return;
        }
        tx.oncomplete = () => resolve(result?.result);
        tx.onerror = () => reject(new RunStoreError(describe(tx.error)));
        tx.onabort = () => reject(new RunStoreError(describe(tx.error)));
      }),
  );
}

/** Saves `run` as the latest, replacing the one before. */
export function saveRun(run) {
  return transact('readwrite', (store) => store.put(run, KEY));
}

/** The latest run, or null when there is none. */
export async function loadRun() {
  return (await transact('readonly', (store) => store.get(KEY))) ?? null;
}

/**
 * A visitor's own images, processed (www/own-data/process.js's OwnSet), kept by their hash; the
 * sets of other hashes than `keep` are removed (one set is tens of MB: only the one the model
 * has and the one the saved run was trained on are worth keeping).
 * @param {{hash: string}} set
 * @param {string[]} keep  other hashes to keep
 */
export function saveDataSet(set, keep = []) {
  return transact(
    'readwrite',
    (store) => {
      const request = store.getAllKeys();
      request.onsuccess = () => {
        for (const key of request.result) if (key !== set.hash && !keep.includes(String(key))) store.delete(key);
      };
      store.put(set, set.hash);
      return null;
    },
    DATA,
  );
}

/** The images kept under `hash`, or null when this browser does not have them. */
export async function loadDataSet(hash) {
  return (await transact('readonly', (store) => store.get(hash), DATA)) ?? null;
}
