// The latent plane: test digits' encodings as coloured dots (optionally their posteriors as 1-σ
// ellipses), a few special markers (the upload, the drawing, the interpolation's ends and path),
// layers of fields drawn under the dots (a density as an image stretched over a window of the
// plane, with its lines and ellipses on top), and a handle the user drags, clicks to, or moves
// with the arrow keys (Enter picks the test digit nearest to it).
//
// A view: it takes plane coordinates (already projected by slice.js) and labels as typed arrays
// and reports what the user does through callbacks; it never sees the model or the client.
//
// Two canvases: the base one (grid, layers' images, ellipses, dots) is redrawn when the data or
// the options change; the overlay (layers' lines and ellipses, selection, markers, interpolation
// path) is cheap to redraw each frame while the user draws. The handle is a DOM element, so moving
// it redraws nothing.
//
// The visible square (centre and half-width, the same scale on both axes) fits the dots, or is
// fixed to ±fixedHalf, or to a `focus` a controller asks for; onView reports each new one.

import { digitColour } from './palette.js';
import { covarianceEllipse } from './slice.js';
import { nearestPoints } from './geometry.js';

const PICK_RADIUS_PX = 7;
const DOT_RADIUS_PX = 2.3;
/** The dots' opacity, and theirs while a layer's image lies under them. */
const DOT_ALPHA = 0.85;
const DOT_ALPHA_OVER_LAYER = 0.3;

/**
 * @typedef {object} Layer  a field on the plane (see setLayers)
 * @property {string} [name] listed in the plane's data-layers (for tests)
 * @property {{a0: number, a1: number, b0: number, b1: number}} [window] where the image goes
 * @property {Uint8ClampedArray} [rgba] width×height RGBA, row by row from the top
 * @property {number} [width]
 * @property {number} [height]
 * @property {Array<{lines: Float32Array[], colour: string, width?: number, dash?: number[]}>} [lines]
 *   polylines in plane coordinates (a, b pairs)
 * @property {Array<{a: number, b: number, cov: ArrayLike<number>, sigmas: number[], colour: string,
 *   width?: number, dash?: number[]}>} [ellipses] a 2-D Gaussian (covariance var a, cov ab, var b)
 *   drawn at each of `sigmas` standard deviations
 * @property {Array<{a: number, b: number, text: string, colour: string, below?: boolean}>} [labels]
 *   words just above (or below) plane points
 */

