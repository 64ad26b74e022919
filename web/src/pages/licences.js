// Licences: GPUs in use against each model's cap, compliance of the licence's GPUs, report
// download (JSON, CSV) through the API with the signed-in token.
import { api, listAll } from '../api.js';
import { h, clear, fill, add, section, kv, table, badge, fmtNumber, fmtTime, verdictBar, downloadBlob, errorBox } from '../dom.js';

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

export async function renderLicence(main, ctx, idText) {
  const id = Number(idText);
  const [l, rep] = await Promise.all([api(`/licences/${id}`), report(id).catch((err) => ({ error: err }))]);
  const status = h('div.small', { role: 'status', 'aria-live': 'polite' });
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
      section('Usage against caps', usageTable(rep))));
  if (!rep?.error) {
    const devs = rep.devices || [];
    add(main, section(`GPUs under this licence (${fmtNumber(devs.length)})`, table([
      { label: 'Serial', get: (d) => d.serial },
      { label: 'UUID', class: 'mono small', get: (d) => d.uuid },
      { label: 'Model', get: (d) => d.model },
      { label: 'Host', get: (d) => d.host },
      { label: 'Site', get: (d) => d.site },
      { label: 'Verdict', get: (d) => badge(d.verdict || 'none') },
      { label: 'Last proof', get: (d) => fmtTime(d.last_proof) },
      { label: 'Assurance', get: (d) => d.assurance },
      { label: 'Open alerts', class: 'num', get: (d) => fmtNumber(d.open_alerts) },
    ], devs.slice(0, 2000), { caption: 'GPUs under this licence', empty: 'No GPUs under this licence.' }),
    devs.length > 2000 ? h('p.muted', 'Showing 2,000; the report download has all.') : null));
  }
}
