// The explorer's store (www/explorer/store.js): notification semantics, and the transitions the
// controllers ask for, on small latent spaces whose answers are worked out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createStore,
  endFromTest,
  endFromYours,
  initialState,
  moveHandle,
  selectDigit,
  setEnd,
  withDimension,
  withDims,
  withEncodings,
  withPrincipalAxes,
  withYours,
} from '../../www/explorer/store.js';
import { Slice } from '../../www/explorer/slice.js';

const close = (a, b, tol = 1e-6, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b}`);
const closeAll = (xs, ys, tol = 1e-6) => {
  assert.equal(xs.length, ys.length);
  xs.forEach((x, i) => close(x, ys[i], tol, `[${i}]`));
};

/** Three test digits in 3-D: μ on the axes, log σ² = 0. */
const encodings3 = () => ({
  mu: Float32Array.from([1, 0, 0, 0, 2, 0, 0, 0, 3]),
  logVar: new Float32Array(9),
  labels: Uint8Array.from([7, 1, 4]),
});

test('a store notifies the keys that changed, once per update, with the new state', () => {
  const store = createStore({ a: 1, b: 'x', c: null });
  const calls = [];
  const unsubscribe = store.subscribe((state, changed) => calls.push([state, [...changed].sort()]));
  store.update({ a: 2, b: 'x' }); // b is unchanged
  assert.deepEqual(calls.map((c) => c[1]), [['a']]);
  assert.equal(calls[0][0], store.get());
  assert.deepEqual(store.get(), { a: 2, b: 'x', c: null });
  store.update({ a: 2 }); // nothing changed: no notification
  store.update(null);
  store.update((s) => ({ c: s.a + 1 }));
  assert.deepEqual(calls.map((c) => c[1]), [['a'], ['c']]);
  assert.equal(store.get().c, 3);
  unsubscribe();
  store.update({ a: 5 });
  assert.equal(calls.length, 2);
});

test('the state is frozen and unknown keys are refused', () => {
  const store = createStore({ a: 1 });
  assert.ok(Object.isFrozen(store.get()));
  assert.throws(() => store.update({ typo: 1 }), /no "typo"/);
  const before = store.get();
  store.update({ a: 2 });
  assert.equal(before.a, 1, 'an old state stays as it was');
});

test('an update made by a listener is notified after the current round, to every listener', () => {
  const store = createStore({ a: 0, b: 0 });
  const seen = [];
  store.subscribe((state, changed) => {
    seen.push(`first ${[...changed]} a=${state.a} b=${state.b}`);
    if (changed.has('a')) store.update({ b: state.a * 10 });
  });
  store.subscribe((state, changed) => seen.push(`second ${[...changed]} a=${state.a} b=${state.b}`));
  store.update({ a: 1 });
  assert.deepEqual(seen, ['first a a=1 b=0', 'second a a=1 b=10', 'first b a=1 b=10', 'second b a=1 b=10']);
});

test("a listener's exception goes to onError and the others still run", () => {
  const errors = [];
  const store = createStore({ a: 0 }, { onError: (e) => errors.push(e.message) });
  let ran = false;
  store.subscribe(() => {
    throw new Error('boom');
  });
  store.subscribe(() => (ran = true));
  store.update({ a: 1 });
  assert.deepEqual(errors, ['boom']);
  assert.ok(ran);
  store.update({ a: 2 }); // and the store still works
  assert.equal(store.get().a, 2);
});

test('a new dimension: plane on z1, z2 through the origin; old μ forgotten, pixels kept', () => {
  let s = { ...initialState() };
  s = { ...s, ...withYours(s, 'upload', { pixels: new Float32Array(784), name: 'a.png', mu: Float32Array.of(1, 2), logVar: Float32Array.of(0, 0) }) };
  s = { ...s, segment: { a: Float32Array.of(0, 0), b: Float32Array.of(1, 1) }, selected: 3 };
  const patch = withDimension(s, 3);
  assert.equal(patch.dim, 3);
  assert.ok(patch.slice instanceof Slice);
  assert.deepEqual([patch.slice.dimX, patch.slice.dimY], [0, 1]);
  assert.deepEqual(Array.from(patch.handle.z), [0, 0, 0]);
  assert.equal(patch.handle.time, null);
  assert.equal(patch.selected, null);
  assert.equal(patch.test, null);
  assert.equal(patch.segment, null);
  assert.equal(patch.yours.upload.mu, null);
  assert.equal(patch.yours.upload.name, 'a.png');
  assert.equal(patch.yours.drawing, null);
  assert.deepEqual(withDimension({ ...s, ...patch }, 3), {}, 'the same dimension changes nothing');
});

test('moving the handle computes z on the slice', () => {
  let s = initialState();
  s = { ...s, ...withDimension(s, 3) };
  const { handle } = moveHandle(s, 0.5, -1, 42);
  assert.deepEqual(Array.from(handle.z), [0.5, -1, 0]);
  assert.equal(handle.time, 42);
  assert.deepEqual(moveHandle(initialState(), 1, 1), {}, 'no slice yet: nothing');
});

test('encodings: the dimension follows them; the selected digit stays the base', () => {
  let s = initialState();
  s = { ...s, ...withEncodings(s, encodings3()) };
  assert.equal(s.dim, 3);
  assert.equal(s.test.n, 3);
  assert.deepEqual(Array.from(s.handle.z), [0, 0, 0]);

  // Select digit 2 (μ = (0, 0, 3)): the base is its μ, the handle jumps to its plane point (0, 0).
  s = { ...s, ...selectDigit(s, 2, 7) };
  assert.equal(s.selected, 2);
  assert.deepEqual(Array.from(s.handle.z), [0, 0, 3]);
  assert.equal(s.handle.time, 7);

  // New encodings move digit 2 to (0, 0, 5): z follows the base, the plane point stays.
  s = { ...s, ...moveHandle(s, 1, 1) };
  const moved = encodings3();
  moved.mu[8] = 5;
  const before = s.slice;
  s = { ...s, ...withEncodings(s, moved) };
  assert.notEqual(s.slice, before, 'a changed slice is a new object');
  assert.equal(before.base[2], 3, 'the old slice is unchanged');
  assert.deepEqual(Array.from(s.handle.z), [1, 1, 5]);
  assert.equal(s.selected, 2);

  // Without a selection or principal axes the slice stays the same object.
  s = { ...s, ...selectDigit(s, null) };
  assert.equal(s.selected, null);
  assert.deepEqual(Array.from(s.handle.z), [1, 1, 0], 'deselecting puts the base back at the origin');
  const slice = s.slice;
  s = { ...s, ...withEncodings(s, moved) };
  assert.equal(s.slice, slice);
});

test('changing the plane keeps the handle’s coordinates along the new axes; the rest is the base’s', () => {
  let s = initialState();
  s = { ...s, ...withEncodings(s, encodings3()) };
  s = { ...s, ...selectDigit(s, 2) }; // base (0, 0, 3)
  s = { ...s, ...moveHandle(s, 0.5, 2) }; // z = (0.5, 2, 3)
  s = { ...s, ...withDims(s, 2, 0) }; // the plane spans z3 and z1
  assert.deepEqual([s.slice.dimX, s.slice.dimY], [2, 0]);
  assert.deepEqual([s.handle.a, s.handle.b], [3, 0.5]);
  assert.deepEqual(Array.from(s.handle.z), [0.5, 0, 3], 'z2 comes from the base');
});

test('principal axes: only once there are encodings; they span the spread', () => {
  let s = initialState();
  s = { ...s, ...withDimension(s, 3) };
  assert.deepEqual(withPrincipalAxes(s), {});
  // Four points around the origin, spread most along z3, then along z2, not at all along z1.
  const spread = { mu: Float32Array.from([0, 0, 3, 0, 0, -3, 0, 1, 0, 0, -1, 0]), logVar: new Float32Array(12), labels: Uint8Array.of(0, 1, 2, 3) };
  s = { ...s, ...withEncodings(s, spread) };
  s = { ...s, ...withPrincipalAxes(s) };
  assert.equal(s.slice.mode, 'pca');
  close(Math.abs(s.slice.u[2]), 1, 1e-6, 'first axis along z3');
  close(Math.abs(s.slice.v[1]), 1, 1e-6, 'second axis along z2');
  // Refreshed encodings keep the axes' orientation.
  const u = Array.from(s.slice.u);
  s = { ...s, ...withEncodings(s, spread) };
  closeAll(Array.from(s.slice.u), u);
});

test('interpolation ends from the user’s digits and from the selected test digit', () => {
  let s = initialState();
  assert.equal(endFromYours(s, 'upload'), null);
  assert.equal(endFromTest(s), null);
  const pixels = new Float32Array(784).fill(0.5);
  s = { ...s, ...withYours(s, 'upload', { pixels, name: 'seven.png', mu: null, logVar: null }) };
  s = { ...s, ...withYours(s, 'drawing', { pixels, mu: null, logVar: null }) };
  assert.deepEqual(endFromYours(s, 'upload'), { pixels, testIndex: null, text: 'seven.png' });
  assert.equal(endFromYours(s, 'drawing').text, 'drawing');

  s = { ...s, ...withEncodings(s, encodings3()) };
  s = { ...s, ...selectDigit(s, 1) };
  assert.deepEqual(endFromTest(s), { pixels: null, testIndex: 1, text: 'test #1 (1)' }, 'no test images: no picture');
  const images = new Float32Array(3 * 784).map((_, i) => Math.floor(i / 784) / 2);
  s = { ...s, images };
  const end = endFromTest(s);
  assert.equal(end.pixels.length, 784);
  assert.ok(end.pixels.every((v) => v === 0.5), 'the selected digit’s own pixels');

  const ends = setEnd(s, 'B', end).ends;
  assert.equal(ends.B, end);
  assert.equal(ends.A, null);
  assert.notEqual(ends, s.ends);
});
