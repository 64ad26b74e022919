// Alerts: filterable list with the evidence; acknowledge with a comment.
import { api, listPage } from '../api.js';
import { h, clear, fill, add, table, timeAgo, fmtTime, fmtNumber, errorBox } from '../dom.js';

const kTypes = ['went_dark', 'cohort_dark', 'identity_reappearance', 'topology_change', 'impossible_travel',
  'licence_overuse', 'unlicensed_gpu', 'shipment_unproven', 'billed_country_mismatch', 'verdict_violation',
  'verdict_unproven', 'landmark_inconsistent'];
const kPageSize = 100;

function canAcknowledge(me) { return me.role === 'admin' || me.role === 'operator'; }

export async function renderAlerts(main, ctx) {
  const p = ctx.params;
  const filters = { state: p.get('state') ?? 'open', type: p.get('type') || '', severity: p.get('severity') || '', device_id: p.get('device_id') || '' };
  const sel = (name, label, options) => h('label', label, h('select', { name, onchange: apply },
    h('option', { value: '' }, 'any'),
    options.map((o) => h('option', { value: o, selected: filters[name] === o }, o.replace(/_/g, ' ')))));
  const form = h('form.filters', { onsubmit: (e) => { e.preventDefault(); apply(); } },
    sel('state', 'State', ['open', 'acknowledged', 'resolved']),
    sel('severity', 'Severity', ['critical', 'warning', 'info']),
    sel('type', 'Type', kTypes),
    filters.device_id ? h('label', 'GPU id', h('input', { name: 'device_id', value: filters.device_id, size: 6 })) : null);
  function apply() {
    const fd = new FormData(form);
    const q = Object.fromEntries(fd.entries());
    if (q.state === '') q.state = 'any';
    ctx.navigate('alerts', q);
  }
  const stateParam = filters.state === 'any' ? '' : filters.state;
  const list = h('div.alert-list');
  const more = h('button', { type: 'button', hidden: true }, 'Load more');
  const count = h('p.muted', { role: 'status' });
  add(main, h('h1', 'Alerts'), form, count, list, more);
  const alerts = [];
  let after = 0;
  async function load() {
    const page = await listPage('/alerts', { state: stateParam, type: filters.type, severity: filters.severity, device_id: filters.device_id, limit: kPageSize, after_id: after || undefined });
    alerts.push(...page.items);
    after = page.next_after_id || 0;
    for (const a of page.items) list.append(alertCard(a, ctx.me, p.get('id') === String(a.id)));
    fill(count, `${fmtNumber(alerts.length)} alerts${after ? ' shown (more available)' : ''}.`);
    if (!alerts.length) list.append(h('p.muted', 'No alerts match these filters.'));
    more.hidden = !after;
  }
  more.addEventListener('click', () => load().catch((e) => list.append(errorBox(e))));
  await load();
}

function alertCard(a, me, open) {
  const card = h('article.card.alert', { class: `alert-${a.severity}`, dataset: { alertId: String(a.id), state: a.state }, 'aria-labelledby': `alert-${a.id}` });
  render();
  return card;

  function render() {
    fill(card, 
      h('header.alert-head',
        h(`span.sev.sev-${a.severity}`, a.severity),
        h('h2', { id: `alert-${a.id}` }, a.subject || a.type),
        h('span.alert-state', { class: `state-${a.state}` }, a.state)),
      h('p.small.muted', `${a.type.replace(/_/g, ' ')} · raised `, timeAgo(a.created_at),
        a.device_id ? [' · ', h('a', { href: `#/gpu/${a.device_id}` }, `GPU #${a.device_id}`)] : null),
      a.state !== 'open' && a.acknowledged_by ? h('p.ack-note', `Acknowledged by ${a.acknowledged_by} ${a.acknowledged_at ? 'at ' + fmtTime(a.acknowledged_at) : ''}: `, h('q.ack-comment', a.acknowledge_comment || '')) : null,
      h('details', { open },
        h('summary', 'Evidence'),
        evidenceView(a.evidence)),
      a.state === 'open' && canAcknowledge(me) ? h('details.ack', h('summary', 'Acknowledge…'), ackForm()) : null);
  }

  function ackForm() {
    const id = `ack-${a.id}`;
    const ta = h('textarea', { id, name: 'comment', rows: 2, required: true, placeholder: 'What was checked and what happens next' });
    const status = h('span.small', { role: 'status', 'aria-live': 'polite' });
    return h('form.ack-form', {
      onsubmit: async (e) => {
        e.preventDefault();
        const comment = ta.value.trim();
        if (!comment) { fill(status, 'A comment is required.'); ta.focus(); return; }
        fill(status, 'Acknowledging…');
        try {
          const updated = await api(`/alerts/${a.id}/acknowledge`, { method: 'POST', body: { comment } });
          Object.assign(a, updated || { state: 'acknowledged', acknowledge_comment: comment });
          render();
          card.dataset.state = a.state;
        } catch (err) {
          fill(status, errorBox(err));
        }
      },
    }, h('label', { for: id }, 'Acknowledge with a comment'), ta, h('button.primary', { type: 'submit' }, 'Acknowledge'), status);
  }
}

// Evidence: scalar fields as a definition list, nested values as indented JSON.
function evidenceView(ev) {
  if (!ev || typeof ev !== 'object' || !Object.keys(ev).length) return h('p.muted', 'No evidence recorded.');
  const scalars = Object.entries(ev).filter(([, v]) => v === null || typeof v !== 'object');
  const nested = Object.entries(ev).filter(([, v]) => v !== null && typeof v === 'object');
  return h('div.evidence',
    scalars.length ? h('dl.kv', scalars.map(([k, v]) => [h('dt', k.replace(/_/g, ' ')), h('dd', String(v))])) : null,
    nested.map(([k, v]) => h('div', h('h3.small', k.replace(/_/g, ' ')), h('pre', JSON.stringify(v, null, 2)))));
}

export { table };
