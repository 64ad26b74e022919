// Map: every GPU in scope on the offline world map, coloured by verdict and clustered.
import { api, listAll } from '../api.js';
import { h, clear, fill, add, verdictOf, badge, fmtNumber, timeAgo } from '../dom.js';
import { MapView, legend } from '../mapview.js';

// A verdict carries an estimate only when its uncertainty is positive (the server writes
// zeros otherwise).
export function hasEstimate(e) {
  return !!e && Number.isFinite(e.latitude_deg) && Number.isFinite(e.longitude_deg) && e.uncertainty_km > 0;
}

// Where a GPU is drawn: its estimate when the server has one, else its site.
export function devicePosition(d, sitesById) {
  const e = d.verdict?.estimate;
  if (hasEstimate(e)) return [e.latitude_deg, e.longitude_deg];
  const s = sitesById.get(d.site_id);
  return s ? [s.latitude_deg, s.longitude_deg] : null;
}

export async function renderMap(main, ctx) {
  add(main, h('h1', 'Fleet map'));
  const status = h('p.muted', { role: 'status' }, 'Loading the fleet…');
  const layout = h('div.map-layout');
  const side = h('aside.map-side', { 'aria-label': 'Selection' });
  add(main, status, layout);
  const view = new MapView(layout, {
    label: 'World map of GPUs by verdict, sites (squares) and landmarks (triangles). Arrow keys pan, plus and minus zoom, 0 resets. The GPUs page lists the same GPUs as a table.',
    height: 'calc(100vh - 220px)',
    onSelectDevice: (id) => ctx.navigate(`gpu/${id}`),
    onSelectCluster: (ids) => showCluster(ids),
  });
  layout.append(side);
  window.__lightconeMap = view;  // read by the browser tests (cluster positions)

  let byId = new Map(), sitesById = new Map();
  let legendEl = null;
  async function load() {
    const [devices, sites, landmarks] = await Promise.all([
      listAll('/devices'), listAll('/sites'), listAll('/landmarks').catch(() => []),
    ]);
    if (ctx.isStale()) return;
    sitesById = new Map(sites.map((s) => [s.id, s]));
    byId = new Map(devices.map((d) => [d.id, d]));
    const counts = { compliant: 0, unproven: 0, violation: 0, none: 0 };
    let unplaced = 0;
    const points = [];
    for (const d of devices) {
      const v = verdictOf(d);
      counts[v] = (counts[v] || 0) + 1;
      const p = devicePosition(d, sitesById);
      if (!p) { unplaced++; continue; }
      points.push({ id: d.id, lat: p[0], lon: p[1], status: v, label: `${d.serial || d.uuid} · ${d.model || ''} · ${v}` });
    }
    view.setSites(sites);
    view.setLandmarks(landmarks);
    view.setDevices(points);
    fill(status, `${fmtNumber(devices.length)} GPUs in scope`,
      unplaced ? ` (${fmtNumber(unplaced)} without a site or estimate are not drawn)` : '',
      '. Click a GPU for its proof, a cluster to zoom in. Updated ', timeAgo(new Date().toISOString()), '.');
    status.dataset.total = String(devices.length);
    const next = legend(counts);
    if (legendEl) legendEl.replaceWith(next); else layout.prepend(next);
    legendEl = next;
  }
  await load();
  // Follows the fleet without moving the view.
  ctx.onRefresh(load);

  function showCluster(ids) {
    const list = ids.map((id) => byId.get(id)).filter(Boolean)
      .sort((a, b) => rank(verdictOf(b)) - rank(verdictOf(a)));
    fill(side, 
      h('h2', `${fmtNumber(list.length)} GPUs here`),
      h('ul.cluster-list', list.slice(0, 300).map((d) => h('li',
        h('a', { href: `#/gpu/${d.id}` }, d.serial || d.uuid), ' ', badge(verdictOf(d)),
        h('div.muted.small', `${d.model || ''}${sitesById.get(d.site_id) ? ' · ' + sitesById.get(d.site_id).name : ''}`)))),
      list.length > 300 ? h('p.muted', `Showing 300 of ${list.length}; the GPUs page lists all.`) : null);
  }
  fill(side, h('h2', 'Selection'), h('p.muted', 'Select a cluster to list its GPUs.'));
  return () => view.destroy();
}

function rank(v) { return { violation: 3, unproven: 2, none: 1, compliant: 0 }[v] ?? 0; }
