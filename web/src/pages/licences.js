// Licences: GPUs in use against each model's cap, compliance of the licence's GPUs, report
// download (JSON, CSV) through the API with the signed-in token.
import { api, listAll, query } from '../api.js';
import { h, clear, fill, add, section, kv, table, badge, fmtNumber, fmtTime, verdictBar, downloadBlob, errorBox, kVerdictColors } from '../dom.js';
import { kRanges, rangeSelect, timeChart, updateChart, rangeLoader, setText, chartsByKey, dropUnusedCharts, steppedPaths, isoSeconds, unixSeconds } from '../charts.js';

// Compliance over time: the range shown first, and the chart's stacking order (bottom first:
// violations sit on the axis, where a few of them stay visible under many compliant GPUs).
const kDefaultHistoryRange = '7d';
const kStack = ['violation', 'unproven', 'compliant'];
// The licence page lists at most this many of its GPUs (the report download has all).
const kMaxGpuRows = 2000;

function usageBar(inUse, max) {
  const pct = max > 0 ? Math.min(100, (100 * inUse) / max) : inUse > 0 ? 100 : 0;
  const over = max >= 0 && inUse > max;
  return h('div.usage', { role: 'meter', 'aria-valuemin': '0', 'aria-valuemax': String(max), 'aria-valuenow': String(inUse), 'aria-label': `${inUse} of ${max} in use` },
    h('div.usage-track', h('div.usage-fill', { class: over ? 'over' : pct > 90 ? 'near' : '', style: { width: `${pct}%` } })),
    h('span.usage-text', { class: over ? 'over-text' : '' }, `${fmtNumber(inUse)} / ${fmtNumber(max)}`, over ? ' — over the cap' : ''));
}

async function report(id) {
  return api(`/reports/licences/${id}?format=json`);
}

async function download(licence, format, status) {
  fill(status, `Preparing the ${format.toUpperCase()} report…`);
  try {
    const res = await api(`/reports/licences/${licence.id}?format=${format}`, { raw: true });
    const blob = await res.blob();
    downloadBlob(blob, `licence-${(licence.reference || licence.id).toString().replace(/[^\w.-]+/g, '_')}.${format}`);
    fill(status, `${format.toUpperCase()} report downloaded (${fmtNumber(blob.size)} bytes).`);
  } catch (err) {
    fill(status, errorBox(err));
  }
}

export async function renderLicences(main) {
  const [licences, ov] = await Promise.all([listAll('/licences'), api('/overview').catch(() => ({}))]);
  const byLic = new Map((ov.by_licence || []).map((r) => [r.licence_id, r]));
  add(main, h('h1', 'Licences'));
  const list = h('div.licence-list');
  add(main, list);
  if (!licences.length) list.append(h('p.muted', 'No licences.'));
  const reports = await Promise.all(licences.map((l) => report(l.id).catch((err) => ({ error: err }))));
  licences.forEach((l, i) => {
    const rep = reports[i];
    const counts = byLic.get(l.id) || {};
    const status = h('div.small', { role: 'status', 'aria-live': 'polite' });
    list.append(h('section.card.licence', { 'aria-labelledby': `lic-${l.id}`, dataset: { licenceId: String(l.id) } },
      h('h2', { id: `lic-${l.id}` }, h('a', { href: `#/licences/${l.id}` }, l.reference), ' ', h('span.muted.small', l.holder || '')),
      h('div.grid2',
        h('div', h('h3', 'Usage against caps'), usageTable(rep)),
        h('div', h('h3', 'Compliance now'), verdictBar(counts, l.reference),
          h('p.small', ['compliant', 'unproven', 'violation'].map((v) => `${fmtNumber(counts[v] || 0)} ${v}`).join(' · ')),
          h('p.small.muted', `Valid ${fmtTime(l.valid_from)} to ${fmtTime(l.valid_until)}`))),
      h('div.actions',
        h('button', { type: 'button', onclick: () => download(l, 'json', status) }, 'Download JSON report'),
        h('button', { type: 'button', onclick: () => download(l, 'csv', status) }, 'Download CSV report'),
        status)));
  });
}

