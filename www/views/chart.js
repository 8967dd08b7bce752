// A line chart on a canvas, linear axes (no log scale), with axis labels, ticks and a legend.
// A view: it takes a canvas and arrays of numbers and knows nothing about the model.
//
//   import { drawChart } from './views/chart.js';
//   drawChart(canvas, {
//     series: [{ label, color, xs, ys, dash = [], width = 1.5, markers = false }],
//     xLabel, yLabel, formatX = niceNumber, empty = 'No data yet',
//     focusFrom = 0,   // fraction of the x range whose points do not set the top of the y range:
//                      // the first moments of training have losses far above the rest and would
//                      // flatten it (they run off the top instead)
//   });
//
// xs and ys are parallel arrays (plain arrays or typed arrays). The canvas keeps its CSS size and
// is drawn at the device's pixel ratio. Where a series has more points than the plot has pixel
// columns, the points that fall in one column are averaged; with markers, every point is marked.

const AXIS = '#5b6474';
const GRID = '#e6e9ef';
const TEXT = '#1d2433';

/** 1234 -> "1,234"; 25000 -> "25k"; 1.5e6 -> "1.5M". */
export function niceNumber(value) {
  const abs = Math.abs(value);
  const trim = (x) => String(Number(x.toFixed(2)));
  if (abs >= 1e6) return `${trim(value / 1e6)}M`;
  if (abs >= 1e4) return `${trim(value / 1e3)}k`;
  if (abs >= 100 || Number.isInteger(value)) return Math.round(value).toLocaleString('en-US');
  return trim(value);
}

/** About `count` round tick values covering [min, max]. */
function ticks(min, max, count) {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const out = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Draws the chart; returns the canvas. */
export function drawChart(canvas, { series, xLabel = '', yLabel = '', formatX = niceNumber, empty = 'No data yet', focusFrom = 0 }) {
  const ratio = window.devicePixelRatio || 1;
  const cssWidth = canvas.clientWidth || 600;
  const cssHeight = canvas.clientHeight || 300;
  if (canvas.width !== Math.round(cssWidth * ratio)) canvas.width = Math.round(cssWidth * ratio);
  if (canvas.height !== Math.round(cssHeight * ratio)) canvas.height = Math.round(cssHeight * ratio);
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, cssWidth, cssHeight);
  const family = getComputedStyle(canvas).fontFamily || 'system-ui, sans-serif';
  const font = (size, weight = 400) => `${weight} ${size}px ${family}`;

  // Ranges.
  let xMin = Infinity;
  let xMax = -Infinity;
  for (const s of series) {
    for (let i = 0; i < s.xs.length; i++) {
      if (Number.isFinite(s.ys[i])) {
        xMin = Math.min(xMin, s.xs[i]);
        xMax = Math.max(xMax, s.xs[i]);
      }
    }
  }
  const hasData = xMax >= xMin;
  if (!hasData) {
    xMin = 0;
    xMax = 1;
  } else if (xMax === xMin) {
    xMax = xMin + 1;
  }
  xMin = Math.min(xMin, 0);
  if (hasData) xMax += (xMax - xMin) * 0.015; // room for the last marker
  const focusX = xMin + (xMax - xMin) * focusFrom;
  // The bottom of the range from every point; the top from the points after focusX (or from
  // every point when none are after it).
  let yMin = Infinity;
  let yMax = -Infinity;
  let yMaxFocus = -Infinity;
  for (const s of series) {
    for (let i = 0; i < s.xs.length; i++) {
      const y = s.ys[i];
      if (!Number.isFinite(y)) continue;
      yMin = Math.min(yMin, y);
      yMax = Math.max(yMax, y);
      if (s.xs[i] >= focusX) yMaxFocus = Math.max(yMaxFocus, y);
    }
  }
  if (yMaxFocus > yMin) yMax = yMaxFocus;
  if (!(yMax >= yMin)) {
    yMin = 0;
    yMax = 1;
  }
  const pad = (yMax - yMin) * 0.08 || Math.abs(yMax) * 0.1 || 1;
  const nonNegative = yMin >= 0;
  yMin -= pad;
  yMax += pad;
  if (nonNegative) yMin = Math.max(yMin, 0); // nats are never below 0: no axis below it
  const yTicks = ticks(yMin, yMax, Math.max(4, Math.floor(cssHeight / 55)));
  const xTicks = ticks(xMin, xMax, Math.max(3, Math.floor(cssWidth / 110)));

  // Layout: legend on top (as many lines as it needs), y label on the left, x label below.
  ctx.font = font(12);
  const yTickWidth = Math.max(...yTicks.map((t) => ctx.measureText(niceNumber(t)).width));
  const left = 18 + yTickWidth + 10;
  const right = cssWidth - 14;
  const lines = [[]];
  let lineWidth = 0;
  for (const s of series) {
    const w = 26 + ctx.measureText(s.label).width + 16;
    if (lineWidth + w - 16 > right - left && lines[lines.length - 1].length) {
      lines.push([]);
      lineWidth = 0;
    }
    lines[lines.length - 1].push({ s, w });
    lineWidth += w;
  }
  const LINE = 20;
  const legendHeight = lines.length * LINE + 6;
  const plot = {
    left,
    top: legendHeight + 8,
    right,
    bottom: cssHeight - 44,
  };
  const width = Math.max(1, plot.right - plot.left);
  const height = Math.max(1, plot.bottom - plot.top);
  const sx = (x) => plot.left + ((x - xMin) / (xMax - xMin)) * width;
  const sy = (y) => plot.bottom - ((y - yMin) / (yMax - yMin)) * height;

  // Grid and tick labels.
  ctx.lineWidth = 1;
  ctx.strokeStyle = GRID;
  ctx.fillStyle = AXIS;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const t of yTicks) {
    const y = Math.round(sy(t)) + 0.5;
    if (y < plot.top - 1 || y > plot.bottom + 1) continue;
    ctx.beginPath();
    ctx.moveTo(plot.left, y);
    ctx.lineTo(plot.right, y);
    ctx.stroke();
    if (hasData) ctx.fillText(niceNumber(t), plot.left - 8, y);
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const t of xTicks) {
    const x = Math.round(sx(t)) + 0.5;
    if (x < plot.left - 1 || x > plot.right + 1) continue;
    ctx.beginPath();
    ctx.moveTo(x, plot.top);
    ctx.lineTo(x, plot.bottom);
    ctx.stroke();
    if (hasData) ctx.fillText(formatX(t), x, plot.bottom + 7);
  }
  ctx.strokeStyle = AXIS;
  ctx.beginPath();
  ctx.moveTo(plot.left + 0.5, plot.top);
  ctx.lineTo(plot.left + 0.5, plot.bottom + 0.5);
  ctx.lineTo(plot.right, plot.bottom + 0.5);
  ctx.stroke();

  // Axis labels.
  ctx.fillStyle = TEXT;
  ctx.font = font(12, 500);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  ctx.fillText(xLabel, plot.left + width / 2, cssHeight - 4);
  ctx.save();
  ctx.translate(12, plot.top + height / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = 'middle';
  ctx.fillText(yLabel, 0, 0);
  ctx.restore();

  // Series, clipped to the plot.
  ctx.save();
  ctx.beginPath();
  ctx.rect(plot.left, plot.top - 1, width + 1, height + 2);
  ctx.clip();
  for (const s of series) drawSeries(ctx, s, sx, sy, xMin, xMax, width);
  ctx.restore();

  if (!hasData) {
    ctx.fillStyle = AXIS;
    ctx.font = font(13);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(empty, plot.left + width / 2, plot.top + height / 2);
  }

  // Legend, each line right-aligned above the plot.
  ctx.font = font(12);
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'left';
  lines.forEach((items, row) => {
    let x = Math.max(plot.left, plot.right - items.reduce((sum, item) => sum + item.w, 0) + 16);
    const y = row * LINE + LINE / 2 + 3;
    for (const { s, w } of items) {
      ctx.strokeStyle = s.color;
      ctx.lineWidth = s.width ?? 1.5;
      ctx.setLineDash(s.dash ?? []);
      ctx.beginPath();
      ctx.moveTo(x, y);
      ctx.lineTo(x + 20, y);
      ctx.stroke();
      ctx.setLineDash([]);
      if (s.markers) marker(ctx, x + 10, y, s.color);
      ctx.fillStyle = TEXT;
      ctx.fillText(s.label, x + 26, y);
      x += w;
    }
  });
  return canvas;
}

