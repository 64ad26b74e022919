// GPU page: identity, assurance and verdict; the sound region on the map (each landmark's
// cap, their intersection, the estimate with its uncertainty, the licensed area and the
// prohibited regions); RTT per landmark and its history; health; identity and topology
// timeline; alerts.
import uPlot from 'uplot';
import { api, listAll, query } from '../api.js';
import { h, clear, fill, add, section, kv, table, badge, verdictOf, timeAgo, fmtTime, fmtFixed, fmtNumber, errorBox } from '../dom.js';
import { MapView, circleGeometry, ringsGeometry } from '../mapview.js';
import { hasEstimate } from './map.js';
import { kRanges, rangeSelect, timeChart, updateChart, rangeLoader, setText, chartsByKey, dropUnusedCharts, steppedPaths, withGaps, isoSeconds, unixSeconds } from '../charts.js';

const kCapColors = ['#2f6db5', '#8a4fbf', '#0e8a8a', '#b5532f', '#5b7f1f', '#b0347a', '#4a5a8c', '#9a7b12'];
const kMaxMeasurements = 5000;
// Health history: the API's largest page (docs/api.md: limit <= 10,000); 30 days of samples
// every 5 min are 8,640.
const kTelemetryLimit = 10000;
const kDefaultHealthRange = '7d';
// A line breaks where no sample came for this many sample intervals (or typical gaps).
const kGapFactor = 3;
// XID changes: labelled marks up to this many (more are drawn as bare lines), table rows.
const kMaxLabelledXidMarks = 40;
const kMaxXidRows = 50;

export async function renderGpu(main, ctx, idText) {
  const id = Number(idText);
  const device = await api(`/devices/${id}`);
  if (ctx.isStale()) return;
  const [host, site, licence] = await Promise.all([
    device.host_id ? api(`/hosts/${device.host_id}`).catch(() => null) : null,
    device.site_id ? api(`/sites/${device.site_id}`).catch(() => null) : null,
    device.licence_id ? api(`/licences/${device.licence_id}`).catch(() => null) : null,
  ]);
  const head = h('div.gpu-head');
  const top = h('div.grid2');
  const related = { host, site, licence };
  fill(head, ...gpuHeader(device));
  top.append(...gpuCards(device, related));
  add(main, head, top);
  // The sound region on the map.
  const regionSec = section('Sound region');
  add(main, regionSec);
  const regionMap = h('div.region-layout');
  regionSec.append(regionMap);
  const view = new MapView(regionMap, { height: '520px', label: 'Map of this GPU\'s sound region: landmark caps, their intersection, the estimate, licensed area and prohibited regions.' });
  const regionInfo = h('div.region-info');
  regionMap.append(regionInfo);
  const charts = [];  // uPlot instances of the health history, destroyed with the page
  const cleanup = () => { view.destroy(); for (const c of charts.splice(0)) c.destroy(); };
  const rest = h('div');
  add(main, rest);

  let region = null;
  try {
    region = await api(`/devices/${id}/region`);
  } catch (err) {
    // A server without the region view still has the RTTs: draw the caps from them.
    if (err.status === 503) region = await regionFromRtts(id, device, licence).catch(() => null);
    if (!region) regionInfo.append(errorBox(err));
  }
  if (region) {
    await drawRegion(view, region, regionInfo);
    if (region.fallback) regionInfo.prepend(h('p.warn.small', 'The server has no region view: caps drawn from the current minimum RTTs; the intersection boundary is not shown.'));
  }

  // The title, cards and latest health follow GET /devices/{id} on the refresh cycle.
  const health = { setLatest: () => {} };
  ctx.onRefresh(() => refreshDevice(id, related, head, top, health, ctx));

  // RTTs, history, health, timeline, alerts: independent sections, each fails alone.
  const sections = [
    ['RTT per landmark', () => rttSection(id, region)],
    ['Health', () => healthSection(id, device, charts, ctx, health)],
    ['Identity and topology timeline', () => timelineSection(id, device)],
    ['Alerts', () => alertsSection(id)],
  ];
  for (const [title, make] of sections) {
    const sec = section(title);
    rest.append(sec);
    make().then((nodes) => add(sec, nodes)).catch((err) => sec.append(errorBox(err)));
  }
  return cleanup;
}

