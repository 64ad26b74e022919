// Fallback seeding through the API, used by run.mjs only when the `lightcone` binary has no
// `demo seed` command: the admin token from the server's first start creates two
// organizations with operator tokens, an auditor, landmarks at real cities, sites, licences,
// and each organization's agent enrolls hosts of GPUs with telemetry (no key binding: the
// key id is a BLAKE2b-256 digest node's crypto cannot compute).
// No measurements are made, so verdicts and alerts are whatever the server's fleet loop
// derives from silence (tests that need more report "skip").
import crypto from 'node:crypto';

const kLandmarks = [
  ['sin-1', 1.29, 103.85, 'SG'], ['hkg-1', 22.3, 114.17, 'HK'], ['nrt-1', 35.55, 139.78, 'JP'],
  ['syd-1', -33.86, 151.21, 'AU'], ['fra-1', 50.03, 8.57, 'DE'], ['lhr-1', 51.47, -0.45, 'GB'],
  ['iad-1', 38.94, -77.46, 'US'], ['sfo-1', 37.62, -122.38, 'US'],
];
const kOrganizations = [
  { name: 'Acme Compute', sites: [['SIN-DC1', 1.33, 103.7, 'SG'], ['FRA-DC1', 50.11, 8.68, 'DE']], countries: ['SG'] },
  { name: 'Borealis AI', sites: [['IAD-DC1', 38.95, -77.45, 'US'], ['TYO-DC1', 35.68, 139.76, 'JP']], countries: [] },
];
const kModel = 'NVIDIA H100 80GB HBM3';
const kGpusPerHost = 8;

function ed25519PublicHex() {
  const { publicKey } = crypto.generateKeyPairSync('ed25519');
  return Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url').toString('hex');
}

function uuidFor(n) {
  const h = crypto.createHash('sha256').update(`lightcone-browser-${n}`).digest('hex');
  return `GPU-${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export async function seedThroughApi(baseUrl, adminToken, gpus) {
  const call = async (token, method, p, body) => {
    const res = await fetch(`${baseUrl}/api/v1${p}`, {
      method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${p}: HTTP ${res.status} ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : null;
  };
  const tokens = [{ name: 'admin', role: 'admin', token: adminToken }];
  const auditor = await call(adminToken, 'POST', '/tokens', { name: 'browser-auditor', role: 'auditor' });
  tokens.push({ name: 'auditor', role: 'auditor', token: auditor.token });
  for (const [name, lat, lon, country] of kLandmarks) {
    await call(adminToken, 'POST', '/landmarks', { name, latitude_deg: lat, longitude_deg: lon, country, public_key: ed25519PublicHex() });
  }
  const now = Date.now();
  let serial = 1652000000000, n = 0;
  const perOrg = Math.ceil(gpus / kOrganizations.length);
  for (const spec of kOrganizations) {
    const org = await call(adminToken, 'POST', '/organizations', { name: spec.name });
    const op = await call(adminToken, 'POST', '/tokens', { name: `browser-operator-${org.id}`, role: 'operator', organization_id: org.id });
    tokens.push({ name: `operator_${org.id}`, role: 'operator', organization_id: org.id, token: op.token });
    const agent = await call(adminToken, 'POST', '/tokens', { name: `browser-agent-${org.id}`, role: 'agent', organization_id: org.id });
    tokens.push({ name: `agent_${org.id}`, role: 'agent', organization_id: org.id, token: agent.token });
    const sites = [];
    for (const [name, lat, lon, country] of spec.sites) {
      sites.push(await call(op.token, 'POST', '/sites', { organization_id: org.id, name, latitude_deg: lat, longitude_deg: lon, radius_km: 50, country }));
    }
    const licence = await call(op.token, 'POST', '/licences', {
      organization_id: org.id, reference: `EL-2026-${String(org.id).padStart(4, '0')}`, holder: `${spec.name} Pte Ltd`, end_user: `${spec.name} Research`,
      allowed_sites: sites.map(({ name, latitude_deg, longitude_deg, radius_km }) => ({ name, latitude_deg, longitude_deg, radius_km })),
      allowed_countries: spec.countries, prohibited_regions: ['CN', 'HK', 'MO'],
      model_caps: [{ model: kModel, max_count: Math.floor(perOrg * 0.9) }],
      valid_from: new Date(now - 100 * 864e5).toISOString(), valid_until: new Date(now + 265 * 864e5).toISOString(), reporting_cadence_s: 86400,
    });
    for (let host = 0; host * kGpusPerHost < perOrg; host++) {
      const site = sites[host % sites.length];
      const devices = [];
      for (let g = 0; g < kGpusPerHost && host * kGpusPerHost + g < perOrg; g++) {
        devices.push({ uuid: uuidFor(n++), serial: String(serial++), model: kModel, architecture: 'Hopper', vbios: '96.00.5E.00.01', pci_bus_id: `00000000:${(0x17 + g).toString(16)}:00.0`, ueid: '', nvlink_peers: [] });
      }
      const enrolled = await call(agent.token, 'POST', '/enroll', { hostname: `${site.name.toLowerCase()}-node-${host}`, probe_address: '', agent_version: '0.1.0', site: site.name, devices });
      for (const d of enrolled.devices) {
        await call(op.token, 'PATCH', `/devices/${d.id}`, { licence_id: licence.id });
      }
      await call(agent.token, 'POST', '/telemetry', { devices: devices.map((d, i) => ({ uuid: d.uuid, time: new Date().toISOString(), temperature_c: 60 + i, power_w: 400 + 10 * i, utilization_pct: 90, ecc_uncorrected: 0, xid_count: 0, last_xid: 0 })) });
    }
  }
  return tokens;
}