function drawSeries(ctx, s, sx, sy, xMin, xMax, width) {
  const n = s.xs.length;
  if (n === 0) return;
  ctx.strokeStyle = s.color;
  ctx.lineWidth = s.width ?? 1.5;
  ctx.lineJoin = 'round';
  ctx.setLineDash(s.dash ?? []);
  ctx.beginPath();
  let started = false;
  const line = (x, y) => {
    if (started) ctx.lineTo(x, y);
    else ctx.moveTo(x, y);
    started = true;
  };
  if (n > width * 2) {
    // One averaged point per pixel column.
    const columns = Math.ceil(width);
    let column = -1;
    let sumX = 0;
    let sumY = 0;
    let count = 0;
    const flush = () => {
      if (count) line(sx(sumX / count), sy(sumY / count));
    };
    for (let i = 0; i < n; i++) {
      const y = s.ys[i];
      if (!Number.isFinite(y)) continue;
      const c = Math.min(columns - 1, Math.floor(((s.xs[i] - xMin) / (xMax - xMin)) * columns));
      if (c !== column) {
        flush();
        column = c;
        sumX = sumY = count = 0;
      }
      sumX += s.xs[i];
      sumY += y;
      count++;
    }
    flush();
  } else {
    for (let i = 0; i < n; i++) if (Number.isFinite(s.ys[i])) line(sx(s.xs[i]), sy(s.ys[i]));
  }
  ctx.stroke();
  ctx.setLineDash([]);
  if (s.markers) for (let i = 0; i < n; i++) if (Number.isFinite(s.ys[i])) marker(ctx, sx(s.xs[i]), sy(s.ys[i]), s.color);
}

function marker(ctx, x, y, color) {
  ctx.fillStyle = '#fff';
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  ctx.arc(x, y, 3, 0, Math.PI * 2);
  ctx.fill();
  ctx.stroke();
}
