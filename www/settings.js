// Settings of the page: which config fields the page exposes, under which URL names and labels,
// how they read from and write to the URL query, and how they become the model's config.
//
//   ?latentDim=2&hidden=400&lr=0.001&batch=100&estimator=sgvb-b&decoder=bernoulli&activation=relu&backend=auto
//
// The defaults and the ranges are not written here: they come from the model itself (the
// worker's `schema`, built from src/config.rs), so the page says what is wrong before it sends a
// config, with the same limits Rust enforces. A bad value never stops the page: it is replaced
// by the default and reported as one clear message per field.
//
// A link reproduces what its author wrote: the page writes back only the settings that differ
// from the defaults and those the address already names, so a link keeps its own words.

/** The config fields the page exposes: URL name, config key, label. */
const EXPOSED = [
  { param: 'latentDim', key: 'latentDim', label: 'Latent dimension' },
  { param: 'hidden', key: 'hidden', label: 'Hidden units' },
  { param: 'lr', key: 'learningRate', label: 'Learning rate' },
  { param: 'batch', key: 'batchSize', label: 'Batch size' },
  { param: 'estimator', key: 'estimator', label: 'Estimator' },
  { param: 'decoder', key: 'decoder', label: 'Decoder' },
  { param: 'activation', key: 'activation', label: 'Activation' },
];

/**
 * Page-only settings: where the model runs (chosen once per worker), and what the page opens
 * with (a model trained natively, or a fresh one to train from scratch).
 */
const PAGE_ONLY = [
  { param: 'backend', key: null, label: 'Backend', choices: ['auto', 'webgpu', 'cpu'], fallback: 'auto' },
  { param: 'model', key: null, label: 'Model', choices: ['trained', 'scratch'], fallback: 'trained' },
];

const integer = (min, max) => (text) => {
  const value = Number(text);
  if (String(text).trim() === '' || !Number.isInteger(value)) return { error: `"${text}" is not a whole number` };
  if (value < min || value > max) return { error: `${value} is outside ${min}–${max}` };
  return { value };
};

const oneOf = (choices) => (text) =>
  choices.includes(text) ? { value: text } : { error: `"${text}" is not one of ${choices.join(', ')}` };

/** `parse(text) -> { value } | { error }` and `format(value) -> text` for one FieldSpec. */
export function checker(spec) {
  switch (spec.kind) {
    case 'integer':
      return { parse: integer(spec.min, spec.max), format: String };
    case 'number':
      return {
        parse: (text) => {
          const value = Number(text);
          if (String(text).trim() === '' || !Number.isFinite(value)) return { error: `"${text}" is not a number` };
          const low = spec.minExclusive ? value <= spec.min : value < spec.min;
          if (low || value > spec.max) {
            const range = spec.minExclusive ? `(${spec.min}, ${spec.max}]` : `${spec.min}–${spec.max}`;
            return { error: `${value} is outside ${range}` };
          }
          return { value };
        },
        format: String,
      };
    case 'choice':
      return { parse: oneOf(spec.choices), format: String };
    case 'integerList': {
      const item = integer(spec.min, spec.max);
      return {
        parse: (text) => {
          const parts = String(text).split(',').map((part) => part.trim());
          if (parts.length < spec.minItems || parts.length > spec.maxItems) {
            return { error: `"${text}" must list ${spec.minItems} to ${spec.maxItems} layer sizes` };
          }
          const values = [];
          for (const part of parts) {
            const parsed = item(part);
            if (parsed.error) return { error: `"${text}": each layer size must be a whole number in ${spec.min}–${spec.max}` };
            values.push(parsed.value);
          }
          return { value: values };
        },
        format: (values) => values.join(','),
      };
    }
    default:
      throw new Error(`unknown kind of config field: ${spec.kind}`);
  }
}