// The breadcrumb, title (with the verdict) and the verdict's reason.
function gpuHeader(device) {
  const v = device.verdict;
  return [
    h('nav.crumbs', { 'aria-label': 'Breadcrumb' }, h('a', { href: '#/gpus' }, 'GPUs'), ' / ', device.serial || device.uuid),
    h('h1', `GPU ${device.serial || device.uuid} `, badge(verdictOf(device))),
    h('p.lede', v ? v.reason || '' : 'No verdict yet: no measurements have been evaluated for this GPU.'),
  ];
}

// The identity and the assurance-and-verdict cards. related: {host, site, licence}.
function gpuCards(device, { host, site, licence }) {
  const v = device.verdict;
  const status = verdictOf(device);
  return [
    section('Identity',
      kv([
        ['UUID', h('span.mono', device.uuid)], ['Serial', device.serial], ['UEID', h('span.mono', device.ueid || '—')],
        ['Model', device.model], ['Architecture', device.architecture], ['VBIOS', device.vbios], ['PCI bus', device.pci_bus_id],
        ['Host', host ? host.hostname : device.host_id ? `#${device.host_id}` : '—'],
        ['Site', site ? `${site.name} (${site.country}, ${site.radius_km} km)` : '—'],
        ['Licence', licence ? h('a', { href: `#/licences/${licence.id}` }, licence.reference) : h('span.warn', 'none')],
        ['First seen', fmtTime(device.first_seen)], ['Last seen', timeAgo(device.last_seen)],
      ])),
    section('Assurance and verdict',
      kv([
        ['Verdict', badge(status)],
        ['Reason', v?.reason],
        ['Evaluated', v ? timeAgo(v.time) : '—'],
        ['Key assurance', device.key ? h('span', h('strong', device.key.assurance), ` — ${assuranceText(device.key.assurance)}`) : 'no key bound'],
        ['Key id', device.key ? h('span.mono', device.key.key_id) : '—'],
        ['Key bound', device.key ? fmtTime(device.key.bound_at) : '—'],
        ['Robustness', v ? `holds after dropping any ${v.robustness_f ?? 0} landmark(s)` : '—'],
        ['Sound region', regionSummary(v)],
        ['Estimate', hasEstimate(v?.estimate) ? `${fmtFixed(v.estimate.latitude_deg, 3)}, ${fmtFixed(v.estimate.longitude_deg, 3)} ± ${fmtFixed(v.estimate.uncertainty_km, 0)} km` : '—'],
      ])),
  ];
}

// Refreshes the parts of the GPU page that come from GET /devices/{id} (title, verdict,
// identity and assurance cards, latest health tiles) with one request, as the overview
// refreshes its counts; host, site and licence are asked again only when the GPU's ids for
// them changed. A failed request keeps what is shown (the next round retries).
async function refreshDevice(id, related, head, top, health, ctx) {
  const device = await api(`/devices/${id}`);
  if (ctx.isStale()) return;
  const again = async (key, path, idKey) => {
    const want = device[idKey] || 0;
    if ((related[key]?.id || 0) === want) return related[key];
    return want ? api(`${path}/${want}`).catch(() => null) : null;
  };
  const [host, site, licence] = await Promise.all([
    again('host', '/hosts', 'host_id'), again('site', '/sites', 'site_id'), again('licence', '/licences', 'licence_id'),
  ]);
  if (ctx.isStale()) return;
  Object.assign(related, { host, site, licence });
  // Nothing is swapped while the person selects text in these cards.
  const sel = window.getSelection();
  if (sel && !sel.isCollapsed && (head.contains(sel.anchorNode) || top.contains(sel.anchorNode))) return;
  fill(head, ...gpuHeader(device));
  top.replaceChildren(...gpuCards(device, related));
  health.setLatest(device.telemetry);
}

