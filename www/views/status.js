// The page's plain-text views: the backend badge, the data-loading bar, the message area and the
// metric readouts. Each function takes the element(s) to fill and plain values; none of them
// knows about the model or the worker.
//
// Every readout also carries its latest raw value in a data attribute (data-step, data-loss, ...),
// so tests and scripts can read numbers without parsing text.

/**
 * The backend badge. `info` is `{ pending: 'text' }` while starting, else the worker's answer
 * `{ backend, adapter, fallbackReason, threads, threadsNote, racing }`, with `race` (protocol.js's
 * RaceState) once the backend race has news; `wanted` is the URL's backend ('auto' | 'webgpu' | 'cpu').
 */
export function showBackend(el, info, wanted = 'auto') {
  const label = el.querySelector('[data-part="label"]') ?? el;
  if (info.pending) {
    el.dataset.backend = '';
    el.dataset.state = 'pending';
    label.textContent = info.pending;
    el.title = '';
    return;
  }
  const race = info.race ?? null;
  // After a race WebGPU won, the run is on WebGPU whatever `ready` said.
  const backend = race?.winner ?? info.backend;
  const adapter = backend === 'webgpu' ? (race?.adapter ?? info.adapter) : info.adapter;
  el.dataset.backend = backend;
  el.dataset.adapter = adapter ?? '';
  el.dataset.state = backend === 'webgpu' ? 'gpu' : 'cpu';
  showRaceData(el, race);
  let name;
  let detail;
  if (backend === 'webgpu') {
    name = 'WebGPU';
    detail = race?.rates ? raceVerdict(race) : adapter;
  } else {
    const threads = info.threads ?? 1;
    name = `CPU, ${threads === 1 ? '1 thread' : `${threads} threads`}`;
    const why = info.racing
      ? raceNote(race)
      : info.fallbackReason
        ? `WebGPU unavailable: ${info.fallbackReason}`
        : wanted === 'cpu'
          ? 'chosen in the URL (backend=cpu)'
          : 'WebGPU unavailable';
    // "CPU, 1 thread — this host does not allow threads (…); WebGPU unavailable: …"
    detail = info.threadsNote ? `${info.threadsNote}; ${why}` : why;
  }
  el.dataset.threads = backend === 'webgpu' ? '' : String(info.threads ?? 1);
  // "<name> — <detail>": the name in bold; a long detail is cut to two lines, in full on hover.
  const strong = document.createElement('strong');
  strong.textContent = name;
  label.replaceChildren(strong, ` — ${detail}`);
  el.title = `${name} — ${detail}${adapter && adapter !== detail ? `\nadapter: ${adapter}` : ''}`;
}

const perSecond = (n) => `${Math.round(n).toLocaleString('en-US')} ex/s`;

/** "WebGPU 41,000 ex/s vs CPU 5,900 ex/s → WebGPU" (what the race measured on the same steps). */
function raceVerdict(race) {
  const winner = race.winner === 'webgpu' ? 'WebGPU' : 'CPU';
  const forced = race.forced ? ' (set by the page, not by the numbers)' : '';
  return `WebGPU ${perSecond(race.rates.webgpu)} vs CPU ${perSecond(race.rates.cpu)} → ${winner}${forced}`;
}

/** The CPU badge's note while (or after) WebGPU races it. */
function raceNote(race) {
  const seconds = (ms) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  switch (race?.phase) {
    case undefined:
    case 'warming':
      return 'training at once; WebGPU warming up beside it, to race it';
    case 'warm':
      return `WebGPU warm after ${seconds(race.warmMs)}; timed against the CPU once training runs`;
    case 'trial':
      return 'timing WebGPU against the CPU on the same steps…';
    default:
      return race.rates ? raceVerdict(race) : `WebGPU not used: ${race.reason}`;
  }
}

/** The race's numbers as data attributes (tests and benchmarks read them). */
function showRaceData(el, race) {
  el.dataset.race = race?.phase ?? '';
  el.dataset.raceWinner = race?.winner ?? '';
  el.dataset.warmMs = race?.warmMs != null ? String(Math.round(race.warmMs)) : '';
  el.dataset.raceWebgpu = race?.rates ? String(Math.round(race.rates.webgpu)) : '';
  el.dataset.raceCpu = race?.rates ? String(Math.round(race.rates.cpu)) : '';
}

/**
 * The data bar: `{ loaded, total }` bytes (total 0 = unknown), or `{ done: true, train, test }`.
 * @param {HTMLElement} el
 * @param {{loaded?: number, total?: number, done?: boolean, train?: number, test?: number, failed?: boolean}} progress
 */
export function showProgress(el, { loaded = 0, total = 0, done = false, train, test, failed = false }) {
  const bar = el.querySelector('progress');
  const text = el.querySelector('[data-part="label"]');
  const fraction = done ? 1 : total > 0 ? Math.min(1, loaded / total) : 0;
  el.dataset.progress = fraction.toFixed(3);
  el.dataset.state = failed ? 'failed' : done ? 'done' : 'loading';
  if (bar) {
    if (total > 0 || done) bar.value = fraction;
    else bar.removeAttribute('value'); // indeterminate until the sizes are known
  }
  if (!text) return;
  if (failed) text.textContent = 'Data not loaded';
  else if (done) text.textContent = el.dataset.mnist = `MNIST loaded: ${train.toLocaleString('en-US')} training and ${test.toLocaleString('en-US')} test digits`;
  else text.textContent = `Loading MNIST… ${formatBytes(loaded)}${total > 0 ? ` of ${formatBytes(total)}` : ''}`;
}