export class LatentPlane {
  /**
   * @param {{root: HTMLElement, base: HTMLCanvasElement, overlay: HTMLCanvasElement, handle: HTMLElement}} elements
   * @param {{onMove?: (a: number, b: number, time: number) => void, onPick?: (index: number) => void,
   *          onView?: (view: {cx: number, cy: number, half: number}) => void}} callbacks
   *   onMove: the handle moved to plane point (a, b) at `time` (performance.now());
   *   onPick: the user clicked test digit `index`; onView: the visible square changed.
   */
  constructor({ root, base, overlay, handle }, { onMove = () => {}, onPick = () => {}, onView = () => {} } = {}) {
    this.root = root;
    this.base = base;
    this.overlay = overlay;
    this.handle = handle;
    this.onMove = onMove;
    this.onPick = onPick;
    this.onView = onView;
    this.xy = null; // Float32Array n×2
    this.labels = null; // Uint8Array n
    this.cov = null; // Float32Array n×3 or null
    this.count = 0;
    this.showEllipses = false;
    this.fixedHalf = null; // a number: axes fixed to ±fixedHalf; null: fit the data
    this.focus = null; // {cx, cy, half}: the visible square, before fixedHalf and the data
    this.flat = false; // 1-D latent space: dots spread vertically by jitter only
    this.axisNames = ['z₁', 'z₂'];
    this.view = { cx: 0, cy: 0, half: 3 };
    this.reported = null; // the view onView last reported
    this.handlePos = { a: 0, b: 0 };
    this.markers = new Map();
    this.selected = null;
    this.path = null;
    this.layers = [];
    this.layerImages = new WeakMap(); // layer -> canvas of its image
    this.size = 0; // CSS px
    this.dragId = null;
    this.message = 'Waiting for the model…';

    root.addEventListener('pointerdown', (e) => this.#pointerDown(e));
    root.addEventListener('pointermove', (e) => this.#pointerMove(e));
    root.addEventListener('pointerup', (e) => this.#pointerUp(e));
    root.addEventListener('pointercancel', (e) => this.#pointerUp(e));
    handle.addEventListener('keydown', (e) => this.#key(e));
    this.resizeObserver = new ResizeObserver(() => this.#resize());
    this.resizeObserver.observe(root);
    this.#resize();
  }

  /**
   * New test encodings.
   * @param {Float32Array} xy n×2 plane coordinates
   * @param {Uint8Array} labels n digit labels
   * @param {Float32Array|null} cov n×3 projected covariances (var a, cov ab, var b), or null
   */
  setPoints(xy, labels, cov) {
    this.xy = xy;
    this.labels = labels;
    this.cov = cov;
    this.count = labels.length;
    // The class colours the points are drawn in (a set without labels has none: its points are
    // the neutral grey of label 255, protocol.js's testImages).
    this.root.dataset.colours = String(new Set(Array.from(labels).filter((label) => label <= 9)).size);
    this.message = null;
    this.#fit();
    this.render();
  }

  /** Shows a line of text in place of the dots (before the first encodings arrive). */
  setMessage(text) {
    this.message = text;
    this.render();
  }

  /**
   * @param {{ellipses?: boolean, fixedHalf?: number|null, focus?: {cx: number, cy: number, half: number}|null,
   *          flat?: boolean, axisNames?: [string, string]}} options
   */
  setOptions(options) {
    if ('ellipses' in options) this.showEllipses = options.ellipses;
    if ('fixedHalf' in options) this.fixedHalf = options.fixedHalf;
    if ('focus' in options) this.focus = options.focus;
    if ('flat' in options) this.flat = options.flat;
    if ('axisNames' in options) this.axisNames = options.axisNames;
    this.#fit();
    this.render();
  }

  /** Moves the handle (no callback). */
  setHandle(a, b) {
    this.handlePos = { a, b: this.flat ? 0 : b };
    this.#placeHandle();
  }

  /**
   * Adds, moves or (with null) removes a marker.
   * @param {string} id
   * @param {{a: number, b: number, cov?: number[]|Float32Array|null, label: string, colour: string,
   *          shape: 'diamond'|'square'|'ring', labelSide?: 'left'|'right'}|null} marker
   */
  setMarker(id, marker) {
    if (marker) this.markers.set(id, marker);
    else this.markers.delete(id);
    this.root.dataset.markers = [...this.markers.keys()].join(' ');
    this.renderOverlay();
  }

  /** Highlights test digit `index` (null: none). */
  setSelected(index) {
    this.selected = index;
    this.renderOverlay();
  }

  /**
   * The interpolation's path, or null: a dashed polyline from A to B and a tick at each decoded step.
   * @param {{points: Float32Array, marks: Float32Array}|null} path m×2 and k×2 plane coordinates
   */
  setPath(path) {
    this.path = path;
    this.root.dataset.path = path ? String(path.points.length / 2) : '';
    this.renderOverlay();
  }

  /**
   * Fields drawn under the dots, in order (see the Layer type); their images fade the dots.
   * @param {Layer[]} layers
   */
  setLayers(layers) {
    this.layers = layers;
    this.root.dataset.layers = layers.map((l) => l.name ?? '').join(' ');
    this.render();
  }

  /** The plane's visible range: centre and half-width (same scale on both axes). */
  get range() {
    return { ...this.view };
  }

  /** The `k` test digits drawn nearest to plane point (a, b), nearest first, as indices. */
  nearest(a, b, k) {
    return nearestPoints(this.xy, this.count, a, this.flat ? null : b, k);
  }

  /** Where test digit `index` is drawn, in viewport (client) pixels, or null. */
  clientPoint(index) {
    if (index < 0 || index >= this.count) return null;
    const r = this.root.getBoundingClientRect();
    const [x, y] = this.#toPx(this.xy[2 * index], this.#pointY(index));
    return { x: r.left + x, y: r.top + y };
  }

  destroy() {
    this.resizeObserver.disconnect();
  }

  // ---- geometry ----

  #fit() {
    this.#fitView();
    this.#placeHandle();
    const { cx, cy, half } = this.view;
    if (cx !== this.reported?.cx || cy !== this.reported?.cy || half !== this.reported?.half) {
      this.reported = this.range;
      this.onView(this.range);
    }
  }

  #fitView() {
    if (this.focus) {
      this.view = { ...this.focus };
      return;
    }
    if (this.fixedHalf) {
      this.view = { cx: 0, cy: 0, half: this.fixedHalf };
      return;
    }
    if (!this.count) return;
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (let i = 0; i < this.count; i++) {
      const x = this.xy[2 * i], y = this.flat ? 0 : this.xy[2 * i + 1];
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
    if (!Number.isFinite(x0)) return;
    // At least ±0.5: an untrained encoder puts every digit within a few hundredths of the origin,
    // and a plane zoomed onto that would hide how small it is next to the prior N(0, I).
    const half = Math.max(0.5, (Math.max(x1 - x0, y1 - y0) / 2) * 1.1);
    this.view = { cx: (x0 + x1) / 2, cy: this.flat ? 0 : (y0 + y1) / 2, half };
  }

  #toPx(a, b) {
    const { cx, cy, half } = this.view;
    const s = this.size / 2;
    return [s + ((a - cx) / half) * s, s - ((b - cy) / half) * s];
  }

  #toPlane(px, py) {
    const { cx, cy, half } = this.view;
    const s = this.size / 2;
    return [cx + ((px - s) / s) * half, cy - ((py - s) / s) * half];
  }

  #pointY(i) {
    if (!this.flat) return this.xy[2 * i + 1];
    // 1-D: a fixed pseudo-random spread, so the dots do not pile up on one line.
    const h = Math.sin((i + 1) * 12.9898) * 43758.5453;
    return (h - Math.floor(h) - 0.5) * this.view.half;
  }

  #resize() {
    const size = this.root.clientWidth;
    if (!size) return;
    this.size = size;
    const dpr = window.devicePixelRatio || 1;
    for (const c of [this.base, this.overlay]) {
      c.width = Math.round(size * dpr);
      c.height = Math.round(size * dpr);
    }
    this.#placeHandle();
    this.render();
  }

  #placeHandle() {
    const [x, y] = this.#toPx(this.handlePos.a, this.handlePos.b);
    // A handle outside the visible range (the range follows the data) waits at the edge, faded,
    // where it can still be grabbed.
    const c = (v) => Math.max(0, Math.min(this.size, v));
    this.handle.style.transform = `translate(${c(x)}px, ${c(y)}px)`;
    const outside = x < 0 || y < 0 || x > this.size || y > this.size;
    this.handle.classList.toggle('vx-handle-outside', outside);
  }

