// The page's settings (www/settings.js): what a link sets is read, reported and written back as its
// author wrote it, on a schema shaped like src/config.rs's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSettings } from '../../www/settings.js';

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
