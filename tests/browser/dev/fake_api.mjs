// DEVELOPMENT ONLY: an in-memory imitation of /api/v1 (docs/api.md shapes) with a synthetic
// fleet, so the dashboard can be worked on before/without the real server. The committed
// browser tests never use it: they run against `lightcone server` (see ../run.mjs).
const kSites = [
  ['SIN-DC1', 1.33, 103.7, 'SG'], ['FRA-DC1', 50.11, 8.68, 'DE'], ['AMS-DC2', 52.37, 4.9, 'NL'],
  ['IAD-DC1', 38.95, -77.45, 'US'], ['SJC-DC3', 37.36, -121.93, 'US'], ['TYO-DC1', 35.68, 139.76, 'JP'],
  ['SYD-DC1', -33.87, 151.2, 'AU'], ['GRU-DC1', -23.55, -46.63, 'BR'], ['BOM-DC1', 19.07, 72.88, 'IN'],
  ['JNB-DC1', -26.2, 28.04, 'ZA'], ['DXB-DC1', 25.2, 55.27, 'AE'], ['KUL-DC1', 3.14, 101.69, 'MY'],
];
const kLandmarks = [
  ['sin-1', 1.29, 103.85, 'SG'], ['hkg-1', 22.3, 114.17, 'HK'], ['nrt-1', 35.55, 139.78, 'JP'],
  ['syd-1', -33.86, 151.21, 'AU'], ['fra-1', 50.03, 8.57, 'DE'], ['lhr-1', 51.47, -0.45, 'GB'],
  ['iad-1', 38.94, -77.46, 'US'], ['sfo-1', 37.62, -122.38, 'US'], ['bom-1', 19.09, 72.87, 'IN'],
  ['gru-1', -23.43, -46.47, 'BR'], ['jnb-1', -26.13, 28.24, 'ZA'], ['dxb-1', 25.25, 55.36, 'AE'],
];
const kModels = ['NVIDIA H100 80GB HBM3', 'NVIDIA H200', 'NVIDIA A100-SXM4-80GB'];

function rng(seed) { let s = seed >>> 0; return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32); }
function dist(a, b) {
  const r = Math.PI / 180;
  const d = Math.sin(a[0] * r) * Math.sin(b[0] * r) + Math.cos(a[0] * r) * Math.cos(b[0] * r) * Math.cos((a[1] - b[1]) * r);
  return 6371.0088 * Math.acos(Math.max(-1, Math.min(1, d)));
}

