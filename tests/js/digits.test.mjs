// The one digit renderer (www/views/digits.js): layout of the grid, ink and paper, gaps, clipping,
// and drawing one digit of many, on images whose pixels are known.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INK_ON_PAPER, PIXELS, WHITE_ON_BLACK, drawDigit, drawDigits, renderDigits } from '../../www/views/digits.js';

const rgb = ({ width, data }, x, y) => Array.from(data.subarray(4 * (y * width + x), 4 * (y * width + x) + 3));

/** A minimal 2-D canvas: enough for drawDigits (createImageData, putImageData). */
function fakeCanvas() {
  const canvas = {
    width: 300,
    height: 150,
    image: null,
    getContext: () => ({
      createImageData: (width, height) => ({ width, height, data: new Uint8ClampedArray(width * height * 4) }),
      putImageData: (image) => (canvas.image = image),
    }),
  };
  return canvas;
}

test('white on black at scale 1: the grid fits exactly, values map to grey levels', () => {
  const pixels = new Float32Array(3 * PIXELS);
  pixels[0] = 1; // image 0, (0, 0)
  pixels[PIXELS + 28 + 2] = 0.5; // image 1, row 1, column 2
  pixels[2 * PIXELS + 5] = 2; // clipped to 1
  pixels[2 * PIXELS + 6] = -1; // clipped to 0
  pixels[2 * PIXELS + 7] = NaN; // paper
  const out = renderDigits(pixels, 3, 2, { ...WHITE_ON_BLACK, scale: 1, gap: 0 });
  assert.deepEqual([out.width, out.height], [56, 56], '2 columns, 2 rows');
  assert.deepEqual(rgb(out, 0, 0), [255, 255, 255]);
  assert.deepEqual(rgb(out, 28 + 2, 1), [128, 128, 128]);
  assert.deepEqual(rgb(out, 5, 28), [255, 255, 255]);
  assert.deepEqual(rgb(out, 6, 28), [0, 0, 0]);
  assert.deepEqual(rgb(out, 7, 28), [0, 0, 0]);
  assert.deepEqual(rgb(out, 40, 40), [0, 0, 0], 'the empty fourth cell is the gap colour: black paper darkened');
  assert.ok(out.data.every((v, i) => i % 4 !== 3 || v === 255), 'opaque');
});

test('dark ink on white paper, scaled, with gaps a shade darker than the paper', () => {
  const pixels = new Float32Array(2 * PIXELS).fill(1);
  const out = renderDigits(pixels, 2, 2, { scale: 2, gap: 3 });
  assert.deepEqual([out.width, out.height], [2 * 56 + 3, 56]);
  assert.deepEqual(rgb(out, 0, 0), [...INK_ON_PAPER.ink]);
  assert.deepEqual(rgb(out, 55, 55), [...INK_ON_PAPER.ink], 'each image pixel is 2×2');
  assert.deepEqual(rgb(out, 56, 0), [224, 224, 224], 'gap: 0.88 × white');
  assert.deepEqual(rgb(out, 59, 0), [...INK_ON_PAPER.ink], 'the second image after a 3-px gap');
});

test('a gap colour of its own (the interpolation strip: white between black cells)', () => {
  const out = renderDigits(new Float32Array(2 * PIXELS), 2, 2, { ...WHITE_ON_BLACK, scale: 1, gap: 2, gapColour: [255, 255, 255] });
  assert.equal(out.width, 58);
  assert.deepEqual(rgb(out, 28, 0), [255, 255, 255]);
  assert.deepEqual(rgb(out, 27, 0), [0, 0, 0]);
});

test('drawDigits sizes the canvas; drawDigit draws one image of many at 28×28', () => {
  const canvas = fakeCanvas();
  drawDigits(canvas, new Float32Array(4 * PIXELS), 4, 2, { scale: 2, gap: 2 });
  assert.deepEqual([canvas.width, canvas.height], [2 * 56 + 2, 2 * 56 + 2]);

  const images = new Float32Array(3 * PIXELS);
  images.fill(0.2, PIXELS, 2 * PIXELS); // image 1 is uniformly 0.2
  drawDigit(canvas, images, 1);
  assert.deepEqual([canvas.width, canvas.height], [28, 28]);
  assert.deepEqual(rgb(canvas.image, 13, 13), [51, 51, 51], 'white ink on black by default');
  drawDigit(canvas, Array.from(images), 1, INK_ON_PAPER);
  assert.deepEqual(rgb(canvas.image, 0, 0), [208, 209, 213], 'plain arrays too; any ink and paper');
});
