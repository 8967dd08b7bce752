// The repair panel's latent view, its words: what it says it shows for each method.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeLatent, LATENT_HALF, latentWindow } from '../../www/explorer/repair-view.js';

test('the latent view says what it draws, method by method, and on which plane', () => {
  const qMu = [0.4, -1.25, 3];
  const grid = describeLatent({ dim: 2, posterior: { side: 64, halfWidth: 4, masses: new Float32Array(4096) }, qMu: qMu.slice(0, 2), z: new Float32Array(16), chain: false });
  assert.match(grid, /latent plane, around what it draws: the exact posterior p\(z \| y\) as a heat map/);
  assert.match(grid, /q\(z \| x̃\) centred at \(0\.40, -1\.25\)/);
  const chain = describeLatent({ dim: 3, posterior: null, qMu, z: new Float32Array(3 * 250), chain: true });
  assert.match(chain, /z₁ and z₂ \(of 3 dimensions\)/);
  assert.match(chain, /the chain's path through its 250 kept states/);
  const draws = describeLatent({ dim: 3, posterior: null, qMu, z: new Float32Array(3 * 8), chain: false });
  assert.match(draws, /the 8 draws behind the repairs as dots/);
  assert.equal(LATENT_HALF, 4, "the view's window is the repair grid's (src/session.rs)");
});

test("the latent view's window holds q's 2σ ellipse, the draws and p(z | y)'s mass, within the grid", () => {
  // q at (1, 1) with σ = 0.1; two draws at (1.5, 0.8) and (1.2, 1.4): x from 0.8 to 1.5, y from 0.8 to 1.4.
  const w = latentWindow({ dim: 2, posterior: null, qMu: [1, 1], qLogVar: [2 * Math.log(0.1), 2 * Math.log(0.1)], z: new Float32Array([1.5, 0.8, 1.2, 1.4]) });
  assert.ok(Math.abs(w.cx - 1.15) < 1e-6 && Math.abs(w.cy - 1.1) < 1e-6, `centre (${w.cx}, ${w.cy})`);
  assert.ok(Math.abs(w.half - 0.5) < 1e-9, 'at least half a unit across either side');
  // A grid whose one cell of mass sits at the corner (row 0, column 0: z = (−3.9375, −3.9375)).
  const masses = new Float32Array(64 * 64);
  masses[0] = 1;
  const g = latentWindow({ dim: 2, posterior: { side: 64, masses }, qMu: [2, 2], qLogVar: [0, 0], z: new Float32Array(0) });
  assert.ok(g.half <= LATENT_HALF && g.cx - g.half >= -LATENT_HALF - 1e-9 && g.cy + g.half <= LATENT_HALF + 1e-9, JSON.stringify(g));
  assert.ok(g.cx - g.half <= -3.9375 && g.cx + g.half >= 4, 'both the mass and the ellipse are in view');
});