export function makeWorld(gpus = 10000) {
  const rand = rng(42);
  const now = Date.now();
  const iso = (msAgo) => new Date(now - msAgo).toISOString();
  const orgs = [{ id: 1, name: 'Acme Compute' }, { id: 2, name: 'Borealis AI' }];
  const sites = kSites.map(([name, lat, lon, country], i) => ({ id: i + 1, organization_id: i % 2 + 1, name, latitude_deg: lat, longitude_deg: lon, radius_km: 50, country }));
  const landmarks = kLandmarks.map(([name, lat, lon, country], i) => ({ id: i + 1, name, wire_id: '', latitude_deg: lat, longitude_deg: lon, country, public_key: '', status: i === 1 ? 'flagged' : 'active', status_reason: '', created_at: iso(864e5), last_batch_at: iso(i === 5 ? 3600e3 : 20e3) }));
  const licences = orgs.map((o) => ({
    id: o.id, organization_id: o.id, reference: `EL-2026-00${40 + o.id}`, holder: o.name + ' Pte Ltd', end_user: o.name + ' Research',
    allowed_sites: sites.filter((s) => s.organization_id === o.id).map(({ name, latitude_deg, longitude_deg, radius_km }) => ({ name, latitude_deg, longitude_deg, radius_km })),
    allowed_countries: o.id === 1 ? ['SG'] : [], prohibited_regions: ['CN', 'HK', 'MO'],
    model_caps: kModels.map((m, j) => ({ model: m, max_count: [2600, 1500, 900][j] })),
    valid_from: iso(200 * 864e5), valid_until: iso(-165 * 864e5), reporting_cadence_s: 86400,
  }));
  const hosts = [];
  const devices = [];
  for (let i = 0; i < gpus; i++) {
    const site = sites[Math.floor(rand() * sites.length)];
    if (i % 8 === 0) hosts.push({ id: hosts.length + 1, organization_id: site.organization_id, hostname: `gpu-node-${hosts.length + 1}`, site_id: site.id, probe_address: '', agent_version: '0.1.0', first_seen: iso(30 * 864e5), last_seen: iso(10e3) });
    const host = hosts[hosts.length - 1];
    const r = rand();
    const status = i % 997 === 5 ? null : r < 0.9 ? 'compliant' : r < 0.985 ? 'unproven' : 'violation';
    let lat = site.latitude_deg + (rand() - 0.5) * 0.4, lon = site.longitude_deg + (rand() - 0.5) * 0.4;
    if (status === 'violation') { lat = 31.2 + rand(); lon = 121.4 + rand(); }
    const uuid = `GPU-${(i + 1).toString(16).padStart(8, '0')}-1111-2222-3333-444455556666`;
    devices.push({
      id: i + 1, organization_id: host.organization_id, host_id: host.id, licence_id: i % 50 === 7 ? null : host.organization_id, site_id: host.site_id,
      uuid, serial: String(1652000000000 + i), ueid: (i * 7919).toString(16).padStart(16, '0'), model: kModels[i % 3], architecture: 'Hopper', vbios: '96.00.5E.00.01', pci_bus_id: `00000000:${(17 + i % 8).toString(16)}:00.0`,
      key: { public_key: 'ab'.repeat(32), key_id: (i + 1).toString(16).padStart(16, '0'), assurance: i % 3 ? 'L1' : 'L0', bound_at: iso(5 * 864e5) },
      first_seen: iso(30 * 864e5), last_seen: iso(10e3),
      telemetry: { time: iso(15e3), temperature_c: 55 + Math.round(rand() * 30), power_w: 300 + Math.round(rand() * 400), utilization_pct: Math.round(rand() * 100), ecc_uncorrected: i % 101 === 0 ? 2 : 0, xid_count: i % 53 === 0 ? 3 : 0, last_xid: i % 53 === 0 ? 79 : 0 },
      verdict: status && { id: i + 1, device_id: i + 1, time: iso(60e3), status, reason: status === 'compliant' ? 'sound region inside SIN-DC1 (50 km)' : status === 'violation' ? 'sound region lies entirely outside the licensed area (inside CN)' : 'region too large: 2 landmarks replied', robustness_f: 1, assurance: i % 3 ? 'L1' : 'L0', estimate: { latitude_deg: lat, longitude_deg: lon, uncertainty_km: 40 }, region: { empty: false, radius_km: 120, area_km2: 4.5e4, landmarks_used: 6 } },
    });
  }
  const types = ['went_dark', 'cohort_dark', 'verdict_violation', 'verdict_unproven', 'licence_overuse', 'topology_change'];
  const alerts = [];
  for (let i = 0; i < 60; i++) {
    const d = devices[(i * 131) % devices.length];
    const type = types[i % types.length];
    alerts.push({ id: i + 1, organization_id: d.organization_id, device_id: d.id, type, severity: type === 'verdict_violation' || type === 'cohort_dark' ? 'critical' : i % 3 ? 'warning' : 'info', subject: `${type.replace(/_/g, ' ')}: GPU ${d.serial} at ${sites[d.site_id - 1].name}`, evidence: { device_uuid: d.uuid, last_seen: d.last_seen, threshold_s: 3600, landmarks: ['sin-1', 'hkg-1'] }, state: i % 5 === 4 ? 'acknowledged' : 'open', acknowledged_by: i % 5 === 4 ? 'ops' : '', acknowledge_comment: i % 5 === 4 ? 'checked on site' : '', created_at: iso(i * 600e3), acknowledged_at: null });
  }
  const tokens = { 'admin-token': { name: 'admin', role: 'admin', organization_id: 0 }, 'auditor-token': { name: 'auditor', role: 'auditor', organization_id: 0 }, 'op1-token': { name: 'operator-acme', role: 'operator', organization_id: 1 }, 'op2-token': { name: 'operator-borealis', role: 'operator', organization_id: 2 } };
  return { orgs, sites, landmarks, licences, hosts, devices, alerts, tokens };
}

