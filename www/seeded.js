// Seeded uniform numbers for what must come out the same everywhere and every time (the repair
// panel's random masks, the split of a visitor's images, the tests' generated data): not
// cryptographic, just fast and reproducible.

/**
 * Mulberry32: a generator of uniform numbers in [0, 1) from a 32-bit `seed`.
 * @param {number} seed
 * @returns {() => number}
 */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