function usageTable(rep) {
  if (rep?.error) return errorBox(rep.error);
  return table([
    { label: 'Model', get: (u) => u.model },
    { label: 'In use / cap', class: 'wide', get: (u) => usageBar(u.in_use || 0, u.max_count ?? 0) },
  ], rep?.usage || [], { caption: 'Usage against model caps', empty: 'No model caps.', class: 'usage-table' });
}

// GET /licences/{id}/history over a chosen range: the licence's GPUs by verdict at each
// instant, stacked (violation at the bottom, then unproven, then compliant), as steps (a
// count holds until the next instant). The legend follows the cursor with each verdict's
// own count; the last instant's counts are written out below the chart.
function complianceSection(l, ctx, charts) {
  const holder = h('div.compliance-history', { dataset: { state: 'loading' } });
  const status = h('p.small.muted', { role: 'status', 'aria-live': 'polite' });
  const whole = { key: 'term', label: 'Whole licence term' };
  const rangeOf = (key) => kRanges.find((r) => r.key === key) || whole;
  // The range asked for: until is now (or the end of the term), so a refresh sees new verdicts.
  const bounds = (key) => {
    const untilMs = Math.min(Date.now(), new Date(l.valid_until).getTime() || Date.now());
    const fixed = kRanges.find((r) => r.key === key);
    const sinceMs = fixed ? untilMs - fixed.seconds * 1000 : new Date(l.valid_from).getTime();
    return { sinceMs, untilMs, since: isoSeconds(sinceMs), until: isoSeconds(untilMs) };
  };
  const loader = rangeLoader({
    isStale: ctx.isStale,
    loading: (key) => {
      holder.dataset.state = 'loading';
      setText(status, `Loading compliance over the ${rangeOf(key).label.toLowerCase()}…`);
    },
    fetch: async (key) => {
      const b = bounds(key);
      // A licence whose term has not begun (or a bad valid_from): nothing to ask for.
      if (!(b.sinceMs < b.untilMs)) return { ...b, res: null };
      return { ...b, res: await api(`/licences/${l.id}/history${query({ since: b.since, until: b.until })}`) };
    },
    fail: (err, key, refreshed) => {
      // A failed refresh keeps the last chart; the next round retries.
      if (refreshed) { holder.dataset.refreshFailed = 'true'; return; }
      for (const c of charts.splice(0)) c.destroy();
      holder.replaceChildren(errorBox(err));
      holder.dataset.state = 'error';
      setText(status, '');
    },
    show: ({ res, since, until }, key) => {
      const range = rangeOf(key);
      if (!res) {
        for (const c of charts.splice(0)) c.destroy();
        holder.replaceChildren(h('p.empty-state', `No compliance history: the licence's term begins ${fmtTime(l.valid_from)}.`));
        Object.assign(holder.dataset, { state: 'empty', range: range.key, since, until });
        setText(status, '');
        return;
      }
      const old = chartsByKey(holder);
      holder.replaceChildren(...complianceChart(l, res, since, until, charts, old.get('')));
      dropUnusedCharts(old, charts);
      Object.assign(holder.dataset, {
        state: res.items?.length ? 'chart' : 'empty', range: range.key, since, until,
        refreshFailed: 'false', refreshedAt: isoSeconds(Date.now()),
      });
      setText(status, `${fmtNumber(res.items?.length || 0)} instants every ${fmtDuration(res.bucket_s)} over the ${range.label.toLowerCase()}.`);
    },
  });
  loader.load(kDefaultHistoryRange);
  // The page's refresh cycle asks for the chosen range again: new verdicts appear.
  ctx.onRefresh(loader.refresh);
  return section('Compliance over time',
    h('div.history-head', h('p.small.muted', 'GPUs counted at each instant by the verdict they had then, when it was judged against this licence.'),
      rangeSelect('compliance-range', 'Time range', kDefaultHistoryRange, (k) => loader.load(k), [whole])),
    status, holder);
}