function page(items, url) {
  const limit = Math.min(10000, Number(url.searchParams.get('limit') || 100));
  const after = Number(url.searchParams.get('after_id') || 0);
  const rest = items.filter((x) => x.id > after);
  const out = rest.slice(0, limit);
  return { items: out, next_after_id: rest.length > limit ? out[out.length - 1].id : 0 };
}

export function handle(world, req, url, body) {
  const auth = (req.headers.authorization || '').replace(/^Bearer /, '');
  const me = world.tokens[auth];
  const p = url.pathname.replace(/^\/api\/v1/, '');
  if (p === '/health') return [200, { status: 'ok', schema_version: 2 }];
  if (!me) return [401, { error: { code: 'unauthenticated', message: 'missing or unknown token' } }];
  const scoped = (xs) => (me.role === 'operator' ? xs.filter((x) => x.organization_id === me.organization_id) : xs);
  const q = (k) => url.searchParams.get(k);
  let m;
  if (p === '/whoami') return [200, { name: me.name, role: me.role, organization_id: me.organization_id, landmark_id: 0 }];
  if (p === '/landmarks') return [200, page(world.landmarks, url)];
  if (p === '/sites') return [200, page(scoped(world.sites), url)];
  if (p === '/licences') return [200, page(scoped(world.licences), url)];
  if ((m = /^\/licences\/(\d+)\/history$/.exec(p))) {
    const l = scoped(world.licences).find((x) => x.id === Number(m[1]));
    if (!l) return [404, { error: { code: 'not_found', message: `licence ${m[1]} not found` } }];
    return licenceHistory(world, l, url);
  }
  if ((m = /^\/(sites|licences|hosts)\/(\d+)$/.exec(p))) {
    const o = scoped(world[m[1]]).find((x) => x.id === Number(m[2]));
    return o ? [200, o] : [404, { error: { code: 'not_found', message: `${m[1]} ${m[2]} not found` } }];
  }
  if (p === '/devices') {
    let ds = scoped(world.devices);
    if (q('verdict')) ds = ds.filter((d) => d.verdict?.status === q('verdict'));
    for (const k of ['site_id', 'licence_id', 'host_id']) if (q(k)) ds = ds.filter((d) => String(d[k]) === q(k));
    if (q('serial')) ds = ds.filter((d) => d.serial === q('serial'));
    return [200, page(ds, url)];
  }
  if ((m = /^\/devices\/(\d+)(\/\w+)?$/.exec(p))) {
    const d = scoped(world.devices).find((x) => x.id === Number(m[1]));
    if (!d) return [404, { error: { code: 'not_found', message: `device ${m[1]} not found` } }];
    const lms = world.landmarks.map((l) => ({ l, km: dist([l.latitude_deg, l.longitude_deg], [d.verdict?.estimate?.latitude_deg ?? 0, d.verdict?.estimate?.longitude_deg ?? 0]) })).sort((a, b) => a.km - b.km).slice(0, 6);
    const caps = lms.map(({ l, km }) => { const rtt = (km * 1.6 + 30) / 149.896 + 0.2; return { landmark_id: l.id, name: l.name, latitude_deg: l.latitude_deg, longitude_deg: l.longitude_deg, min_rtt_ms: rtt, radius_km: rtt * 149.896 }; });
    switch (m[2]) {
      case undefined: return [200, { ...d, topology: { nvlink_peers: [] } }];
      case '/region': {
        const e = d.verdict?.estimate || { latitude_deg: 0, longitude_deg: 0, uncertainty_km: 0 };
        const ring = []; for (let a = 0; a < 360; a += 20) ring.push([e.latitude_deg + 0.9 * Math.sin(a * Math.PI / 180), e.longitude_deg + 1.2 * Math.cos(a * Math.PI / 180)]);
        const lic = world.licences.find((l) => l.id === d.licence_id);
        return [200, { caps, region: { empty: false, boundary: [ring] }, estimate: e, licensed_area: { sites: lic?.allowed_sites || [], countries: lic?.allowed_countries || [] }, prohibited_regions: lic?.prohibited_regions || [] }];
      }
      case '/rtts': return [200, { items: caps.map((c) => ({ landmark_id: c.landmark_id, min_rtt_ms: c.min_rtt_ms, count: 120, last_time: new Date().toISOString() })) }];
      case '/measurements': {
        const items = []; let id = 1;
        for (const c of caps) for (let k = 0; k < 40; k++) items.push({ id: id++, device_id: d.id, landmark_id: c.landmark_id, time: new Date(Date.now() - k * 60e3).toISOString(), rtt_ns: Math.round((c.min_rtt_ms + Math.random() * 2) * 1e6) });
        return [200, page(items, url)];
      }
      case '/events': return [200, { items: [{ id: 1, type: 'host_changed', time: new Date(Date.now() - 3 * 864e5).toISOString(), details: { from_host: 'gpu-node-3', to_host: 'gpu-node-17' } }], next_after_id: 0 }];
      case '/topology': return [200, { items: [{ id: 1, time: d.first_seen, nvlink_peers: ['GPU-aaaa', 'GPU-bbbb'] }], next_after_id: 0 }];
      case '/verdicts': return [200, { items: [d.verdict].filter(Boolean), next_after_id: 0 }];
      case '/telemetry': return [200, telemetryHistory(d, url)];
      default: return [404, { error: { code: 'not_found', message: 'no such endpoint' } }];
    }
  }
  if (p === '/alerts') {
    let as = scoped(world.alerts);
    for (const k of ['state', 'type', 'severity']) if (q(k)) as = as.filter((a) => a[k] === q(k));
    if (q('device_id')) as = as.filter((a) => String(a.device_id) === q('device_id'));
    return [200, page(as, url)];
  }
  if ((m = /^\/alerts\/(\d+)$/.exec(p))) {
    const a = scoped(world.alerts).find((x) => x.id === Number(m[1]));
    return a ? [200, a] : [404, { error: { code: 'not_found', message: 'alert not found' } }];
  }
  if ((m = /^\/alerts\/(\d+)\/acknowledge$/.exec(p)) && req.method === 'POST') {
    if (me.role === 'auditor') return [403, { error: { code: 'permission_denied', message: 'auditors cannot acknowledge' } }];
    const a = scoped(world.alerts).find((x) => x.id === Number(m[1]));
    if (!a) return [404, { error: { code: 'not_found', message: 'alert not found' } }];
    Object.assign(a, { state: 'acknowledged', acknowledged_by: me.name, acknowledge_comment: JSON.parse(body || '{}').comment || '', acknowledged_at: new Date().toISOString() });
    return [200, a];
  }
  if (p === '/overview') {
    const ds = scoped(world.devices);
    const c = { total: ds.length, compliant: 0, violation: 0, unproven: 0, no_verdict: 0 };
    const bySite = new Map(), byLic = new Map(), byCountry = new Map();
    for (const d of ds) {
      const s = d.verdict?.status; if (s) c[s]++; else c.no_verdict++;
      const site = world.sites[d.site_id - 1];
      if (!bySite.has(site.id)) bySite.set(site.id, { site_id: site.id, name: site.name, compliant: 0, violation: 0, unproven: 0 });
      if (s) bySite.get(site.id)[s]++;
      if (d.licence_id) { const l = world.licences[d.licence_id - 1]; if (!byLic.has(l.id)) byLic.set(l.id, { licence_id: l.id, reference: l.reference, compliant: 0, violation: 0, unproven: 0 }); if (s) byLic.get(l.id)[s]++; }
      const country = s === 'violation' ? 'CN' : site.country; byCountry.set(country, (byCountry.get(country) || 0) + 1);
    }
    const open = { info: 0, warning: 0, critical: 0 };
    for (const a of scoped(world.alerts)) if (a.state === 'open') open[a.severity]++;
    return [200, { devices: c, by_site: [...bySite.values()], by_country: [...byCountry].map(([country, count]) => ({ country, count })), by_licence: [...byLic.values()], alerts_open: open, landmarks: world.landmarks.map(({ id, name, status, last_batch_at }) => ({ id, name, status, last_batch_at })) }];
  }
  if ((m = /^\/reports\/licences\/(\d+)$/.exec(p))) {
    const l = scoped(world.licences).find((x) => x.id === Number(m[1]));
    if (!l) return [404, { error: { code: 'not_found', message: 'licence not found' } }];
    const ds = world.devices.filter((d) => d.licence_id === l.id);
    const devices = ds.map((d) => ({ uuid: d.uuid, serial: d.serial, ueid: d.ueid, model: d.model, host: `gpu-node-${d.host_id}`, site: world.sites[d.site_id - 1].name, verdict: d.verdict?.status || '', verdict_time: d.verdict?.time || '', last_proof: d.verdict?.time || '', assurance: d.key.assurance, temperature_c: d.telemetry.temperature_c, xid_count: d.telemetry.xid_count, open_alerts: 0 }));
    const usage = l.model_caps.map((c) => ({ model: c.model, in_use: ds.filter((d) => d.model === c.model).length, max_count: c.max_count }));
    if (q('format') === 'csv') {
      const cols = Object.keys(devices[0] || { uuid: 1 });
      return [200, [cols.join(','), ...devices.map((d) => cols.map((k) => d[k]).join(','))].join('\n') + '\n', 'text/csv'];
    }
    return [200, { licence: l, generated_at: new Date().toISOString(), devices, usage }];
  }
  return [404, { error: { code: 'not_found', message: `no endpoint ${p}` } }];
}