// Light in vacuum: km of cap radius per millisecond of round-trip time (c * RTT / 2).
const kKmPerRttMs = 149.896229;

// The region view's shape built from /rtts, the landmarks and the licence (no boundary).
async function regionFromRtts(id, device, licence) {
  const [rtts, landmarks] = await Promise.all([api(`/devices/${id}/rtts`), listAll('/landmarks')]);
  const byId = new Map(landmarks.map((l) => [l.id, l]));
  const caps = (rtts.items || []).map((r) => {
    const l = byId.get(r.landmark_id);
    if (!l) return null;
    const ms = r.min_rtt_ms ?? r.min_rtt_ns / 1e6;
    return { landmark_id: l.id, name: l.name, latitude_deg: l.latitude_deg, longitude_deg: l.longitude_deg, min_rtt_ms: ms, radius_km: ms * kKmPerRttMs, used: l.status === 'active' };
  }).filter(Boolean);
  return {
    fallback: true, caps, region: { empty: false, full: true, boundary: [] },
    estimate: device.verdict?.estimate || null,
    licensed_area: { sites: licence?.allowed_sites || [], countries: licence?.allowed_countries || [] },
    prohibited_regions: licence?.prohibited_regions || [],
  };
}

function regionSummary(v) {
  const r = v?.region;
  if (!r) return '—';
  const n = r.landmarks_used ?? '?';
  if (r.empty) {
    return `the caps of all ${n} landmarks do not meet${r.inconsistent ? ' (inconsistent measurements: a landmark may be wrong or lying)' : ''}; the verdict tolerates ${v.robustness_f ?? 0} dishonest landmark(s)`;
  }
  const parts = [];
  if (r.radius_km != null) parts.push(`radius ${fmtFixed(r.radius_km, 0)} km`);
  if (r.area_km2 != null) parts.push(`area ${fmtNumber(Math.round(r.area_km2))} km²`);
  parts.push(`${n} landmarks`);
  return parts.join(', ');
}

function assuranceText(level) {
  return {
    L0: 'software identity (agent key, NVML identity)',
    L1: 'attested identity (GPU attestation report binds the key)',
    L2: 'protected key (confidential VM + GPU attestation)',
    L3: 'hardware-timed (the GPU signs the timed challenge)',
  }[level] || '';
}