/**
 * The data bar's words once loaded, for the data the model has now: the visitor's own images
 * (`own`: their name and split), or MNIST again (the words it was loaded with).
 * @param {HTMLElement} el
 * @param {{name: string, train: number, test: number} | null} own
 */
export function showDataSource(el, own) {
  const text = el.querySelector('[data-part="label"]');
  if (!text || el.dataset.state !== 'done') return;
  text.textContent = own
    ? `Your images "${own.name}": ${own.train.toLocaleString('en-US')} to train on and ${own.test.toLocaleString('en-US')} to test`
    : (el.dataset.mnist ?? text.textContent);
}

const formatBytes = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.round(n / 1e3)} kB`);

/**
 * Adds a message to the message area and shows it. `kind`: 'error' | 'warning' | 'info'. `key` groups
 * messages so `clearMessages(el, key)` can take them back (e.g. the settings' messages once fixed).
 * Repeating the text of a message already shown only counts it. `action`, `{ label, run }`, adds a
 * button that runs it and takes the message away.
 */
export function addMessage(el, text, { kind = 'error', key = '', action = null } = {}) {
  const list = el.querySelector('ul') ?? el.appendChild(document.createElement('ul'));
  for (const item of list.children) {
    if (item.dataset.text === text) {
      const count = Number(item.dataset.count) + 1;
      item.dataset.count = String(count);
      item.querySelector('.count').textContent = `×${count}`;
      return;
    }
  }
  const item = document.createElement('li');
  item.dataset.kind = kind;
  item.dataset.key = key;
  item.dataset.text = text;
  item.dataset.count = '1';
  const message = document.createElement('span');
  message.className = 'message';
  message.textContent = text;
  const count = document.createElement('span');
  count.className = 'count';
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'dismiss';
  close.setAttribute('aria-label', 'Dismiss');
  close.textContent = '×';
  close.addEventListener('click', () => {
    item.remove();
    update(el);
  });
  item.append(message, count);
  if (action) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'action';
    button.dataset.action = key;
    button.textContent = action.label;
    button.addEventListener('click', () => {
      item.remove();
      update(el);
      action.run();
    });
    item.append(button);
  }
  item.append(close);
  list.append(item);
  update(el);
}

/** Removes the messages added with `key` (all messages when key is omitted). */
export function clearMessages(el, key) {
  for (const item of [...el.querySelectorAll('li')]) if (key === undefined || item.dataset.key === key) item.remove();
  update(el);
}

function update(el) {
  const items = el.querySelectorAll('li');
  el.hidden = items.length === 0;
  el.dataset.count = String(items.length);
  el.dataset.kind = [...items].some((item) => item.dataset.kind === 'error') ? 'error' : items.length ? 'warning' : '';
}

/** Sets a readout: its text and its raw value in `data-<attr>`. */
export function setReadout(el, attr, value, text) {
  if (!el) return;
  el.setAttribute(`data-${attr}`, value === null || value === undefined ? '' : String(value));
  el.textContent = text;
}

const fixed = (digits) => (v) => (Number.isFinite(v) ? v.toFixed(digits) : '—');
const whole = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '—');

/**
 * Fills the training readouts from a 'metrics' payload (or zeros after a reset). `els` maps a
 * name to its element: epoch, step, examplesSeen, examplesPerSecond, loss, reconstruction, kl.
 */
export function showMetrics(els, m) {
  // m.epoch counts complete epochs; with the progress through the current one: "1.80" epochs.
  const epochText = Number.isFinite(m.epoch) ? (m.epoch + (Number.isFinite(m.epochProgress) ? m.epochProgress : 0)).toFixed(2) : '—';
  setReadout(els.epoch, 'epoch', m.epoch, epochText);
  setReadout(els.step, 'step', m.step, whole(m.step));
  setReadout(els.examplesSeen, 'examples-seen', m.examplesSeen, whole(m.examplesSeen));
  setReadout(els.examplesPerSecond, 'examples-per-second', m.examplesPerSecond, whole(m.examplesPerSecond));
  setReadout(els.loss, 'loss', m.loss, fixed(1)(m.loss));
  setReadout(els.reconstruction, 'reconstruction', m.reconstruction, fixed(1)(m.reconstruction));
  setReadout(els.kl, 'kl', m.kl, fixed(2)(m.kl));
}

/** Fills the test-bound readout from an 'evaluated' payload, or clears it with null. */
export function showTest(el, ev) {
  if (!ev) {
    setReadout(el, 'loss', null, '—');
    el.removeAttribute('data-step');
    el.title = '';
    return;
  }
  setReadout(el, 'loss', ev.loss, fixed(1)(ev.loss));
  el.setAttribute('data-step', String(ev.step));
  el.title = `test set, at step ${ev.step}: reconstruction ${fixed(1)(ev.reconstruction)} + KL ${fixed(2)(ev.kl)} nats`;
}