// GET /devices/{id}/telemetry (docs/api.md "Health history"): a sample every 5 min over the
// last 30 days, with an XID every few days for GPUs that have XIDs; device 2 has none at all.
function telemetryHistory(d, url) {
  const until = url.searchParams.get('until') ? new Date(url.searchParams.get('until')).getTime() : Date.now();
  const since = url.searchParams.get('since') ? new Date(url.searchParams.get('since')).getTime() : until - 864e5;
  const limit = Math.min(10000, Number(url.searchParams.get('limit') || 2000));
  const step = 300e3;
  const items = [];
  if (d.id !== 2) {
    const rand = rng(d.id);
    let xid = 0, last = 0, ecc = 0;
    const now = Date.now();
    for (let t = Math.ceil((now - 30 * 864e5) / step) * step; t <= now; t += step) {
      if (d.telemetry.xid_count && rand() < 0.0008) { xid++; last = [79, 48, 94][xid % 3]; }
      if (d.telemetry.ecc_uncorrected && rand() < 0.0004) ecc++;
      if (t < since || t > until) continue;
      if (t % 86400e3 > 80000e3 && t % 86400e3 < 84000e3 && d.id % 2) continue;  // a daily gap
      const hr = (t / 3600e3) % 24;
      items.push({ time: new Date(t).toISOString(), temperature_c: Math.round(55 + 15 * Math.sin(hr / 24 * 2 * Math.PI) + rand() * 5), power_w: Math.round(350 + 200 * rand()), utilization_pct: Math.round(60 + 40 * rand()), ecc_uncorrected: ecc, xid_count: xid, last_xid: last });
    }
  }
  const out = items.slice(-limit);
  return { device_id: d.id, since: new Date(since).toISOString(), until: new Date(until).toISOString(), sample_interval_s: 300, truncated: out.length < items.length, items: out };
}