async function drawRegion(view, region, info) {
  await view.ready;
  const lic = region.licensed_area || {};
  const geoms = [];
  await view.addCountries(lic.countries || [], { fill: 'rgba(26,127,90,0.16)', stroke: '#1a7f5a', width: 1 });
  await view.addCountries(region.prohibited_regions || [], { fill: 'rgba(192,38,45,0.20)', stroke: '#c0262d', width: 1.2 });
  for (const s of lic.sites || []) {
    const g = circleGeometry(s.latitude_deg, s.longitude_deg, s.radius_km || 1);
    view.addShape(g, { fill: 'rgba(26,127,90,0.22)', stroke: '#1a7f5a', width: 1.5, dash: [5, 3] });
  }
  const caps = region.caps || [];
  let capsDrawn = 0;
  caps.forEach((c, i) => {
    const g = circleGeometry(c.latitude_deg, c.longitude_deg, c.radius_km);
    // A cap of a flagged or retired landmark is shown but was not used for the region.
    const style = c.used === false ? { stroke: '#8a94a3', width: 1.2, dash: [4, 4] } : { stroke: kCapColors[i % kCapColors.length], width: 1.6 };
    if (view.addShape(g, style)) capsDrawn++;
    geoms.push(g);
  });
  view.setLandmarks(caps.map((c) => ({ name: c.name, latitude_deg: c.latitude_deg, longitude_deg: c.longitude_deg, status: 'active' })));
  const boundary = region.region?.boundary || [];
  let regionGeom = null;
  if (!region.region?.empty && !region.region?.full && boundary.length) {
    regionGeom = ringsGeometry(boundary);
    view.addShape(regionGeom, { fill: 'rgba(37,84,160,0.35)', stroke: '#173d7a', width: 2.2, fillRule: 'evenodd' });
  }
  const est = region.estimate;
  if (hasEstimate(est)) {
    const eg = circleGeometry(est.latitude_deg, est.longitude_deg, Math.max(1, est.uncertainty_km || 1));
    view.addShape(eg, { stroke: '#111', width: 1.4, dash: [3, 3] });
    view.addShape(circleGeometry(est.latitude_deg, est.longitude_deg, Math.max(0.5, (est.uncertainty_km || 10) / 25)), { fill: '#111' });
    geoms.push(eg);
  }
  // Caps are usually far larger than their intersection: frame the region (and the estimate);
  // the reset button shows every cap on the whole world.
  const smallest = caps.map((c, i) => [c.radius_km, i]).filter(([, i]) => caps[i].used !== false).sort((a, b) => a[0] - b[0])[0];
  view.fitGeometries(regionGeom ? [regionGeom, ...(hasEstimate(est) ? geoms.slice(-1) : [])]
    : smallest ? [geoms[smallest[1]], ...(hasEstimate(est) ? geoms.slice(-1) : [])] : geoms);
  view.root.dataset.caps = String(capsDrawn);
  view.root.dataset.regionRings = String(regionGeom ? regionGeom.coordinates.length : 0);

  const lic2 = [
    ...(lic.sites || []).map((s) => `${s.name} (${s.radius_km} km)`),
    ...(lic.countries || []).map((c) => view.atlas.name(c) + ` (${c})`),
  ];
  fill(info, 
    h('ul.region-legend',
      h('li', h('span.sw.sw-region'), region.region?.empty ? 'Sound region: empty (the caps do not intersect)' : region.region?.full ? (region.fallback ? 'Sound region: inside every cap below (boundary not available)' : 'Sound region: unbounded (no usable cap)') : `Sound region: intersection of the caps — the key answered from inside it${region.region?.area_km2 ? ` (${fmtNumber(Math.round(region.region.area_km2))} km²)` : ''}`),
      h('li', h('span.sw.sw-cap'), `${caps.length} landmark caps (c × RTT / 2)`),
      h('li', h('span.sw.sw-estimate'), hasEstimate(est) ? `Estimate ± ${fmtFixed(est.uncertainty_km, 0)} km${est.method ? ` (${est.method})` : ''} — for display, not proof` : 'No estimate'),
      h('li', h('span.sw.sw-licensed'), `Licensed: ${lic2.join(', ') || 'nothing'}`),
      h('li', h('span.sw.sw-prohibited'), `Prohibited: ${(region.prohibited_regions || []).join(', ') || 'none'}`)),
    table([
      { label: '', get: (c) => h('span.sw', { style: { borderColor: kCapColors[caps.indexOf(c) % kCapColors.length] }, 'aria-hidden': 'true' }) },
      { label: 'Landmark', get: (c) => c.used === false ? h('span', c.name, h('span.muted.small', ' (not used: landmark flagged or retired)')) : c.name },
      { label: 'Min RTT (ms)', class: 'num', get: (c) => fmtFixed(c.min_rtt_ms, 3) },
      { label: 'Cap radius (km)', class: 'num', get: (c) => fmtNumber(Math.round(c.radius_km)) },
    ], caps, { caption: 'Landmark caps', empty: 'No caps: no replies from any landmark.' }));
}

function rttMs(m) {
  if (m.rtt_ms !== undefined) return m.rtt_ms;
  if (m.rtt_ns !== undefined) return m.rtt_ns / 1e6;
  if (m.rtt_us !== undefined) return m.rtt_us / 1e3;
  return null;
}

