// A canvas to draw a digit on with a mouse, a pen or a finger: thick round strokes, dark ink on
// white paper (the preprocessing inverts it, as it does a photo of a digit on paper).

export class DrawPad {
  /**
   * @param {HTMLCanvasElement} canvas drawn at its own width × height (e.g. 280 × 280)
   * @param {{onChange?: () => void, strokeFraction?: number}} [options]
   *   onChange: called at most once per animation frame while drawing, and once at the end of a
   *   stroke; strokeFraction: line width over the canvas width (MNIST's strokes are about a
   *   tenth of the 20-px box).
   */
  constructor(canvas, { onChange = () => {}, strokeFraction = 1 / 13 } = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d', { willReadFrequently: true });
    this.onChange = onChange;
    this.strokeFraction = strokeFraction;
    this.empty = true;
    this.pointer = null; // { id, x, y } while a stroke is down
    this.frame = 0;
    this.clear();

    canvas.addEventListener('pointerdown', (e) => this.#down(e));
    canvas.addEventListener('pointermove', (e) => this.#move(e));
    canvas.addEventListener('pointerup', (e) => this.#up(e));
    canvas.addEventListener('pointercancel', (e) => this.#up(e));
  }

  /** Wipes the pad (no change is reported: the caller clears what it showed). */
  clear() {
    const { ctx, canvas } = this;
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    this.empty = true;
  }

  /** The pad's RGBA pixels. */
  imageData() {
    return this.ctx.getImageData(0, 0, this.canvas.width, this.canvas.height);
  }

  #point(e) {
    const r = this.canvas.getBoundingClientRect();
    return { x: ((e.clientX - r.left) * this.canvas.width) / r.width, y: ((e.clientY - r.top) * this.canvas.height) / r.height };
  }

  #style() {
    const { ctx } = this;
    ctx.strokeStyle = '#111';
    ctx.fillStyle = '#111';
    ctx.lineWidth = this.canvas.width * this.strokeFraction;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
  }

  #down(e) {
    if (this.pointer || (e.pointerType === 'mouse' && e.button !== 0)) return;
    e.preventDefault();
    this.canvas.setPointerCapture(e.pointerId);
    const p = this.#point(e);
    this.pointer = { id: e.pointerId, ...p };
    this.#style();
    this.ctx.beginPath();
    this.ctx.arc(p.x, p.y, this.ctx.lineWidth / 2, 0, 2 * Math.PI);
    this.ctx.fill();
    this.empty = false;
    this.#changed();
  }

  #move(e) {
    if (!this.pointer || e.pointerId !== this.pointer.id) return;
    const events = e.getCoalescedEvents?.() ?? [e];
    this.#style();
    this.ctx.beginPath();
    this.ctx.moveTo(this.pointer.x, this.pointer.y);
    for (const ev of events.length ? events : [e]) {
      const p = this.#point(ev);
      this.ctx.lineTo(p.x, p.y);
      this.pointer.x = p.x;
      this.pointer.y = p.y;
    }
    this.ctx.stroke();
    this.#changed();
  }

  #up(e) {
    if (!this.pointer || e.pointerId !== this.pointer.id) return;
    this.pointer = null;
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.onChange();
  }

  #changed() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.onChange();
    });
  }
}