// GET /licences/{id}/history (docs/api.md "Compliance over time").
function licenceHistory(world, l, url) {
  const until = url.searchParams.get('until') ? new Date(url.searchParams.get('until')).getTime() : Date.now();
  const since = url.searchParams.get('since') ? new Date(url.searchParams.get('since')).getTime() : Math.max(new Date(l.valid_from).getTime(), until - 7 * 864e5);
  const bucket = Number(url.searchParams.get('bucket_s')) || Math.max(60, Math.floor((until - since) / 1000 / 100));
  const n = Math.floor((until - since) / 1000 / bucket);
  if (n > 1000) return [400, { error: { code: 'invalid_argument', message: `bucket_s: ${n} instants, at most 1000` } }];
  const ds = world.devices.filter((d) => d.licence_id === l.id && d.verdict);
  const items = [];
  for (let k = 1; k <= n; k++) {
    const t = since + k * bucket * 1000;
    const c = { time: new Date(t).toISOString(), compliant: 0, violation: 0, unproven: 0 };
    const phase = (t / 3600e3) % 48;
    for (const d of ds) {
      if (d.verdict.status === 'violation' && phase < 20) c.unproven++;
      else c[d.verdict.status]++;
    }
    items.push(c);
  }
  return [200, { licence_id: l.id, since: new Date(since).toISOString(), until: new Date(until).toISOString(), bucket_s: bucket, items }];
}
