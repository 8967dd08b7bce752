// The explorer's small pieces of maths and scheduling: principal axes, the latent slice, normal
// draws, and the request schedulers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { principalAxes } from '../../www/explorer/pca.js';
import { Slice, covarianceEllipse } from '../../www/explorer/slice.js';
import { standardNormal } from '../../www/explorer/gaussian.js';
import { latestOnly, throttle } from '../../www/explorer/schedule.js';

const close = (a, b, tol, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b}`);

test('principal axes of points spread along known directions', () => {
  // 3-D points: big spread along (1, 1, 0)/√2, smaller along z, tiny along (1, −1, 0)/√2.
  const pts = [];
  const s = Math.SQRT1_2;
  for (let i = 0; i < 200; i++) {
    const a = 5 * Math.sin(i * 0.37), b = 2 * Math.cos(i * 1.13), c = 0.1 * Math.sin(i * 2.71);
    pts.push(1 + s * a + s * c, -2 + s * a - s * c, 3 + b);
  }
  const { mean, axes, variances } = principalAxes(Float32Array.from(pts), 200, 3);
  close(mean[0], 1, 0.1, 'mean x');
  close(mean[2], 3, 0.1, 'mean z');
  close(Math.abs(axes[0][0]), s, 1e-3, 'axis 1 x');
  close(Math.abs(axes[0][1]), s, 1e-3, 'axis 1 y');
  close(Math.abs(axes[1][2]), 1, 1e-3, 'axis 2 z');
  assert.ok(variances[0] > variances[1]);
  close(axes[0][0] * axes[1][0] + axes[0][1] * axes[1][1] + axes[0][2] * axes[1][2], 0, 1e-9, 'orthogonal');

  // Flipping to match previous axes.
  const neg = [axes[0].map((v) => -v), axes[1].map((v) => -v)];
  const again = principalAxes(Float32Array.from(pts), 200, 3, { previous: neg });
  assert.ok(again.axes[0][0] * neg[0][0] + again.axes[0][1] * neg[0][1] > 0);
});

test('principal axes of a 2-D cloud with no spread in one direction', () => {
  const pts = new Float32Array(2 * 50);
  for (let i = 0; i < 50; i++) pts[2 * i] = i; // all on the x-axis
  const { axes, variances } = principalAxes(pts, 50, 2);
  close(Math.abs(axes[0][0]), 1, 1e-9);
  close(variances[1], 0, 1e-9);
});

test('a slice along two dimensions keeps the other coordinates of its base', () => {
  const s = new Slice(4);
  s.setDims(2, 0);
  s.setBase([1, 2, 3, 4]);
  assert.deepEqual(Array.from(s.toLatent(-1, 5)), [5, 2, -1, 4]);
  assert.deepEqual(Array.from(s.project(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), 2)), [3, 1, 7, 5]);
  const cov = s.projectCovariance(Float32Array.from([0, Math.log(4), Math.log(9), 0]), 1);
  assert.deepEqual(Array.from(cov, (v) => +v.toFixed(5)), [9, 0, 1]);
  assert.throws(() => s.setDims(1, 1), RangeError);
});

test('a tilted slice: coordinates along u and v replaced, the orthogonal rest kept', () => {
  const s = new Slice(3);
  const r = Math.SQRT1_2;
  s.setAxes([r, r, 0], [0, 0, 1]);
  s.setBase([1, -1, 7]);
  const z = s.toLatent(Math.SQRT2, 0);
  // Along u: √2 → (1, 1); orthogonal part of the base along (1, −1, 0) kept: (1, −1).
  assert.deepEqual(Array.from(z, (v) => +v.toFixed(6)), [2, 0, 0]);
  const [a, b] = s.coords(z);
  close(a, Math.SQRT2, 1e-6);
  close(b, 0, 1e-6);
  // Covariance of diag(1, 4, 1) along u: (1 + 4)/2.
  const cov = s.projectCovariance(Float32Array.from([0, Math.log(4), 0]), 1);
  close(cov[0], 2.5, 1e-6);
});

test('a 1-D latent space: the second plane direction is empty', () => {
  const s = new Slice(1);
  assert.deepEqual(Array.from(s.toLatent(0.5, 3)), [0.5]);
  assert.deepEqual(Array.from(s.project(Float32Array.from([2]), 1)), [2, 0]);
});

test('covariance ellipse: axis-aligned and rotated', () => {
  const e = covarianceEllipse(4, 0, 1);
  assert.deepEqual([e.rx, e.ry, e.angle], [2, 1, 0]);
  const r = covarianceEllipse(2.5, 1.5, 2.5); // eigenvalues 4 and 1 along the diagonals
  close(r.rx, 2, 1e-12);
  close(r.ry, 1, 1e-12);
  close(r.angle, Math.PI / 4, 1e-12);
});

test('standard normal draws have mean ≈ 0 and variance ≈ 1', () => {
  let seed = 1;
  const rng = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
  const x = standardNormal(20001, rng);
  assert.equal(x.length, 20001);
  let m = 0, v = 0;
  for (const a of x) m += a;
  m /= x.length;
  for (const a of x) v += (a - m) ** 2;
  v /= x.length;
  close(m, 0, 0.03, 'mean');
  close(v, 1, 0.05, 'variance');
});

test('latestOnly runs the newest value and skips the ones in between', async () => {
  const ran = [];
  let release;
  const q = latestOnly(async (v) => {
    ran.push(v);
    if (v === 1) await new Promise((r) => (release = r));
  });
  q.submit(1);
  q.submit(2);
  q.submit(3);
  q.submit(4);
  assert.ok(q.busy);
  release();
  await q.idle();
  assert.deepEqual(ran, [1, 4]);
  assert.equal(q.busy, false);
});

test('latestOnly keeps going after a failed run', async () => {
  const errors = [];
  const ran = [];
  const q = latestOnly(async (v) => {
    ran.push(v);
    if (v === 'bad') throw new Error('no');
  }, (e) => errors.push(e.message));
  q.submit('bad');
  await q.idle();
  q.submit('good');
  await q.idle();
  assert.deepEqual(ran, ['bad', 'good']);
  assert.deepEqual(errors, ['no']);
});

test('throttle: at most one run per interval, never two at once, requests folded', async () => {
  let t = 0;
  const timers = [];
  const env = {
    now: () => t,
    setTimer: (fn, ms) => { const h = { fn, at: t + ms }; timers.push(h); return h; },
    clearTimer: (h) => { const i = timers.indexOf(h); if (i >= 0) timers.splice(i, 1); },
  };
  const fire = async () => { const h = timers.shift(); t = Math.max(t, h.at); await h.fn(); };
  let runs = 0, inFlight = 0, maxInFlight = 0, release;
  const th = throttle(async () => {
    runs++; inFlight++; maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => (release = r));
    inFlight--;
  }, 1500, env);

  th.request();
  th.request();
  assert.equal(timers.length, 1);
  assert.equal(timers[0].at, 0);
  const first = fire();
  await Promise.resolve();
  th.request(); // while in flight: marks dirty
  th.request();
  assert.equal(timers.length, 0);
  t = 200;
  release();
  await first;
  assert.equal(timers.length, 1, 'one follow-up run scheduled');
  assert.equal(timers[0].at, 1500, 'not before the interval has passed');
  const second = fire();
  await Promise.resolve();
  release();
  await second;
  assert.equal(runs, 2);
  assert.equal(maxInFlight, 1);
  assert.equal(timers.length, 0);
  th.request({ immediate: true });
  assert.equal(timers[0].at, t);
  th.stop();
  assert.equal(timers.length, 0);
});
