// The page's settings (www/settings.js): what a link sets is read, reported and written back as its
// author wrote it, on a schema shaped like src/config.rs's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checker, createSettings } from '../../www/settings.js';

const schema = {
  defaults: { latentDim: 2, hidden: [400], activation: 'relu', decoder: 'bernoulli', estimator: 'sgvb-b', batchSize: 100, learningRate: 0.001, seed: 42 },
  fields: [
    { key: 'latentDim', kind: 'integer', min: 1, max: 256 },
    { key: 'hidden', kind: 'integerList', min: 1, max: 4096, minItems: 1, maxItems: 4 },
    { key: 'activation', kind: 'choice', choices: ['relu', 'tanh'] },
    { key: 'decoder', kind: 'choice', choices: ['bernoulli', 'gaussian'] },
    { key: 'estimator', kind: 'choice', choices: ['sgvb-b', 'sgvb-a'] },
    { key: 'batchSize', kind: 'integer', min: 1, max: 1000 },
    { key: 'learningRate', kind: 'number', min: 0, max: 1, minExclusive: true },
  ],
};

test('a link’s settings are read, and `given` names the ones it set to a valid value', () => {
  const state = createSettings(schema);
  const { settings, errors, given } = state.readSettings('?backend=cpu&lr=0.01&hidden=300,200&batch=abc');
  assert.equal(settings.lr, 0.01);
  assert.deepEqual(settings.hidden, [300, 200]);
  assert.equal(settings.batch, 100, 'a bad value falls back to the default');
  assert.equal(settings.backend, 'cpu');
  assert.deepEqual([...given].sort(), ['backend', 'hidden', 'lr']);
  assert.equal(errors.length, 1);
  assert.match(errors[0].message, /^Setting batch in the URL: "abc" is not a whole number; using the default, 100\.$/);
});

test('written back, the address keeps what its author wrote and adds only what differs from the defaults', () => {
  const state = createSettings(schema);
  const written = '?backend=cpu&lr=0.01&hidden=300';
  const { settings } = state.readSettings(written);
  assert.equal(state.toSearch(settings, written), written, 'unchanged settings: the same address');
  // The author wrote a default value: it stays; a setting changed to a non-default one is added.
  assert.equal(state.toSearch({ ...state.defaults, latentDim: 20 }, '?lr=0.001'), '?lr=0.001&latentDim=20');
  // A setting changed back to its default stays where the author wrote it, with the new value.
  assert.equal(state.toSearch({ ...settings, lr: 0.001 }, written), '?backend=cpu&lr=0.001&hidden=300');
  // Nothing written, nothing to say: an address without a query.
  assert.equal(state.toSearch(state.defaults, ''), '');
  // Unrelated parameters are kept.
  assert.equal(state.toSearch(state.defaults, '?threads=2'), '?threads=2');
});

test('each kind of field parses what it should and says why it refuses the rest', () => {
  const integer = checker({ kind: 'integer', min: 1, max: 256 });
  assert.deepEqual(integer.parse('20'), { value: 20 });
  assert.deepEqual(integer.parse('2.5'), { error: '"2.5" is not a whole number' });
  assert.deepEqual(integer.parse(' '), { error: '" " is not a whole number' });
  assert.deepEqual(integer.parse('0'), { error: '0 is outside 1–256' });
  assert.deepEqual(integer.parse('257'), { error: '257 is outside 1–256' });

  const rate = checker({ kind: 'number', min: 0, max: 1, minExclusive: true });
  assert.deepEqual(rate.parse('1e-3'), { value: 0.001 });
  assert.deepEqual(rate.parse('1'), { value: 1 }, 'the max itself is allowed');
  assert.deepEqual(rate.parse('0'), { error: '0 is outside (0, 1]' }, 'an exclusive min is not');
  assert.deepEqual(rate.parse('Infinity'), { error: '"Infinity" is not a number' });
  assert.deepEqual(checker({ kind: 'number', min: 0, max: 1 }).parse('0'), { value: 0 });

  const choice = checker({ kind: 'choice', choices: ['relu', 'tanh'] });
  assert.deepEqual(choice.parse('tanh'), { value: 'tanh' });
  assert.deepEqual(choice.parse('Tanh'), { error: '"Tanh" is not one of relu, tanh' });

  const hidden = checker({ kind: 'integerList', min: 1, max: 4096, minItems: 1, maxItems: 4 });
  assert.deepEqual(hidden.parse('400, 200'), { value: [400, 200] });
  assert.equal(hidden.format([400, 200]), '400,200');
  assert.deepEqual(hidden.parse('1,2,3,4,5'), { error: '"1,2,3,4,5" must list 1 to 4 layer sizes' });
  assert.deepEqual(hidden.parse('400,0'), { error: '"400,0": each layer size must be a whole number in 1–4096' });
  assert.throws(() => checker({ kind: 'matrix' }), /unknown kind of config field: matrix/);
});

test('a schema without a field the page exposes is refused at once', () => {
  const fields = schema.fields.filter((f) => f.key !== 'decoder');
  assert.throws(() => createSettings({ ...schema, fields }), /the model has no config field decoder/);
});

test('an address naming settings the page does not have: one message, the rest still read', () => {
  const { settings, errors, given } = createSettings(schema).readSettings('?latent=3&lr=0.1&foo=1&latent=4&threads=2');
  assert.equal(settings.lr, 0.1);
  assert.deepEqual([...given], ['lr']);
  assert.equal(errors.length, 1);
  assert.match(errors[0].message, /^The address names settings this page does not have: latent, foo \(ignored\)\. It has latentDim, hidden, /);
});

test('the form is checked like the address, with the label in the message; the rest is kept', () => {
  const settings = createSettings(schema);
  const { settings: parsed, errors } = settings.parseForm({ latentDim: '20', batch: '0' }, { ...settings.defaults, lr: 0.01 });
  assert.equal(parsed.latentDim, 20);
  assert.equal(parsed.batch, 100, 'a bad value keeps the base');
  assert.equal(parsed.lr, 0.01, 'a field the form did not send keeps the base');
  assert.deepEqual(errors.map((e) => e.message), ['Batch size: 0 is outside 1–1000.']);
});

test('settings become a config (the page-only ones left out) and come back from one', () => {
  const settings = createSettings(schema);
  const chosen = { ...settings.defaults, latentDim: 20, hidden: [300, 200], backend: 'cpu' };
  const config = settings.toConfig(chosen);
  assert.deepEqual(config, { ...schema.defaults, latentDim: 20, hidden: [300, 200] });
  assert.ok(!('backend' in config) && !('model' in config));
  assert.notEqual(config.hidden, chosen.hidden, 'the list is a copy');
  assert.deepEqual(settings.toConfig(chosen, {}), { latentDim: 20, hidden: [300, 200], learningRate: 0.001, batchSize: 100, estimator: 'sgvb-b', decoder: 'bernoulli', activation: 'relu' });
  assert.deepEqual(settings.fromConfig(config, { backend: 'cpu', model: 'scratch' }), { ...chosen, model: 'scratch' });
});
