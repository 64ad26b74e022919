// Time-series charts (uPlot) shared by the GPU page's health history and the licence page's
// compliance over time, and the time-range control both use. Times on the axes are UTC, like
// every time the dashboard prints (dom.js fmtTime).
import uPlot from 'uplot';
import { h } from './dom.js';

export const kRanges = [
  { key: '24h', label: 'Last 24 hours', seconds: 86400 },
  { key: '7d', label: 'Last 7 days', seconds: 7 * 86400 },
  { key: '30d', label: 'Last 30 days', seconds: 30 * 86400 },
];
export const kChartHeight = 190;
// Frames a chart waits for its container to be put in the document before giving up.
const kMaxWaitFrames = 600;

// An ISO time without fractional seconds ("2026-11-22T09:00:00Z").
export function isoSeconds(ms) {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
}

export function unixSeconds(iso) {
  return new Date(iso).getTime() / 1000;
}

// A labelled <select> of time ranges; onChange(key) runs when the person picks another.
// `extra` adds options after the fixed ranges ([{key, label}]).
export function rangeSelect(id, label, selected, onChange, extra = []) {
  const select = h(`select#${id}`, { onchange: (e) => onChange(e.target.value) },
    [...kRanges, ...extra].map((r) => h('option', { value: r.key, selected: r.key === selected }, r.label)));
  return h('label.range-select', { for: id }, h('span', label), select);
}

const utc = (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC');

// 24-hour UTC tick labels; the date (MM-DD) under the first tick and wherever it changes.
function utcTicks(u, splits) {
  let prevDate = '';
  return splits.map((ts) => {
    if (ts == null) return '';
    const iso = new Date(ts * 1000).toISOString();
    const date = iso.slice(5, 10), time = iso.slice(11, 16);
    const out = date !== prevDate ? `${time}\n${date}` : time;
    prevDate = date;
    return out;
  });
}

// Integers only on a count axis (no "0.5 errors").
const integerTicks = (u, vals) => vals.map((v) => (Number.isInteger(v) ? v.toLocaleString('en-US') : ''));

// A chart in a container that is returned at once and drawn on the next frame (the container
// must be in the document to know its width). opts:
//   title, unit (y axis label), xRange [min, max] (unix s), data (uPlot aligned data),
//   series [{label, stroke, fill, paths, value}], yRange fn, counts (integer axis),
//   marks [{time, label}] drawn as vertical dashed lines, dataset (data-* attributes),
//   ariaLabel.
// The container gets data-drawn="true" once uPlot has drawn it; uPlot instances are kept in
// `charts` (when given) so the page can destroy them.
export function timeChart(opts, charts) {
  const el = h('div.chart', { role: 'img', 'aria-label': opts.ariaLabel || opts.title, dataset: opts.dataset || {} });
  const marks = opts.marks || [];
  let frames = 0;
  const draw = () => {
    // The page appends the container once its section is complete: wait for that.
    if (!el.isConnected) { if (++frames < kMaxWaitFrames) requestAnimationFrame(draw); return; }
    const width = Math.max(300, el.clientWidth || 700);
    const u = new uPlot({
      width, height: opts.height || kChartHeight, title: opts.title, tzDate: utc,
      scales: {
        x: { time: true, range: () => opts.xRange },
        y: opts.yRange ? { range: opts.yRange } : {},
      },
      series: [{ label: 'UTC' }, ...opts.series],
      axes: [
        { label: 'time (UTC)', labelSize: 18, size: 50, values: utcTicks },
        { label: opts.unit, labelSize: 18, size: 56, ...(opts.counts ? { values: integerTicks } : {}) },
      ],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      hooks: marks.length ? { draw: [(self) => drawMarks(self, marks)] } : {},
    }, opts.data, el);
    if (charts) charts.push(u);
    el.dataset.drawn = 'true';
  };
  requestAnimationFrame(draw);
  return el;
}

// Vertical dashed lines with a label at the top, at each mark's time.
function drawMarks(u, marks) {
  const ctx = u.ctx;
  const { top, height, left, width } = u.bbox;
  const dpr = window.devicePixelRatio || 1;
  ctx.save();
  ctx.strokeStyle = '#c0262d';
  ctx.fillStyle = '#8e1b20';
  ctx.lineWidth = 1.5 * dpr;
  ctx.setLineDash([5 * dpr, 3 * dpr]);
  ctx.font = `${11 * dpr}px system-ui, sans-serif`;
  ctx.textBaseline = 'top';
  for (const m of marks) {
    const x = Math.round(u.valToPos(m.time, 'x', true));
    if (x < left || x > left + width) continue;
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
    if (m.label) {
      const w = ctx.measureText(m.label).width;
      ctx.fillText(m.label, x + 3 * dpr + w > left + width ? x - 3 * dpr - w : x + 3 * dpr, top + 2 * dpr);
    }
  }
  ctx.restore();
}

// Step paths (the value holds until the next sample) for counters and verdict counts.
export const steppedPaths = () => uPlot.paths.stepped({ align: 1 });

// Breaks lines where samples are missing: a null row one second after every gap longer than
// `maxGapS`. Returns {xs, columns} with columns aligned to xs.
export function withGaps(xs, columns, maxGapS) {
  const outX = [];
  const outCols = columns.map(() => []);
  for (let i = 0; i < xs.length; i++) {
    if (i > 0 && xs[i] - xs[i - 1] > maxGapS) {
      outX.push(xs[i - 1] + 1);
      outCols.forEach((c) => c.push(null));
    }
    outX.push(xs[i]);
    outCols.forEach((c, k) => c.push(columns[k][i]));
  }
  return { xs: outX, columns: outCols };
}