async function rttSection(id, region) {
  const [rtts, measurements, landmarks] = await Promise.all([
    api(`/devices/${id}/rtts`).catch(() => null),
    listAll(`/devices/${id}/measurements`, {}, kMaxMeasurements).catch(() => []),
    listAll('/landmarks').catch(() => []),
  ]);
  const lmName = new Map(landmarks.map((l) => [l.id, l.name]));
  for (const c of region?.caps || []) lmName.set(c.landmark_id, c.name);
  const rows = Array.isArray(rtts) ? rtts : rtts?.items || rtts?.rtts || [];
  const nodes = [table([
    { label: 'Landmark', get: (r) => r.landmark_name || lmName.get(r.landmark_id) || `#${r.landmark_id}` },
    { label: 'Min RTT (ms)', class: 'num', get: (r) => fmtFixed(rttMs({ rtt_ms: r.min_rtt_ms, rtt_ns: r.min_rtt_ns }), 3) },
    { label: 'Bound (km)', class: 'num', get: (r) => { const ms = rttMs({ rtt_ms: r.min_rtt_ms, rtt_ns: r.min_rtt_ns }); return ms == null ? '—' : fmtNumber(Math.round(ms * 149.896229)); } },
    { label: 'Samples', class: 'num', get: (r) => fmtNumber(r.count ?? r.samples) },
    { label: 'Last', get: (r) => timeAgo(r.last_time || r.last_at || r.time) },
  ], rows, { caption: 'Minimum RTT per landmark', empty: 'No RTTs yet.' })];
  const series = new Map();
  for (const m of measurements) {
    const t = new Date(m.time || m.measured_at || m.created_at).getTime() / 1000;
    const r = rttMs(m);
    if (!Number.isFinite(t) || r === null) continue;
    if (!series.has(m.landmark_id)) series.set(m.landmark_id, [[], []]);
    const s = series.get(m.landmark_id);
    s[0].push(t); s[1].push(r);
  }
  if (series.size) {
    const ids = [...series.keys()];
    for (const k of ids) { const [xs, ys] = series.get(k); const o = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b]); series.set(k, [o.map((i) => xs[i]), o.map((i) => ys[i])]); }
    const data = uPlot.join(ids.map((k) => series.get(k)));
    nodes.push(h('h3', 'RTT history'), chart('RTT history per landmark (ms)', data,
      ids.map((k, i) => ({ label: lmName.get(k) || `landmark ${k}`, stroke: kCapColors[i % kCapColors.length], spanGaps: true, points: { show: false } })), 'ms'));
  } else {
    nodes.push(h('p.muted', 'No measurement history available.'));
  }
  return nodes;
}

function chart(title, data, series, unit) {
  const el = h('div.chart', { role: 'img', 'aria-label': title });
  requestAnimationFrame(() => {
    const width = Math.max(300, el.clientWidth || 700);
    // eslint-disable-next-line no-new
    new uPlot({
      width, height: 220, title,
      series: [{}, ...series],
      axes: [{}, { label: unit }],
      legend: { live: false },
    }, data, el);
  });
  return el;
}