/**
 * The page's settings for a model schema (protocol.js's ConfigSchema): `fields` (each `{ param,
 * key, label, parse, format }`, `key` null for the page-only ones), the default settings, and
 * the conversions below bound to them.
 */
export function createSettings(schema) {
  const specs = new Map(schema.fields.map((spec) => [spec.key, spec]));
  const fields = EXPOSED.map((field) => {
    const spec = specs.get(field.key);
    if (!spec) throw new Error(`the model has no config field ${field.key}`);
    return { ...field, ...checker(spec) };
  });
  for (const field of PAGE_ONLY) fields.push({ ...field, ...checker({ kind: 'choice', choices: field.choices }) });
  const defaults = fromConfigWith(fields, schema.defaults);
  return {
    fields,
    defaults,
    readSettings: (search) => readSettings(fields, search, defaults),
    parseForm: (texts, base = defaults) => parseForm(fields, texts, base),
    toSearch: (settings, search = location.search) => toSearch(fields, settings, search, defaults),
    writeSettings: (settings) => history.replaceState(null, '', `${location.pathname}${toSearch(fields, settings, location.search, defaults)}${location.hash}`),
    toConfig: (settings, base = schema.defaults) => toConfig(fields, settings, base),
    fromConfig: (config, extra = {}) => ({ ...fromConfigWith(fields, config), ...extra }),
  };
}

function fromConfigWith(fields, config) {
  const settings = {};
  for (const field of fields) settings[field.param] = field.key ? config[field.key] : field.fallback;
  return settings;
}

/**
 * URL parameters the page reads besides the settings: the CPU's threads (`?threads=N`, checked by
 * the worker, www/worker/facade.js) and fault injection for the tests.
 */
const OTHER_PARAMS = ['threads', 'faults', 'race'];

/**
 * Reads settings from a query string. Returns `{ settings, errors, given }`: every field has a
 * valid value (the default where the URL had none or a bad one); `errors` holds one
 * `{ param, label, value, message }` per bad field, `message` a full sentence for the page;
 * `given` is the set of params the URL set to a valid value.
 */
export function readSettings(fields, search, defaults) {
  const query = new URLSearchParams(search);
  const settings = { ...defaults };
  const errors = [];
  const given = new Set();
  const known = new Set([...fields.map((f) => f.param), ...OTHER_PARAMS]);
  const unknown = [...new Set([...query.keys()].filter((key) => !known.has(key)))];
  if (unknown.length) {
    errors.push({
      param: unknown[0],
      label: unknown[0],
      value: query.get(unknown[0]),
      message: `The address names ${unknown.length === 1 ? 'a setting' : 'settings'} this page does not have: ${unknown.join(', ')} (ignored). It has ${fields.map((f) => f.param).join(', ')}.`,
    });
  }
  for (const field of fields) {
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
      given.add(field.param);
    }
  }
  return { settings, errors, given };
}

/** Validates raw form texts keyed by param, as `readSettings` does; same result shape. */
export function parseForm(fields, texts, base) {
  const settings = { ...base };
  const errors = [];
  for (const field of fields) {
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

/**
 * The query string for settings, keeping unrelated params of `search`: a field is written where
 * `search` names it or its value is not the default's.
 */
export function toSearch(fields, settings, search, defaults) {
  const query = new URLSearchParams(search);
  for (const field of fields) {
    const text = field.format(settings[field.param]);
    if (query.has(field.param) || text !== field.format(defaults[field.param])) query.set(field.param, text);
  }
  const written = query.toString();
  return written ? `?${written}` : '';
}

/**
 * The config for settings: `base` with the page's fields applied. With `base = {}` it is only
 * the fields the page controls, for the worker to lay over the model's own defaults.
 */
export function toConfig(fields, settings, base) {
  const config = { ...base };
  for (const field of fields) {
    if (!field.key) continue;
    const value = settings[field.param];
    config[field.key] = Array.isArray(value) ? [...value] : value;
  }
  return config;
}