  // ---- drawing ----

  #context(canvas) {
    const ctx = canvas.getContext('2d');
    const dpr = canvas.width / (this.size || 1);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return ctx;
  }

  /** Redraws both layers. */
  render() {
    if (!this.size) return;
    const ctx = this.#context(this.base);
    const S = this.size;
    const css = getComputedStyle(this.root);
    const bg = css.getPropertyValue('--vx-plane-bg').trim() || '#fff';
    const grid = css.getPropertyValue('--vx-plane-grid').trim() || '#e6e8eb';
    const axis = css.getPropertyValue('--vx-plane-axis').trim() || '#9aa0a6';
    const text = css.getPropertyValue('--vx-plane-text').trim() || '#5f6368';
    ctx.clearRect(0, 0, S, S);
    ctx.fillStyle = bg;
    ctx.fillRect(0, 0, S, S);

    // Grid lines at a "nice" step, labelled along the edges.
    const step = niceStep((2 * this.view.half) / 6);
    ctx.lineWidth = 1;
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = text;
    const [a0, b1] = this.#toPlane(0, 0);
    const [a1, b0] = this.#toPlane(S, S);
    for (let a = Math.ceil(a0 / step) * step; a <= a1; a += step) {
      const [x] = this.#toPx(a, 0);
      ctx.strokeStyle = Math.abs(a) < step / 2 ? axis : grid;
      line(ctx, x, 0, x, S);
      ctx.textAlign = 'center';
      if (x > 14 && x < S - 14) ctx.fillText(formatTick(a, step), x, S - 4);
    }
    if (!this.flat) {
      for (let b = Math.ceil(b0 / step) * step; b <= b1; b += step) {
        const [, y] = this.#toPx(0, b);
        ctx.strokeStyle = Math.abs(b) < step / 2 ? axis : grid;
        line(ctx, 0, y, S, y);
        ctx.textAlign = 'left';
        if (y > 26 && y < S - 18) ctx.fillText(formatTick(b, step), 4, y - 3);
      }
    }
    ctx.font = 'italic 13px system-ui, sans-serif';
    ctx.textAlign = 'right';
    ctx.fillText(this.axisNames[0], S - 6, S - 18);
    if (!this.flat) {
      ctx.textAlign = 'left';
      ctx.fillText(this.axisNames[1], 24, 16);
    }

    if (this.message) {
      ctx.font = '15px system-ui, sans-serif';
      ctx.textAlign = 'center';
      ctx.fillStyle = text;
      ctx.fillText(this.message, S / 2, S / 2);
    }

    let faded = false;
    for (const layer of this.layers) faded = this.#drawLayerImage(ctx, layer) || faded;

    const n = this.count;
    if (n) {
      const scale = S / 2 / this.view.half;
      if (this.showEllipses && this.cov) {
        ctx.globalAlpha = 0.08;
        for (let i = 0; i < n; i++) {
          const e = covarianceEllipse(this.cov[3 * i], this.cov[3 * i + 1], this.flat ? 0 : this.cov[3 * i + 2]);
          const [x, y] = this.#toPx(this.xy[2 * i], this.#pointY(i));
          ctx.fillStyle = digitColour(this.labels[i]);
          ctx.beginPath();
          ctx.ellipse(x, y, Math.max(0.5, e.rx * scale), Math.max(0.5, e.ry * scale), -e.angle, 0, 2 * Math.PI);
          ctx.fill();
        }
      }
      ctx.globalAlpha = faded ? DOT_ALPHA_OVER_LAYER : DOT_ALPHA;
      for (let i = 0; i < n; i++) {
        const [x, y] = this.#toPx(this.xy[2 * i], this.#pointY(i));
        ctx.fillStyle = digitColour(this.labels[i]);
        ctx.beginPath();
        ctx.arc(x, y, DOT_RADIUS_PX, 0, 2 * Math.PI);
        ctx.fill();
      }
      ctx.globalAlpha = 1;
    }
    this.root.dataset.points = String(n);
    this.root.dataset.range = `${this.view.cx.toFixed(3)},${this.view.cy.toFixed(3)},${this.view.half.toFixed(3)}`;
    this.renderOverlay();
  }

  /** Redraws the overlay layer only. */
  renderOverlay() {
    if (!this.size) return;
    const ctx = this.#context(this.overlay);
    const S = this.size;
    ctx.clearRect(0, 0, S, S);
    const scale = S / 2 / this.view.half;

    for (const layer of this.layers) this.#drawLayerLines(ctx, layer, scale);

    const points = this.path?.points;
    if (points?.length >= 4) {
      const px = (k) => this.#toPx(points[k], this.flat ? 0 : points[k + 1]);
      ctx.save();
      ctx.setLineDash([6, 4]);
      ctx.strokeStyle = '#202124';
      ctx.lineWidth = 1.5;
      ctx.lineJoin = 'round';
      ctx.beginPath();
      for (let k = 0; k < points.length; k += 2) ctx.lineTo(...px(k));
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = '#202124';
      const marks = this.path.marks;
      for (let k = 2; k < marks.length - 2; k += 2) {
        const [x, y] = this.#toPx(marks[k], this.flat ? 0 : marks[k + 1]);
        ctx.beginPath();
        ctx.arc(x, y, 2.2, 0, 2 * Math.PI);
        ctx.fill();
      }
      ctx.restore();
      const [xa, ya] = px(0);
      const [xb, yb] = px(points.length - 2);
      ctx.font = 'bold 12px system-ui, sans-serif';
      ctx.fillStyle = '#202124';
      ctx.textAlign = 'center';
      ctx.fillText('A', xa, ya - 9);
      ctx.fillText('B', xb, yb - 9);
    }

    if (this.selected !== null && this.selected < this.count) {
      const [x, y] = this.#toPx(this.xy[2 * this.selected], this.#pointY(this.selected));
      ctx.strokeStyle = '#202124';
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(x, y, 7, 0, 2 * Math.PI);
      ctx.stroke();
    }

    for (const m of this.markers.values()) {
      const [x, y] = this.#toPx(m.a, this.flat ? 0 : m.b);
      if (this.showEllipses && m.cov) {
        const e = covarianceEllipse(m.cov[0], m.cov[1], this.flat ? 0 : m.cov[2]);
        ctx.save();
        ctx.strokeStyle = m.colour;
        ctx.fillStyle = m.colour;
        ctx.globalAlpha = 0.15;
        ctx.beginPath();
        ctx.ellipse(x, y, Math.max(1, e.rx * scale), Math.max(1, e.ry * scale), -e.angle, 0, 2 * Math.PI);
        ctx.fill();
        ctx.globalAlpha = 0.9;
        ctx.lineWidth = 1.5;
        ctx.stroke();
        ctx.restore();
      }
      drawMarker(ctx, x, y, m);
    }
  }

  /** Draws a layer's image stretched over its window; true if there was one. */
  #drawLayerImage(ctx, layer) {
    if (!layer.rgba) return false;
    let image = this.layerImages.get(layer);
    if (!image) {
      image = document.createElement('canvas');
      image.width = layer.width;
      image.height = layer.height;
      image.getContext('2d').putImageData(new ImageData(layer.rgba, layer.width, layer.height), 0, 0);
      this.layerImages.set(layer, image);
    }
    const { a0, a1, b0, b1 } = layer.window;
    const [x0, y0] = this.#toPx(a0, b1);
    const [x1, y1] = this.#toPx(a1, b0);
    ctx.save();
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(image, x0, y0, x1 - x0, y1 - y0);
    ctx.restore();
    return true;
  }

  /** Draws a layer's lines and ellipses. */
  #drawLayerLines(ctx, layer, scale) {
    ctx.save();
    ctx.lineJoin = 'round';
    for (const { lines, colour, width = 1.5, dash = [] } of layer.lines ?? []) {
      ctx.strokeStyle = colour;
      ctx.lineWidth = width;
      ctx.setLineDash(dash);
      for (const xy of lines) {
        ctx.beginPath();
        for (let k = 0; k < xy.length; k += 2) ctx.lineTo(...this.#toPx(xy[k], xy[k + 1]));
        ctx.stroke();
      }
    }
    for (const { a, b, cov, sigmas, colour, width = 1.8, dash = [] } of layer.ellipses ?? []) {
      const e = covarianceEllipse(cov[0], cov[1], this.flat ? 0 : cov[2]);
      const [x, y] = this.#toPx(a, this.flat ? 0 : b);
      ctx.strokeStyle = colour;
      ctx.lineWidth = width;
      ctx.setLineDash(dash);
      for (const k of sigmas) {
        ctx.beginPath();
        ctx.ellipse(x, y, Math.max(1, k * e.rx * scale), Math.max(1, k * e.ry * scale), -e.angle, 0, 2 * Math.PI);
        ctx.stroke();
      }
    }
    ctx.setLineDash([]);
    ctx.font = '600 12px system-ui, sans-serif';
    ctx.textAlign = 'center';
    ctx.lineWidth = 3;
    for (const { a, b, text, colour, below = false } of layer.labels ?? []) {
      const [x, y] = this.#toPx(a, this.flat ? 0 : b);
      const ty = below ? y + 15 : y - 6;
      ctx.strokeStyle = 'rgba(255,255,255,0.9)';
      ctx.strokeText(text, x, ty);
      ctx.fillStyle = colour;
      ctx.fillText(text, x, ty);
    }
    ctx.restore();
  }

  // ---- interaction ----

  #eventPx(e) {
    const r = this.root.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  }

  #dotAt(px, py) {
    let best = -1, bestD = PICK_RADIUS_PX * PICK_RADIUS_PX;
    for (let i = 0; i < this.count; i++) {
      const [x, y] = this.#toPx(this.xy[2 * i], this.#pointY(i));
      const d = (x - px) ** 2 + (y - py) ** 2;
      if (d < bestD) {
        bestD = d;
        best = i;
      }
    }
    return best;
  }

  #pointerDown(e) {
    if (this.dragId !== null || (e.pointerType === 'mouse' && e.button !== 0)) return;
    const [px, py] = this.#eventPx(e);
    const onHandle = e.target === this.handle || this.handle.contains(e.target);
    if (!onHandle) {
      const hit = this.#dotAt(px, py);
      if (hit >= 0) {
        e.preventDefault();
        this.onPick(hit);
        return;
      }
    }
    e.preventDefault();
    this.handle.focus({ preventScroll: true });
    this.dragId = e.pointerId;
    this.root.setPointerCapture(e.pointerId);
    this.root.classList.add('vx-dragging');
    if (!onHandle) this.#dragTo(px, py);
  }

  #pointerMove(e) {
    if (e.pointerId !== this.dragId) return;
    const [px, py] = this.#eventPx(e);
    this.#dragTo(px, py);
  }

  #pointerUp(e) {
    if (e.pointerId !== this.dragId) return;
    this.dragId = null;
    this.root.classList.remove('vx-dragging');
  }

  #dragTo(px, py) {
    const c = (v) => Math.max(0, Math.min(this.size, v));
    const [a, b] = this.#toPlane(c(px), c(py));
    this.#moveHandle(a, b);
  }

  #moveHandle(a, b) {
    this.setHandle(a, b);
    this.onMove(this.handlePos.a, this.handlePos.b, performance.now());
  }

  #key(e) {
    const step = (this.view.half / 25) * (e.shiftKey ? 5 : 1);
    let { a, b } = this.handlePos;
    switch (e.key) {
      case 'ArrowLeft': a -= step; break;
      case 'ArrowRight': a += step; break;
      case 'ArrowUp': b += step; break;
      case 'ArrowDown': b -= step; break;
      case 'Home': a = 0; b = 0; break;
      case 'Enter': {
        // The keyboard's way to pick a dot: the test digit nearest to the handle.
        e.preventDefault();
        const [index] = this.nearest(a, b, 1);
        if (index !== undefined) this.onPick(index);
        return;
      }
      default: return;
    }
    e.preventDefault();
    this.#moveHandle(a, b);
  }
}