// Latest health (GET /devices/{id}) and its history (GET /devices/{id}/telemetry) over a
// chosen range: temperature, power, utilization, uncorrected ECC errors and XIDs (the
// instants where the XID count or the last XID changed are marked).
async function healthSection(id, device, charts, ctx, health) {
  const tile = (label, value, unit, warn) => h('li.stat', { class: warn ? 'warn' : '' },
    h('span.stat-value', value === undefined || value === null ? '—' : `${value}${unit}`), h('span.stat-label', label));
  const latestBox = h('div.health-latest');
  health.setLatest = (latest) => fill(latestBox, ...(latest ? [
    h('ul.stats.health', { 'aria-label': 'Latest health' },
      tile('temperature', latest.temperature_c, ' °C', latest.temperature_c >= 85),
      tile('power', latest.power_w, ' W'),
      tile('utilization', latest.utilization_pct, ' %'),
      tile('ECC uncorrected', latest.ecc_uncorrected, '', latest.ecc_uncorrected > 0),
      tile('XID errors', latest.xid_count, latest.last_xid ? ` (last ${latest.last_xid})` : '', latest.xid_count > 0)),
    h('p.muted.small', `Latest report ${fmtAgo2(latest.time)}.`),
  ] : [h('p.muted', 'No telemetry received from this GPU\'s agent.')]));
  health.setLatest(device.telemetry);

  const history = h('div.health-history', { dataset: { state: 'loading' } });
  const status = h('p.small.muted', { role: 'status', 'aria-live': 'polite' });
  const rangeOf = (key) => kRanges.find((r) => r.key === key) || kRanges[1];
  const loader = rangeLoader({
    isStale: ctx.isStale,
    loading: (key) => {
      history.dataset.state = 'loading';
      setText(status, `Loading the health history of the ${rangeOf(key).label.toLowerCase()}…`);
    },
    fetch: async (key) => {
      const untilMs = Date.now();
      const since = isoSeconds(untilMs - rangeOf(key).seconds * 1000), until = isoSeconds(untilMs);
      return { since, until, res: await api(`/devices/${id}/telemetry${query({ since, until, limit: kTelemetryLimit })}`) };
    },
    fail: (err, key, refreshed) => {
      // A failed refresh keeps the last charts; the next round retries.
      if (refreshed) { history.dataset.refreshFailed = 'true'; return; }
      for (const c of charts.splice(0)) c.destroy();
      history.replaceChildren(errorBox(err));
      history.dataset.state = 'error';
      setText(status, '');
    },
    show: ({ res, since, until }, key) => {
      const range = rangeOf(key);
      const old = chartsByKey(history);
      history.replaceChildren(...healthHistory(res, range, since, until, charts, old).filter(Boolean));
      dropUnusedCharts(old, charts);
      const n = res.items?.length || 0;
      Object.assign(history.dataset, {
        state: n ? 'charts' : 'empty', range: range.key, since, until,
        samples: String(n), truncated: String(!!res.truncated),
        sampleIntervalS: String(res.sample_interval_s ?? ''), refreshFailed: 'false',
        refreshedAt: isoSeconds(Date.now()),
      });
      setText(status, `${fmtNumber(n)} samples over the ${range.label.toLowerCase()}${n ? `, the newest at ${fmtTime(res.items[n - 1].time)}` : ''}${res.truncated ? ' (truncated: older samples left out)' : ''}.`);
    },
  });
  await loader.load(kDefaultHealthRange);
  // The page's refresh cycle asks for the chosen range again: new samples appear.
  ctx.onRefresh(loader.refresh);
  return [latestBox, h('div.history-head', h('h3', 'Health history'),
    rangeSelect('health-range', 'Time range', kDefaultHealthRange, (k) => loader.load(k))), status, history];
}

const kHealthMetrics = [
  { key: 'temperature_c', title: 'Temperature', short: 'temperature', unit: '°C', color: '#b5532f' },
  { key: 'power_w', title: 'Power', short: 'power', unit: 'W', color: '#2f6db5', fromZero: true },
  { key: 'utilization_pct', title: 'Utilization', short: 'utilization', unit: '%', color: '#0e8a8a', range: [0, 100] },
  { key: 'ecc_uncorrected', title: 'ECC uncorrected errors', short: 'ECC uncorrected', unit: 'errors', color: '#8a4fbf', counter: true },
  { key: 'xid_count', title: 'XID errors', short: 'XID count', unit: 'XIDs', color: '#4a5a8c', counter: true },
];