function fmtDuration(s) {
  if (!s) return '—';
  const round = (x) => (Number.isInteger(x) ? String(x) : x.toFixed(1));
  if (s >= 2 * 86400) return `${round(s / 86400)} d`;
  if (s >= 2 * 3600) return `${round(s / 3600)} h`;
  if (s >= 120) return `${round(s / 60)} min`;
  return `${s} s`;
}

function complianceChart(l, res, since, until, charts, shown) {
  const items = res.items || [];
  if (!items.length) {
    return [h('p.empty-state', `No instants in this range (${fmtTime(res.since || since)} to ${fmtTime(res.until || until)}).`)];
  }
  const xs = items.map((r) => unixSeconds(r.time));
  const raw = Object.fromEntries(kStack.map((v) => [v, items.map((r) => r[v] || 0)]));
  // Cumulative tops, bottom first; drawn top first so each lower band paints over the one above.
  const cum = [];
  kStack.forEach((v, k) => cum.push(raw[v].map((n, i) => n + (k ? cum[k - 1][i] : 0))));
  const order = kStack.map((v, k) => k).reverse();
  const last = items[items.length - 1];
  const max = (v) => Math.max(...raw[v]);
  const first = (v) => items.find((r) => (r[v] || 0) > 0)?.time || '';
  const dataset = {
    instants: String(items.length), bucketS: String(res.bucket_s ?? ''),
    firstTime: items[0].time, lastTime: last.time,
    lastCompliant: String(last.compliant || 0), lastUnproven: String(last.unproven || 0), lastViolation: String(last.violation || 0),
    maxCompliant: String(max('compliant')), maxUnproven: String(max('unproven')), maxViolation: String(max('violation')),
  };
  const opts = {
    title: `GPUs of ${l.reference} by verdict`, unit: 'GPUs', counts: true, height: 240, dataset,
    xRange: [unixSeconds(res.since || since), unixSeconds(res.until || until)],
    data: [xs, ...order.map((k) => cum[k])],
    series: order.map((k) => {
      const v = kStack[k];
      return {
        // No outline: a zero count must not draw a coloured line along the axis.
        label: v, stroke: kVerdictColors[v], fill: kVerdictColors[v], width: 0, paths: steppedPaths(),
        points: { show: false },
        // The legend shows this verdict's own count, not the stacked top.
        value: (u, top, sidx, idx) => (idx == null ? '—' : fmtNumber(raw[v][idx])),
      };
    }),
    yRange: (u, min, maxV) => [0, Math.max(1, Math.ceil((maxV || 0) * 1.1))],
    ariaLabel: `GPUs of ${l.reference} by verdict at ${items.length} instants from ${fmtTime(items[0].time)} to ${fmtTime(last.time)}; ` +
      `at the last instant ${last.compliant || 0} compliant, ${last.unproven || 0} unproven, ${last.violation || 0} violation; ` +
      `at most ${max('unproven')} unproven and ${max('violation')} in violation.`,
  };
  // A refresh (or another range) redraws the chart already shown in place.
  const chart = shown && updateChart(shown, opts) ? shown : timeChart(opts, charts);
  chart.classList.add('compliance-chart');
  const peak = (v) => (max(v) ? `${fmtNumber(max(v))} at most (first ${fmtTime(first(v))})` : 'none');
  return [chart,
    h('p.small.last-instant', `At ${fmtTime(last.time)}: `, kStack.slice().reverse().map((v, i) => [i ? ' · ' : '', badge(v), ` ${fmtNumber(last[v] || 0)}`])),
    h('p.small.muted', `In this range: violation ${peak('violation')}; unproven ${peak('unproven')}.`)];
}