function line(ctx, x0, y0, x1, y1) {
  ctx.beginPath();
  ctx.moveTo(Math.round(x0) + 0.5, Math.round(y0) + 0.5);
  ctx.lineTo(Math.round(x1) + 0.5, Math.round(y1) + 0.5);
  ctx.stroke();
}

function niceStep(raw) {
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

function formatTick(v, step) {
  const digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const s = v.toFixed(digits);
  return s === '-0' || /^-0\.0*$/.test(s) ? s.slice(1) : s;
}

function drawMarker(ctx, x, y, m) {
  const r = 8;
  ctx.save();
  ctx.lineWidth = 2;
  ctx.strokeStyle = '#fff';
  ctx.fillStyle = m.colour;
  ctx.beginPath();
  if (m.shape === 'diamond') {
    ctx.moveTo(x, y - r);
    ctx.lineTo(x + r, y);
    ctx.lineTo(x, y + r);
    ctx.lineTo(x - r, y);
    ctx.closePath();
  } else if (m.shape === 'square') {
    ctx.rect(x - r * 0.75, y - r * 0.75, r * 1.5, r * 1.5);
  } else {
    ctx.arc(x, y, r * 0.8, 0, 2 * Math.PI);
  }
  ctx.fill();
  ctx.stroke();
  ctx.strokeStyle = 'rgba(0,0,0,0.6)';
  ctx.lineWidth = 0.8;
  ctx.stroke();
  // Labels on the side the marker asks for, so two markers close together stay readable.
  const left = m.labelSide === 'left';
  const tx = left ? x - r - 3 : x + r + 3;
  ctx.font = '600 12px system-ui, sans-serif';
  ctx.textAlign = left ? 'right' : 'left';
  ctx.lineWidth = 3;
  ctx.strokeStyle = 'rgba(255,255,255,0.9)';
  ctx.strokeText(m.label, tx, y + 4);
  ctx.fillStyle = '#202124';
  ctx.fillText(m.label, tx, y + 4);
  ctx.restore();
}
