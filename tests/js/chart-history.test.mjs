// The chart's history (www/chart-history.js), kept by the worker and by the page with the same
// rules: a point per x, a point at the last x replacing it, and a rollback dropping the future.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SERIES_KEYS, dropAfter, emptyHistory, record } from '../../www/chart-history.js';

const point = (examplesSeen, loss) => ({ examplesSeen, loss, reconstruction: loss - 1, kl: 1, step: examplesSeen / 100 });

test('points are appended as parallel arrays against examples seen', () => {
  const h = emptyHistory();
  record(h.train, point(100, 200));
  record(h.train, point(300, 150));
  assert.deepEqual(h.train, { x: [100, 300], loss: [200, 150], reconstruction: [199, 149], kl: [1, 1] });
  assert.deepEqual(h.test, { x: [], loss: [], reconstruction: [], kl: [] }, 'the other series untouched');
  assert.deepEqual(Object.keys(h.train), [...SERIES_KEYS]);
});

test('a point at the x of the last one replaces it, in every field', () => {
  const series = emptyHistory().test;
  record(series, point(100, 200));
  record(series, point(300, 150));
  record(series, point(300, 140)); // a bound taken again at the same step
  assert.deepEqual(series, { x: [100, 300], loss: [200, 140], reconstruction: [199, 139], kl: [1, 1] });
  record(series, point(100, 90)); // only the last point is replaced; an earlier x is appended
  assert.deepEqual(series.x, [100, 300, 100]);
});

test('dropAfter keeps the points up to examples seen, and nothing after', () => {
  const series = emptyHistory().train;
  for (const [x, loss] of [[100, 9], [200, 8], [300, 7], [400, 6]]) record(series, point(x, loss));
  dropAfter(series, 250);
  assert.deepEqual(series, { x: [100, 200], loss: [9, 8], reconstruction: [8, 7], kl: [1, 1] });
  dropAfter(series, 200);
  assert.deepEqual(series.x, [100, 200], 'a point at exactly that x stays');
  dropAfter(series, 0);
  assert.deepEqual(series, emptyHistory().train);
});

test('each history is its own: no arrays shared between two', () => {
  const a = emptyHistory();
  const b = emptyHistory();
  record(a.train, point(100, 1));
  assert.equal(b.train.x.length, 0);
});
