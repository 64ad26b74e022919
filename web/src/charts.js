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
// `charts` (when given) so the page can destroy them. updateChart() gives a drawn chart new
// data in place (a refresh), keeping its size, cursor and legend.
export function timeChart(opts, charts) {
  const el = h('div.chart', { role: 'img', 'aria-label': opts.ariaLabel || opts.title, dataset: opts.dataset || {} });
  // What the drawn chart reads at each redraw; updateChart replaces it.
  const live = { opts, u: null };
  let frames = 0;
  const draw = () => {
    // The page appends the container once its section is complete: wait for that.
    if (!el.isConnected) { if (++frames < kMaxWaitFrames) requestAnimationFrame(draw); return; }
    const width = Math.max(300, el.clientWidth || 700);
    const u = new uPlot({
      width, height: opts.height || kChartHeight, title: opts.title, tzDate: utc,
      scales: {
        x: { time: true, range: () => live.opts.xRange },
        y: opts.yRange ? { range: (...a) => live.opts.yRange(...a) } : {},
      },
      series: [{ label: 'UTC' }, ...opts.series],
      axes: [
        { label: 'time (UTC)', labelSize: 18, size: 50, values: utcTicks },
        { label: opts.unit, labelSize: 18, size: 56, ...(opts.counts ? { values: integerTicks } : {}) },
      ],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      hooks: { draw: [(self) => drawMarks(self, live.opts.marks || [])] },
    }, live.opts.data, el);
    live.u = u;
    if (charts) charts.push(u);
    el.dataset.drawn = 'true';
  };
  el.chartState = live;
  requestAnimationFrame(draw);
  return el;
}

// Gives the chart `el` (made by timeChart, already drawn) the data, x range, marks, title,
// legend values, point visibility, data-* attributes and label of `opts`, redrawing it in
// place. Returns false (and changes nothing) when `el` cannot be updated that way: not drawn
// yet, or a different number of series or y-range kind.
export function updateChart(el, opts) {
  const live = el?.chartState;
  const u = live?.u;
  if (!u || !el.isConnected || u.series.length !== opts.series.length + 1 || !!live.opts.yRange !== !!opts.yRange) return false;
  live.opts = { ...live.opts, ...opts };
  opts.series.forEach((s, i) => {
    const target = u.series[i + 1];
    if (s.value) target.value = s.value;
    if (s.points && target.points && 'show' in s.points) {
      const show = s.points.show;
      target.points.show = typeof show === 'function' ? show : () => show;
    }
  });
  const title = u.root.querySelector('.u-title');
  if (title && opts.title) title.textContent = opts.title;
  el.setAttribute('aria-label', opts.ariaLabel || opts.title);
  Object.assign(el.dataset, opts.dataset || {});
  u.setData(opts.data);
  return true;
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

// Loads a history over the range the person chose and asks for it again on each refresh
// round of the page, in place. hooks:
//   fetch(key) -> the data to show for range `key` (may throw),
//   loading(key) -> the page shows it is loading (only when the person picked a range),
//   show(data, key, refreshed) -> draws it (refreshed: a refresh round, update in place),
//   fail(err, key, refreshed) -> a failure (refreshed: keep what is shown; the next round
//   retries), isStale() -> true once the page is gone.
// An answer older than the newest request (a range picked while a refresh was under way, or
// the other way round) is dropped; a refresh round is skipped while the person's own choice
// is still loading.
export function rangeLoader(hooks) {
  let seq = 0, picking = 0, key = null;
  const run = async (k, refreshed) => {
    const mine = ++seq;
    key = k;
    if (!refreshed) { picking++; hooks.loading(k); }
    try {
      let data;
      try {
        data = await hooks.fetch(k);
      } catch (err) {
        if (mine === seq && !hooks.isStale()) hooks.fail(err, k, refreshed);
        return;
      }
      if (mine !== seq || hooks.isStale()) return;
      hooks.show(data, k, refreshed);
    } finally {
      if (!refreshed) picking--;
    }
  };
  return {
    load: (k) => run(k, false),
    refresh: () => (picking || key === null ? undefined : run(key, true)),
  };
}

// Sets an element's text only when it changes (a live region announces each change).
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

// Chart containers under `root` by their data-metric (or "" when they have none), to be
// updated in place by the next drawing.
export function chartsByKey(root) {
  return new Map([...root.querySelectorAll('.chart')].filter((c) => c.chartState?.u).map((c) => [c.dataset.metric || '', c]));
}

// Destroys the uPlot instances of the chart containers in `old` that the new drawing did not
// reuse (no longer in the document), and drops them from `charts`.
export function dropUnusedCharts(old, charts) {
  for (const el of old.values()) {
    if (el.isConnected) continue;
    const u = el.chartState?.u;
    if (!u) continue;
    const i = charts.indexOf(u);
    if (i >= 0) charts.splice(i, 1);
    u.destroy();
    el.chartState.u = null;
  }
}
