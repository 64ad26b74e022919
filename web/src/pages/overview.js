// Overview: the fleet's verdicts at a glance, by site, country and licence; open alerts;
// landmarks and their health.
import { api } from '../api.js';
import { countryNames } from '../atlas.js';
import { h, add, section, table, verdictBar, fmtNumber, timeAgo, badge, kVerdictColors } from '../dom.js';

// A landmark that has not delivered a batch for this long is shown as stale.
const kLandmarkStaleS = 15 * 60;

function stat(label, value, verdict, href) {
  const body = [h('span.stat-value', fmtNumber(value)), h('span.stat-label', label)];
  return h('li.stat', { dataset: { stat: verdict } },
    verdict ? h('span.stat-bar', { style: { background: kVerdictColors[verdict] || '#334' }, 'aria-hidden': 'true' }) : null,
    href ? h('a', { href }, body) : body);
}

export async function renderOverview(main) {
  const [ov, names] = await Promise.all([api('/overview'), countryNames().catch(() => new Map())]);
  const d = ov.devices || {};
  const a = ov.alerts_open || {};
  add(main, 
    h('h1', 'Fleet overview'),
    h('ul.stats', { 'aria-label': 'GPUs by verdict' },
      stat('GPUs', d.total, null, '#/gpus'),
      stat('compliant', d.compliant, 'compliant', '#/gpus?verdict=compliant'),
      stat('unproven', d.unproven, 'unproven', '#/gpus?verdict=unproven'),
      stat('violation', d.violation, 'violation', '#/gpus?verdict=violation'),
      stat('no verdict yet', d.no_verdict, 'none')),
    h('ul.stats.stats-alerts', { 'aria-label': 'Open alerts by severity' },
      ['critical', 'warning', 'info'].map((s) => h('li.stat', { dataset: { severity: s } },
        h('span.stat-bar', { class: `sev-${s}`, 'aria-hidden': 'true' }),
        h('a', { href: `#/alerts?state=open&severity=${s}` },
          h('span.stat-value', fmtNumber(a[s] || 0)), h('span.stat-label', `open ${s} alerts`))))));

  const grid = h('div.grid2');
  const bySite = (ov.by_site || []).slice().sort((x, y) => total(y) - total(x));
  grid.append(section('By site', table([
    { label: 'Site', get: (r) => r.name },
    { label: 'GPUs', class: 'num', get: (r) => fmtNumber(total(r)) },
    { label: 'Verdicts', class: 'wide', get: (r) => verdictBar(r, r.name) },
    { label: 'Violations', class: 'num', get: (r) => fmtNumber(r.violation || 0) },
  ], bySite, { caption: 'GPUs by site', empty: 'No sites yet.' })));
  grid.append(section('By licence', table([
    { label: 'Licence', get: (r) => h('a', { href: `#/licences/${r.licence_id}` }, r.reference || `#${r.licence_id}`) },
    { label: 'GPUs', class: 'num', get: (r) => fmtNumber(total(r)) },
    { label: 'Verdicts', class: 'wide', get: (r) => verdictBar(r, r.reference) },
    { label: 'Violations', class: 'num', get: (r) => fmtNumber(r.violation || 0) },
  ], ov.by_licence || [], { caption: 'GPUs by licence', empty: 'No licences yet.' })));
  const byCountry = (ov.by_country || []).slice().sort((x, y) => y.count - x.count);
  grid.append(section('By country (of the GPU\'s site)', table([
    { label: 'Country', get: (r) => r.country ? `${names.get(r.country) || r.country} (${r.country})` : 'unknown' },
    { label: 'GPUs', class: 'num', get: (r) => fmtNumber(r.count) },
  ], byCountry, { caption: 'GPUs by country', empty: 'No positions yet.' })));
  const now = Date.now();
  grid.append(section('Landmarks', table([
    { label: 'Landmark', get: (r) => r.name },
    { label: 'Status', get: (r) => badge(r.status === 'active' ? 'compliant' : 'violation', r.status) },
    { label: 'Last batch', get: (r) => {
      if (!r.last_batch_at) return h('span.muted', 'none since the server started');
      const stale = (now - new Date(r.last_batch_at).getTime()) / 1000 > kLandmarkStaleS;
      return h('span', { class: stale ? 'stale' : '' }, timeAgo(r.last_batch_at), stale ? ' (stale)' : '');
    } },
  ], ov.landmarks || [], { caption: 'Landmarks and their health', empty: 'No landmarks registered.' })));
  add(main, grid);
}

function total(r) { return (r.compliant || 0) + (r.unproven || 0) + (r.violation || 0) + (r.no_verdict || 0); }