// The instants where the XID count or the last XID differ from the sample before.
export function xidChanges(items) {
  const out = [];
  for (let i = 1; i < items.length; i++) {
    const a = items[i - 1], b = items[i];
    if ((a.xid_count ?? 0) !== (b.xid_count ?? 0) || (a.last_xid ?? 0) !== (b.last_xid ?? 0)) {
      out.push({ time: b.time, from: a.xid_count ?? 0, to: b.xid_count ?? 0, last_xid: b.last_xid ?? 0 });
    }
  }
  return out;
}

function healthHistory(res, range, since, until, charts, reuse = new Map()) {
  const items = res.items || [];
  const xRange = [unixSeconds(res.since || since), unixSeconds(res.until || until)];
  if (!items.length) {
    return [h('p.empty-state', `No health history was reported for this GPU in the ${range.label.toLowerCase()} (${fmtTime(res.since || since)} to ${fmtTime(res.until || until)}).`),
      h('p.muted.small', 'The agent reports health with POST /telemetry; the server keeps a sample every ' +
        `${fmtNumber(res.sample_interval_s || 300)} s, and every change of the ECC or XID counters, for its retention period.`)];
  }
  const out = [];
  if (res.truncated) {
    out.push(h('p.warn.truncated', `Only the newest ${fmtNumber(items.length)} samples of this range are shown: older samples were left out (the server's limit). Choose a shorter range to see all of them.`));
  }
  const xs = items.map((r) => unixSeconds(r.time));
  const gaps = xs.slice(1).map((x, i) => x - xs[i]).sort((a, b) => a - b);
  const median = gaps.length ? gaps[Math.floor(gaps.length / 2)] : 0;
  const maxGapS = kGapFactor * Math.max(res.sample_interval_s || 300, median);
  const changes = xidChanges(items);
  const last = items[items.length - 1];
  const grid = h('div.chart-grid');
  for (const m of kHealthMetrics) {
    const values = items.map((r) => (r[m.key] === undefined ? null : r[m.key]));
    const { xs: gx, columns: [gy] } = withGaps(xs, [values], maxGapS);
    const points = values.filter((v) => v !== null).length;
    const isXid = m.key === 'xid_count';
    const dataset = {
      metric: m.key, points: String(points), latest: last[m.key] == null ? '' : String(last[m.key]),
      firstTime: items[0].time, lastTime: last.time,
    };
    if (isXid) Object.assign(dataset, { xidEvents: String(changes.length), lastXid: String(last.last_xid ?? 0) });
    const title = isXid ? `${m.title}${last.last_xid ? ` — last XID ${last.last_xid}` : ''}` : m.title;
    const opts = {
      title, unit: m.unit, xRange, data: [gx, gy], counts: m.counter, dataset,
      ariaLabel: `${m.title} (${m.unit}) from ${fmtTime(items[0].time)} to ${fmtTime(last.time)}: ${points} samples, latest ${last[m.key] ?? 'unknown'} ${m.unit}` +
        (isXid ? `; ${changes.length} XID change(s), last XID ${last.last_xid ?? 0}` : ''),
      series: [{
        label: m.unit === 'XIDs' || m.unit === 'errors' ? m.short : `${m.short} (${m.unit})`, stroke: m.color, width: 1.6, spanGaps: false,
        ...(m.counter ? { paths: steppedPaths(), fill: m.color + '22' } : {}),
        points: { show: points <= 60, size: 5 },
      }],
      yRange: m.range ? () => m.range : m.counter ? (u, min, max) => [0, Math.max(1, Math.ceil((max || 0) * 1.2))]
        : m.fromZero ? (u, min, max) => [0, Math.max(1, (max || 0) * 1.1)] : undefined,
      marks: isXid ? changes.map((c) => ({ time: unixSeconds(c.time), label: changes.length > kMaxLabelledXidMarks ? '' : c.last_xid ? `XID ${c.last_xid}` : `XIDs ${c.to}` })) : [],
    };
    // A refresh (or another range) redraws the charts already shown in place.
    const shown = reuse.get(m.key);
    const el = shown && updateChart(shown, opts) ? shown : timeChart(opts, charts);
    grid.append(h('div.chart-cell', el));
  }
  out.push(grid);
  if (changes.length) {
    out.push(h('h4', 'XID changes'), table([
      { label: 'Time (UTC)', get: (c) => fmtTime(c.time) },
      { label: 'XID count', class: 'num', get: (c) => `${fmtNumber(c.from)} → ${fmtNumber(c.to)}` },
      { label: 'Last XID', class: 'num', get: (c) => fmtNumber(c.last_xid) },
    ], changes.slice(-kMaxXidRows).reverse(), { caption: 'XID changes in this range', class: 'xid-changes' }),
    changes.length > kMaxXidRows ? h('p.muted.small', `The newest ${kMaxXidRows} of ${fmtNumber(changes.length)} XID changes.`) : null);
  } else {
    out.push(h('p.muted.small', `No XID change in this range${last.xid_count ? ` (XID count ${fmtNumber(last.xid_count)}, last XID ${last.last_xid}, unchanged since ${fmtTime(items[0].time)})` : ''}.`));
  }
  return out;
}

