// Small DOM and formatting helpers shared by the pages (no framework).

// h('div.card#main', {onclick, 'aria-label': ...}, child, [children], 'text')
export function h(tag, attrs, ...children) {
  const m = /^([a-z0-9-]+)((?:[.#][\w-]+)*)$/i.exec(tag);
  const el = document.createElement(m ? m[1] : tag);
  if (m && m[2]) {
    for (const part of m[2].match(/[.#][\w-]+/g)) {
      if (part[0] === '.') el.classList.add(part.slice(1)); else el.id = part.slice(1);
    }
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.classList.add(...String(v).split(/\s+/).filter(Boolean));
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }

// Replaces el's children (null/false children are skipped, arrays flattened).
export function fill(el, ...children) { clear(el); append(el, children); return el; }

// Appends children like h() does (null/false skipped).
export function add(el, ...children) { append(el, children); return el; }

export const kVerdicts = ['compliant', 'unproven', 'violation'];
export const kVerdictColors = {
  compliant: '#1a7f5a', unproven: '#b7791f', violation: '#c0262d', none: '#7a8494',
};
export const kSeverityOrder = ['critical', 'warning', 'info'];

export function verdictOf(device) {
  return device?.verdict?.status || 'none';
}

export function badge(status, text) {
  return h(`span.badge.badge-${status || 'none'}`, text ?? (status === 'none' ? 'no verdict' : status));
}

export function fmtNumber(n) {
  return n === undefined || n === null || Number.isNaN(n) ? '—' : Number(n).toLocaleString('en-US');
}

export function fmtFixed(n, digits = 1) {
  return n === undefined || n === null || Number.isNaN(Number(n)) ? '—' : Number(n).toFixed(digits);
}

export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z').replace(/:\d\dZ$/, (s) => s);
}

export function fmtAgo(iso) {
  if (!iso) return '—';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return String(iso);
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 0) return 'just now';
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

// A <time> showing "3 min ago" with the exact UTC time as its title.
export function timeAgo(iso) {
  return h('time', { datetime: iso || '', title: fmtTime(iso) }, fmtAgo(iso));
}

export function kv(pairs) {
  return h('dl.kv', pairs.filter(Boolean).map(([k, v]) => [h('dt', k), h('dd', v ?? '—')]));
}

export function section(title, ...children) {
  const id = 'sec-' + title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return h('section.card', { 'aria-labelledby': id }, h('h2', { id }, title), ...children);
}

export function table(columns, rows, opts = {}) {
  // columns: [{label, get(row) -> Node|string, class}]
  return h('div.table-wrap',
    h('table', { class: opts.class || '' },
      opts.caption ? h('caption.sr-only', opts.caption) : null,
      h('thead', h('tr', columns.map((c) => h('th', { scope: 'col', class: c.class || '' }, c.label)))),
      h('tbody', rows.length ? rows.map((r) => {
        const tr = h('tr', columns.map((c) => h('td', { class: c.class || '' }, c.get(r))));
        if (opts.rowAttrs) for (const [k, v] of Object.entries(opts.rowAttrs(r))) tr.setAttribute(k, v);
        return tr;
      }) : h('tr', h('td.empty', { colSpan: columns.length }, opts.empty || 'Nothing to show.')))));
}

// A horizontal bar split by verdict: {compliant, unproven, violation, no_verdict}.
export function verdictBar(counts, label) {
  const parts = [...kVerdicts, 'none'].map((v) => [v, (v === 'none' ? counts.no_verdict ?? counts.none : counts[v]) || 0]);
  const total = parts.reduce((s, [, n]) => s + n, 0);
  const desc = parts.filter(([v, n]) => v !== 'none' || n).map(([v, n]) => `${n} ${v === 'none' ? 'no verdict' : v}`).join(', ');
  return h('div.vbar', { role: 'img', 'aria-label': `${label ? label + ': ' : ''}${desc}` },
    total === 0 ? h('span.vbar-empty') : parts.filter(([, n]) => n).map(([v, n]) =>
      h(`span.vbar-seg.seg-${v}`, { style: { flexGrow: String(n) }, title: `${n} ${v === 'none' ? 'no verdict' : v}` })));
}

export function errorBox(err) {
  return h('div.error', { role: 'alert' }, h('strong', 'Error: '), err?.message || String(err));
}

export function downloadBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
