// The repair panel's latent view, its words: what it says it shows for each method.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeLatent, LATENT_HALF } from '../../www/explorer/repair-view.js';

test('the latent view says what it draws, method by method, and on which plane', () => {
  const qMu = [0.4, -1.25, 3];
  const grid = describeLatent({ dim: 2, posterior: { side: 64, halfWidth: 4, masses: new Float32Array(4096) }, qMu: qMu.slice(0, 2), z: new Float32Array(16), chain: false });
  assert.match(grid, /latent plane, from −4 to 4: the exact posterior p\(z \| y\) as a heat map/);
  assert.match(grid, /q\(z \| x̃\) centred at \(0\.40, -1\.25\)/);
  const chain = describeLatent({ dim: 3, posterior: null, qMu, z: new Float32Array(3 * 250), chain: true });
  assert.match(chain, /z₁ and z₂ \(of 3 dimensions\)/);
  assert.match(chain, /the chain's path through its 250 kept states/);
  const draws = describeLatent({ dim: 3, posterior: null, qMu, z: new Float32Array(3 * 8), chain: false });
  assert.match(draws, /the 8 draws behind the repairs as dots/);
  assert.equal(LATENT_HALF, 4, "the view's window is the repair grid's (src/session.rs)");
});