function fmtAgo2(iso) { return iso ? `${fmtTime(iso)}` : 'at an unknown time'; }

async function timelineSection(id, device) {
  const [events, topology, verdicts] = await Promise.all([
    listAll(`/devices/${id}/events`, {}, 2000).catch(() => []),
    listAll(`/devices/${id}/topology`, {}, 500).catch(() => []),
    listAll(`/devices/${id}/verdicts`, {}, 2000).catch(() => []),
  ]);
  const items = [];
  if (device.first_seen) items.push({ time: device.first_seen, kind: 'enrolled', text: 'First seen (enrolled)' });
  for (const e of events) items.push({ time: e.time || e.created_at, kind: e.type || e.kind || 'event', text: describeEvent(e) });
  for (const t of topology) {
    const peers = t.peer_uuids || t.nvlink_peers || t.peers || [];
    items.push({ time: t.time || t.created_at, kind: 'topology', text: `NVLink peers: ${peers.length ? peers.join(', ') : 'none'}` });
  }
  let last = null;
  for (const vd of verdicts.slice().sort((a, b) => new Date(a.time) - new Date(b.time))) {
    if (vd.status !== last) items.push({ time: vd.time, kind: `verdict ${vd.status}`, text: `Verdict became ${vd.status}${vd.reason ? ': ' + vd.reason : ''}`, status: vd.status });
    last = vd.status;
  }
  items.sort((a, b) => new Date(b.time) - new Date(a.time));
  if (!items.length) return h('p.muted', 'No events.');
  return h('ol.timeline', items.slice(0, 300).map((it) => h('li', { class: it.status ? `tl-${it.status}` : '' },
    h('time', { datetime: it.time }, fmtTime(it.time)), h('span.tl-kind', it.kind), h('span.tl-text', it.text))));
}

function describeEvent(e) {
  const d = e.details || e.detail || e.data || {};
  const parts = Object.entries(typeof d === 'object' ? d : { detail: d }).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`);
  return `${e.summary || e.message || e.type || e.kind || 'event'}${parts.length ? ' — ' + parts.join(', ') : ''}`;
}

async function alertsSection(id) {
  const alerts = await listAll('/alerts' , { device_id: id }, 500);
  void query;
  return table([
    { label: 'Severity', get: (a) => h(`span.sev.sev-${a.severity}`, a.severity) },
    { label: 'Type', get: (a) => a.type },
    { label: 'Subject', get: (a) => h('a', { href: `#/alerts?id=${a.id}` }, a.subject) },
    { label: 'State', get: (a) => a.state },
    { label: 'Raised', get: (a) => timeAgo(a.created_at) },
  ], alerts, { caption: 'Alerts of this GPU', empty: 'No alerts for this GPU.' });
}
