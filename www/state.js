// Settings of the page: what the user can change, their defaults, how they read from and write to
// the URL query, and how they become the facade's config (docs/facade.md, "Config").
//
//   ?latentDim=2&hidden=400&lr=0.001&batch=100&estimator=sgvb-b&decoder=bernoulli&activation=relu&backend=auto
//
// A bad value never stops the page: it is replaced by the default and reported as one clear
// message per field. The model's own validation (in Rust) stays the authority; these checks
// mirror its ranges so the page can say what is wrong before the worker starts.

/**
 * Mirror of the wasm `defaultConfig()` (src/config.rs). The worker answers `ready` with the real
 * config in use, and the page shows that one; this copy only fills the form before then.
 */
export const DEFAULT_CONFIG = Object.freeze({
  latentDim: 2,
  hidden: [400],
  activation: 'relu',
  decoder: 'bernoulli',
  estimator: 'sgvb-b',
  samples: 1,
  batchSize: 100,
  optimizer: 'adam',
  learningRate: 0.001,
  weightDecay: 0,
  beta: 1,
  binarization: 'none',
  seed: 42,
});

const int = (min, max) => (text) => {
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value)) return { error: `"${text}" is not a whole number` };
  if (value < min || value > max) return { error: `${value} is outside ${min}–${max}` };
  return { value };
};

const oneOf = (...choices) => (text) =>
  choices.includes(text) ? { value: text } : { error: `"${text}" is not one of ${choices.join(', ')}` };

/**
 * Every setting the page exposes: `param` is its name in the URL (and the form's data-testid is
 * `setting-<param>`), `key` its name in the facade config (null for page-only settings),
 * `parse(text) -> { value } | { error }`, `format(value) -> text`.
 */
export const FIELDS = [
  { param: 'latentDim', key: 'latentDim', label: 'Latent dimension', parse: int(1, 256), format: String },
  {
    param: 'hidden',
    key: 'hidden',
    label: 'Hidden units',
    parse: (text) => {
      const parts = text.split(',').map((part) => part.trim());
      if (parts.length < 1 || parts.length > 4) return { error: `"${text}" must list 1 to 4 layer sizes` };
      const sizes = [];
      for (const part of parts) {
        const size = int(1, 4096)(part);
        if (size.error) return { error: `"${text}": each layer size must be a whole number in 1–4096` };
        sizes.push(size.value);
      }
      return { value: sizes };
    },
    format: (sizes) => sizes.join(','),
  },
  {
    param: 'lr',
    key: 'learningRate',
    label: 'Learning rate',
    parse: (text) => {
      const value = Number(text);
      if (text.trim() === '' || !Number.isFinite(value)) return { error: `"${text}" is not a number` };
      if (value <= 0 || value > 1) return { error: `${value} is outside (0, 1]` };
      return { value };
    },
    format: String,
  },
  { param: 'batch', key: 'batchSize', label: 'Batch size', parse: int(1, 1000), format: String },
  { param: 'estimator', key: 'estimator', label: 'Estimator', parse: oneOf('sgvb-b', 'sgvb-a'), format: String },
  { param: 'decoder', key: 'decoder', label: 'Decoder', parse: oneOf('bernoulli', 'gaussian'), format: String },
  { param: 'activation', key: 'activation', label: 'Activation', parse: oneOf('relu', 'tanh'), format: String },
  { param: 'backend', key: null, label: 'Backend', parse: oneOf('auto', 'webgpu', 'cpu'), format: String },
];

/** Default settings, keyed by URL param, from a facade config (defaults to the mirror above). */
export function defaultSettings(config = DEFAULT_CONFIG) {
  const settings = { backend: 'auto' };
  for (const field of FIELDS) if (field.key) settings[field.param] = config[field.key];
  return settings;
}

/**
 * Reads settings from a query string. Returns `{ settings, errors }`: every field has a valid
 * value (the default where the URL had none or a bad one); `errors` holds one
 * `{ param, label, value, message }` per bad field, `message` a full sentence for the page.
 */
export function readSettings(search = location.search, defaults = defaultSettings()) {
  const query = new URLSearchParams(search);
  const settings = { ...defaults };
  const errors = [];
  for (const field of FIELDS) {
    if (!query.has(field.param)) continue;
    const text = query.get(field.param);
    const parsed = field.parse(text);
    if (parsed.error) {
      errors.push({
        param: field.param,
        label: field.label,
        value: text,
        message: `Setting ${field.param} in the URL: ${parsed.error}; using the default, ${field.format(defaults[field.param])}.`,
      });
    } else {
      settings[field.param] = parsed.value;
    }
  }
  return { settings, errors };
}

/** Validates raw form texts keyed by param, as `readSettings` does; same result shape. */
export function parseForm(texts, defaults = defaultSettings()) {
  const settings = { ...defaults };
  const errors = [];
  for (const field of FIELDS) {
    if (!(field.param in texts)) continue;
    const parsed = field.parse(String(texts[field.param]));
    if (parsed.error) {
      errors.push({ param: field.param, label: field.label, value: texts[field.param], message: `${field.label}: ${parsed.error}.` });
    } else {
      settings[field.param] = parsed.value;
    }
  }
  return { settings, errors };
}

/** The query string for settings, keeping unrelated params of `search`; every field is written. */
export function toSearch(settings, search = location.search) {
  const query = new URLSearchParams(search);
  for (const field of FIELDS) query.set(field.param, field.format(settings[field.param]));
  return `?${query}`;
}

/** Replaces the address bar's query with `settings` (no reload, no history entry). */
export function writeSettings(settings) {
  history.replaceState(null, '', `${location.pathname}${toSearch(settings)}${location.hash}`);
}

/**
 * The facade config for settings: `base` (the config in use) with the page's fields applied.
 * With `base = {}` it is only the fields the page controls, for the worker to lay over the
 * model's own defaults.
 */
export function toConfig(settings, base = DEFAULT_CONFIG) {
  const config = { ...base };
  for (const field of FIELDS) {
    if (!field.key) continue;
    const value = settings[field.param];
    config[field.key] = Array.isArray(value) ? [...value] : value;
  }
  return config;
}

/** Settings (keyed by URL param) that a facade config implies, with the page-only ones from `extra`. */
export function fromConfig(config, extra = {}) {
  return { ...defaultSettings(config), ...extra };
}