export async function renderLicence(main, ctx, idText) {
  const id = Number(idText);
  const [l, rep] = await Promise.all([api(`/licences/${id}`), report(id).catch((err) => ({ error: err }))]);
  const charts = [];  // uPlot instances, destroyed with the page
  const status = h('div.small', { role: 'status', 'aria-live': 'polite' });
  const usage = h('div.usage-now', usageTable(rep));
  let gpus = gpusSection(rep);
  add(main, 
    h('nav.crumbs', { 'aria-label': 'Breadcrumb' }, h('a', { href: '#/licences' }, 'Licences'), ' / ', l.reference),
    h('h1', `Licence ${l.reference}`),
    h('div.actions',
      h('button', { type: 'button', onclick: () => download(l, 'json', status) }, 'Download JSON report'),
      h('button', { type: 'button', onclick: () => download(l, 'csv', status) }, 'Download CSV report'),
      status),
    h('div.grid2',
      section('Terms', kv([
        ['Holder', l.holder], ['End user', l.end_user],
        ['Allowed sites', (l.allowed_sites || []).map((s) => `${s.name} (${s.radius_km} km)`).join(', ') || '—'],
        ['Allowed countries', (l.allowed_countries || []).join(', ') || '—'],
        ['Prohibited regions', (l.prohibited_regions || []).join(', ') || '—'],
        ['Valid', `${fmtTime(l.valid_from)} – ${fmtTime(l.valid_until)}`],
        ['Reporting cadence', l.reporting_cadence_s ? `${Math.round(l.reporting_cadence_s / 3600)} h` : '—'],
      ])),
      section('Usage against caps', usage)),
    complianceSection(l, ctx, charts),
    gpus);
  // Usage against the caps and the GPUs under the licence follow the report on the refresh
  // cycle (one request, as the overview's one); each is redrawn only when it changed, and a
  // failed request keeps what is shown.
  let shown = { usage: JSON.stringify(rep?.usage ?? null), devices: JSON.stringify(rep?.devices ?? null) };
  ctx.onRefresh(async () => {
    const next = await report(id);
    if (ctx.isStale()) return;
    const now = { usage: JSON.stringify(next?.usage ?? null), devices: JSON.stringify(next?.devices ?? null) };
    if (now.usage !== shown.usage) { fill(usage, usageTable(next)); usage.dataset.refreshedAt = isoSeconds(Date.now()); }
    if (now.devices !== shown.devices) {
      const sel = window.getSelection();
      if (sel && !sel.isCollapsed && gpus.contains(sel.anchorNode)) return;  // not while text is selected there
      const fresh = gpusSection(next);
      gpus.replaceWith(fresh);
      gpus = fresh;
    }
    shown = now;
  });
  return () => { for (const c of charts.splice(0)) c.destroy(); };
}

// The GPUs under the licence (the report's devices), the first kMaxGpuRows of them.
function gpusSection(rep) {
  if (rep?.error) return h('div.gpus-under-licence');
  const devs = rep.devices || [];
  return h('div.gpus-under-licence', section(`GPUs under this licence (${fmtNumber(devs.length)})`, table([
    { label: 'Serial', get: (d) => d.serial },
    { label: 'UUID', class: 'mono small', get: (d) => d.uuid },
    { label: 'Model', get: (d) => d.model },
    { label: 'Host', get: (d) => d.host },
    { label: 'Site', get: (d) => d.site },
    { label: 'Verdict', get: (d) => badge(d.verdict || 'none') },
    { label: 'Last proof', get: (d) => fmtTime(d.last_proof) },
    { label: 'Assurance', get: (d) => d.assurance },
    { label: 'Open alerts', class: 'num', get: (d) => fmtNumber(d.open_alerts) },
  ], devs.slice(0, kMaxGpuRows), { caption: 'GPUs under this licence', empty: 'No GPUs under this licence.' }),
  devs.length > kMaxGpuRows ? h('p.muted', `Showing ${fmtNumber(kMaxGpuRows)}; the report download has all.`) : null));
}
