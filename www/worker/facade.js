// Which browser build of the model the worker runs, and loading it (once per worker).
//
//   ../pkg/          WebGPU, and the CPU on one thread: runs on any page
//   ../pkg-threads/  the CPU on WebAssembly threads (a pool of Web Workers sharing the module's
//                    memory; no WebGPU): needs a cross-origin-isolated page (SharedArrayBuffer)
//
// The plan is made from what the page asks for (`backend`, `?threads=`) and what this browser and
// host allow, before anything is loaded. 'auto' always starts on the CPU (training moves at once);
// where there is a WebGPU adapter the plan says `race`: the WebGPU build warms up beside it and
// the faster of the two keeps the run (www/worker/race.js). The CPU runs the threaded build where
// it can; where that cannot start, the single-threaded one runs and the plan says why.

import { messageOf } from './messages.js';

/** Most threads the page starts (also the facade's own limit). */
export const MAX_THREADS = 64;

/**
 * The threads to use when `?threads=` does not say: one per core but one, left for the page; on a
 * two-core machine both (one would be no gain, and the page's thread mostly waits while training).
 */
export function defaultThreads(cores) {
  const n = Number.isInteger(cores) && cores > 0 ? cores : 1;
  return n <= 2 ? n : n - 1;
}

/** Why WebGPU is not used here (the facade's own words), or null when there is an adapter. */
async function missingWebGpu() {
  if (!self.navigator?.gpu) return 'this browser has no WebGPU (navigator.gpu is missing)';
  try {
    return (await navigator.gpu.requestAdapter()) ? null : 'the browser offers no WebGPU adapter';
  } catch (error) {
    return `the browser offers no WebGPU adapter (${messageOf(error)})`;
  }
}

/** What a plan depends on in this browser (a unit test passes its own). */
const browser = {
  /** @returns {Promise<string|null>} */
  missingWebGpu,
  /** @returns {number|undefined} */
  cores: () => self.navigator?.hardwareConcurrency,
  /** @returns {boolean} */
  crossOriginIsolated: () => self.crossOriginIsolated,
};

/**
 * The plan for `backend` ('auto' | 'webgpu' | 'cpu') and `threads` (the `?threads=` text, or
 * null): `{ build: 'pkg' | 'pkg-threads', backend (what to ask the facade for), fallbackReason
 * (why 'auto' has no WebGPU to race), race ('auto' with an adapter: WebGPU warms up beside the
 * CPU run), threads, threadsNote (why fewer threads than asked, or null) }`.
 * @param {{backend?: string, threads?: string|number|null}} [wanted]
 * @param {typeof browser} [env] this browser's WebGPU, cores and cross-origin isolation
 */
export async function planBuild({ backend = 'auto', threads = null } = {}, env = browser) {
  // The page reports a bad `?backend=` and goes on with 'auto': so does the plan.
  if (!['auto', 'webgpu', 'cpu'].includes(backend)) backend = 'auto';
  const plan = { build: 'pkg', backend, fallbackReason: null, race: false, threads: 1, threadsNote: null };
  if (backend === 'auto') {
    plan.fallbackReason = await env.missingWebGpu();
    plan.race = !plan.fallbackReason;
    plan.backend = 'cpu';
  }
  if (plan.backend !== 'cpu') return plan;

  let wanted = defaultThreads(env.cores());
  if (threads !== null && threads !== undefined && threads !== '') {
    const asked = Number(threads);
    if (Number.isInteger(asked) && asked >= 1 && asked <= MAX_THREADS) wanted = asked;
    else plan.threadsNote = `?threads=${threads} is not a whole number from 1 to ${MAX_THREADS}; using ${wanted}`;
  }
  if (wanted === 1) {
    plan.threadsNote ??= threads ? null : 'this machine has one core';
    return plan;
  }
  if (!env.crossOriginIsolated()) {
    plan.threadsNote = 'this host does not allow threads (the page is not cross-origin isolated)';
    return plan;
  }
  return { ...plan, build: 'pkg-threads', threads: wanted };
}

/** "google swiftshader", "nvidia ampere", or the adapter's description; null if unknown. */
export async function describeBrowserAdapter() {
  try {
    const info = (await navigator.gpu?.requestAdapter())?.info;
    if (!info) return null;
    return info.description || [info.vendor, info.architecture].filter(Boolean).join(' ') || null;
  } catch {
    return null;
  }
}

/** Imports and initialises one build: `{ module, wasm }`. */
async function load(build) {
  let module;
  try {
    module = build === 'pkg-threads' ? await import('../../pkg-threads/vae_web.js') : await import('../../pkg/vae_web.js');
  } catch (error) {
    throw new Error(`could not load the WebAssembly package (${build}/vae_web.js): ${messageOf(error)}. Was it built (bash scripts/build-wasm.sh)?`);
  }
  return { module, wasm: await module.default() };
}

/**
 * Loads the build `plan` names and starts its threads. Resolves to `{ module, wasm, plan }`, the
 * plan as it turned out: when the threaded build cannot start (not built, out of memory for the
 * shared memory, workers refused), the single-threaded build runs and `threadsNote` says why.
 */
export async function loadBuild(plan) {
  if (plan.build === 'pkg-threads') {
    try {
      const loaded = await load('pkg-threads');
      const threaded = /** @type {typeof import('../../pkg-threads/vae_web.js')} */ (loaded.module);
      const threads = await threaded.initThreads(plan.threads);
      return { ...loaded, plan: { ...plan, threads } };
    } catch (error) {
      plan = { ...plan, build: 'pkg', threads: 1, threadsNote: `the threaded build could not start: ${messageOf(error)}` };
    }
  }
  return { ...(await load('pkg')), plan };
}

/**
 * The WebGPU build, for the race beside a CPU run: `{ module, wasm, adapter }` (the same module
 * as the run's when that is pkg/ too; wasm-bindgen initialises it once).
 */
export async function loadGpuBuild() {
  const [loaded, adapter] = await Promise.all([load('pkg'), describeBrowserAdapter()]);
  return { ...loaded, adapter };
}
