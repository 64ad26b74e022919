// GPUs: the devices in scope as a filterable table (the map's accessible twin).
import { listPage, listAll } from '../api.js';
import { h, clear, fill, add, table, badge, verdictOf, timeAgo, fmtNumber } from '../dom.js';

const kPageSize = 200;

export async function renderGpus(main, ctx) {
  const p = ctx.params;
  const [sites, licences] = await Promise.all([listAll('/sites'), listAll('/licences')]);
  const siteName = new Map(sites.map((s) => [s.id, s.name]));
  const licRef = new Map(licences.map((l) => [l.id, l.reference]));
  const filters = {
    verdict: p.get('verdict') || '', site_id: p.get('site_id') || '', licence_id: p.get('licence_id') || '',
    serial: p.get('serial') || '', model: p.get('model') || '',
  };
  const sel = (name, label, options) => h('label', label, h('select', { name, onchange: apply },
    h('option', { value: '' }, 'any'),
    options.map(([v, t]) => h('option', { value: v, selected: String(filters[name]) === String(v) }, t))));
  const serial = h('input', { name: 'serial', value: filters.serial, type: 'search', placeholder: 'exact serial' });
  const form = h('form.filters', { onsubmit: (e) => { e.preventDefault(); apply(); } },
    sel('verdict', 'Verdict', [['compliant', 'compliant'], ['unproven', 'unproven'], ['violation', 'violation']]),
    sel('site_id', 'Site', sites.map((s) => [s.id, s.name])),
    sel('licence_id', 'Licence', licences.map((l) => [l.id, l.reference])),
    h('label', 'Serial', serial),
    h('button', { type: 'submit' }, 'Filter'));
  function apply() {
    const fd = new FormData(form);
    ctx.navigate('gpus', Object.fromEntries(fd.entries()));
  }
  const body = h('div');
  const more = h('button', { type: 'button', hidden: true }, 'Load more');
  add(main, h('h1', 'GPUs'), form, body, more);
  const rows = [];
  let after = 0;
  async function load() {
    const q = { ...filters, limit: kPageSize, after_id: after || undefined };
    const page = await listPage('/devices', q);
    rows.push(...page.items);
    after = page.next_after_id || 0;
    fill(body, h('p.muted', `${fmtNumber(rows.length)} GPUs shown${after ? ' (more available)' : ''}.`), table([
      { label: 'Serial', get: (d) => h('a', { href: `#/gpu/${d.id}` }, d.serial || '—') },
      { label: 'UUID', class: 'mono small', get: (d) => d.uuid },
      { label: 'Model', get: (d) => d.model },
      { label: 'Site', get: (d) => siteName.get(d.site_id) || '—' },
      { label: 'Licence', get: (d) => d.licence_id ? licRef.get(d.licence_id) || `#${d.licence_id}` : h('span.warn', 'none') },
      { label: 'Assurance', get: (d) => d.key?.assurance || d.verdict?.assurance || '—' },
      { label: 'Verdict', get: (d) => badge(verdictOf(d)) },
      { label: 'Last seen', get: (d) => timeAgo(d.last_seen) },
    ], rows, { caption: 'GPUs', empty: 'No GPUs match.' }));
    more.hidden = !after;
  }
  more.addEventListener('click', () => load().catch((e) => body.append(h('p.error', e.message))));
  await load();
}
