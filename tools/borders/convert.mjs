// Converts Natural Earth admin-0 countries (npm package world-atlas, TopoJSON) into the
// compact binary file the C++ engine loads: data/countries/countries-<scale>.bin.
//
//   cd tools/borders && npm ci && node convert.mjs [--scale 50m|10m|110m] [--out FILE]
//
// The binary format is documented in data/countries/README.md. In short (little endian):
//   header: magic "LCBORDER" (8 bytes), u32 version (1), u32 country_count,
//           u32 total_vertex_count, u16 source_len, source (UTF-8)
//   per country: 2 bytes ISO 3166-1 alpha-2, u16 ISO numeric (0 = none), u16 name_len,
//           name (UTF-8), u32 loop_count, then per loop: u32 vertex_count and
//           vertex_count x (i32 lat_e6, i32 lon_e6) (micro-degrees).
// Loops are in S2 orientation (interior on the left: shells counter-clockwise, holes
// clockwise), not closed (the last vertex is not repeated), and loops of one country may
// share edges (polygons cut at the antimeridian, merged features); the loader assembles
// them with S2Builder, which cancels shared edges.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import * as topojson from 'topojson-client';
import countries from 'i18n-iso-countries';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));

// Features that Natural Earth ships without an ISO 3166-1 numeric id (world-atlas leaves
// their id undefined). Each is assigned to the ISO 3166-1 entry that covers it, given the
// user-assigned code XK (Kosovo, as used by the EU, RIPE and most geolocation databases),
// split (Indian Ocean Ter.), or dropped (disputed reefs that ISO 3166-1 assigns to no one).
// See data/countries/README.md for the reasoning.
const kFeaturesWithoutId = {
  'Kosovo': 'XK',
  'Somaliland': 'SO',            // ISO 3166-1: part of Somalia.
  'N. Cyprus': 'CY',             // ISO 3166-1: part of Cyprus.
  'Cyprus U.N. Buffer Zone': 'CY',
  'Dhekelia': 'CY',              // UK Sovereign Base Areas: no ISO code; on Cyprus.
  'Akrotiri': 'CY',
  'Siachen Glacier': 'IN',       // Disputed IN/PK, administered by India.
  'Baikonur': 'KZ',              // Leased to Russia, territory of Kazakhstan.
  'USNB Guantanamo Bay': 'CU',   // Leased to the USA, territory of Cuba.
  'Coral Sea Is.': 'AU',
  'Clipperton I.': 'FR',         // No ISO 3166-1 alpha-2 (CP is only reserved).
  'Bajo Nuevo Bank': 'CO',       // Disputed, administered by Colombia.
  'Serranilla Bank': 'CO',
  'Indian Ocean Ter.': 'SPLIT',  // Christmas Island (CX) and Cocos (Keeling) Islands (CC).
  'Spratly Is.': null,           // Disputed, no ISO 3166-1 code: dropped.
  'Scarborough Reef': null,
};

// Natural Earth's admin-0 countries merge some territories that ISO 3166-1 gives their own
// alpha-2 code into the sovereign country. Each polygon of `from` whose shell's bounding-box
// centre lies in the box [lon_min, lon_max] x [lat_min, lat_max] goes to `to` instead.
const kSplits = [
  { from: 'FR', to: 'GF', box: [-55.0, -51.0, 1.5, 6.5] },     // French Guiana
  { from: 'FR', to: 'GP', box: [-62.0, -60.9, 15.7, 16.6] },   // Guadeloupe
  { from: 'FR', to: 'MQ', box: [-61.4, -60.7, 14.3, 15.0] },   // Martinique
  { from: 'FR', to: 'RE', box: [55.0, 56.0, -21.6, -20.7] },   // Réunion
  { from: 'FR', to: 'YT', box: [44.9, 45.4, -13.2, -12.5] },   // Mayotte
  { from: 'NL', to: 'BQ', box: [-69.0, -62.0, 11.5, 18.0] },   // Caribbean Netherlands
  { from: 'NO', to: 'SJ', box: [-10.0, 35.0, 70.6, 81.0] },    // Svalbard and Jan Mayen
  { from: 'SPLIT', to: 'CX', box: [105.0, 106.5, -11.0, -10.0] },
  { from: 'SPLIT', to: 'CC', box: [96.0, 97.5, -12.6, -11.6] },
];
// Norway's mainland reaches 71.2N at 25-28E; Svalbard starts at 74N, Jan Mayen lies at 8W.
// The SJ box therefore also needs the shell to lie entirely north of 74N or west of 0E.
function inSplitBox(split, bbox) {
  const [lonMin, lonMax, latMin, latMax] = split.box;
  const cx = (bbox.lonMin + bbox.lonMax) / 2;
  const cy = (bbox.latMin + bbox.latMax) / 2;
  if (!(cx >= lonMin && cx <= lonMax && cy >= latMin && cy <= latMax)) return false;
  if (split.to === 'SJ') return bbox.latMin > 74.0 || bbox.lonMax < 0.0;
  return true;
}

const kMagic = 'LCBORDER';
const kPolarLatDeg = 89.99;
const kVersion = 1;

function parseArgs(argv) {
  const args = { scale: '50m', out: null };
  for (let i = 0; i < argv.length; ++i) {
    if (argv[i] === '--scale') args.scale = argv[++i];
    else if (argv[i] === '--out') args.out = argv[++i];
    else throw new Error(`unknown argument ${argv[i]} (usage: node convert.mjs [--scale 50m] [--out FILE])`);
  }
  if (!['10m', '50m', '110m'].includes(args.scale)) throw new Error(`bad --scale ${args.scale}`);
  if (!args.out) args.out = path.join(here, '..', '..', 'data', 'countries', `countries-${args.scale}.bin`);
  return args;
}

// Longitudes unwrapped so that no step exceeds 180 degrees (rings stitched across the
// antimeridian jump from +179.x to -179.x). Returns the unwrapped copy and the net winding
// in degrees (0 for an ordinary ring, +-360 for a ring that encircles a pole).
function unwrap(ring) {
  const out = [[ring[0][0], ring[0][1]]];
  let offset = 0;
  for (let i = 1; i < ring.length; ++i) {
    const d = ring[i][0] - ring[i - 1][0];
    if (d > 180) offset -= 360;
    else if (d < -180) offset += 360;
    out.push([ring[i][0] + offset, ring[i][1]]);
  }
  // Closing step (from the last vertex back to the first).
  const d = ring[0][0] - ring[ring.length - 1][0];
  let closeOffset = offset;
  if (d > 180) closeOffset -= 360;
  else if (d < -180) closeOffset += 360;
  // The unwrapped ring moves closeOffset degrees east in total.
  return { ring: out, winding: closeOffset };
}

function planarSignedArea(ring) {
  let a = 0;
  for (let i = 0, n = ring.length; i < n; ++i) {
    const [x0, y0] = ring[i];
    const [x1, y1] = ring[(i + 1) % n];
    a += x0 * y1 - x1 * y0;
  }
  return a / 2;
}

// Returns the ring (without the closing vertex, without consecutive duplicates) oriented so
// that its intended interior is on the left on the sphere.
function orientForS2(ring, isShell) {
  let r = ring.slice();
  if (r.length > 1 && r[0][0] === r[r.length - 1][0] && r[0][1] === r[r.length - 1][1]) r.pop();
  r = r.filter((p, i) => i === 0 || p[0] !== r[i - 1][0] || p[1] !== r[i - 1][1]);
  if (r.length < 3) return null;
  // d3/world-atlas at 1:50m gives Antarctica as a "shell" that is a tiny ring along -89.999
  // (a 110 m circle around the pole) with the coast as its "hole". Such a polar ring is
  // dropped; the coast, which encircles the pole, is then taken as a shell below.
  if (r.every(([, lat]) => Math.abs(lat) >= kPolarLatDeg)) return null;
  const { ring: u, winding } = unwrap(r);
  if (winding !== 0) {
    // Encircles a pole (Antarctica): whatever its role in the source, the interior is the
    // smaller side, the side of the pole of the hemisphere the ring lies in. Going east
    // (winding +360) puts the north pole on the left.
    const meanLat = u.reduce((s, p) => s + p[1], 0) / u.length;
    const wantNorthOnLeft = meanLat > 0;
    if ((winding > 0) !== wantNorthOnLeft) r.reverse();
    return r;
  }
  if ((planarSignedArea(u) > 0) !== isShell) r.reverse();
  return r;
}

function bboxOf(ring) {
  const { ring: u } = unwrap(ring);
  const b = { lonMin: Infinity, lonMax: -Infinity, latMin: Infinity, latMax: -Infinity };
  for (const [x, y] of u) {
    b.lonMin = Math.min(b.lonMin, x); b.lonMax = Math.max(b.lonMax, x);
    b.latMin = Math.min(b.latMin, y); b.latMax = Math.max(b.latMax, y);
  }
  return b;
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const atlasPkg = require('world-atlas/package.json');
  const topology = JSON.parse(fs.readFileSync(require.resolve(`world-atlas/countries-${args.scale}.json`), 'utf8'));
  const collection = topojson.feature(topology, topology.objects.countries);

  const regions = new Map();  // alpha2 -> { alpha2, numeric, name, polygons: [[ring...]] }
  const notes = [];
  function region(alpha2) {
    if (!regions.has(alpha2)) {
      // ISO 3166-1 assigns Kosovo no numeric code (i18n-iso-countries reports the informal 983).
      const numeric = alpha2 === 'XK' ? null : countries.alpha2ToNumeric(alpha2);
      const name = countries.getName(alpha2, 'en') ?? (alpha2 === 'XK' ? 'Kosovo' : null);
      if (!name) throw new Error(`no English name for ${alpha2}`);
      regions.set(alpha2, { alpha2, numeric: numeric ? Number(numeric) : 0, name, polygons: [] });
    }
    return regions.get(alpha2);
  }

  for (const f of collection.features) {
    const featureName = f.properties.name;
    let alpha2;
    if (f.id === undefined || !/^\d{3}$/.test(f.id)) {
      if (!(featureName in kFeaturesWithoutId)) throw new Error(`feature "${featureName}" has no ISO id and no rule`);
      alpha2 = kFeaturesWithoutId[featureName];
      notes.push(`${featureName} -> ${alpha2 ?? 'dropped'}`);
      if (alpha2 === null) continue;
    } else {
      alpha2 = countries.numericToAlpha2(f.id);
      if (!alpha2) throw new Error(`feature "${featureName}" has numeric id ${f.id} unknown to i18n-iso-countries`);
    }
    if (!f.geometry) continue;
    const polys = f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates;
    for (const poly of polys) {
      let target = alpha2;
      const bbox = bboxOf(poly[0]);
      for (const s of kSplits) {
        if (s.from === alpha2 && inSplitBox(s, bbox)) { target = s.to; break; }
      }
      if (target === 'SPLIT') throw new Error(`polygon of "${featureName}" matches no split box`);
      const rings = [];
      poly.forEach((ring, i) => {
        const r = orientForS2(ring, i === 0);
        if (r) rings.push(r);
      });
      if (rings.length > 0) region(target).polygons.push(rings);
    }
  }

  // Serialize.
  const sorted = [...regions.values()].sort((a, b) => a.alpha2.localeCompare(b.alpha2));
  const source = Buffer.from(`world-atlas ${atlasPkg.version} countries-${args.scale}.json (Natural Earth admin-0)`, 'utf8');
  const chunks = [];
  let totalVertices = 0;
  for (const c of sorted) {
    const name = Buffer.from(c.name, 'utf8');
    const loops = c.polygons.flat();
    const head = Buffer.alloc(2 + 2 + 2 + name.length + 4);
    head.write(c.alpha2, 0, 'latin1');
    head.writeUInt16LE(c.numeric, 2);
    head.writeUInt16LE(name.length, 4);
    name.copy(head, 6);
    head.writeUInt32LE(loops.length, 6 + name.length);
    chunks.push(head);
    for (const loop of loops) {
      const b = Buffer.alloc(4 + loop.length * 8);
      b.writeUInt32LE(loop.length, 0);
      loop.forEach(([lon, lat], i) => {
        b.writeInt32LE(Math.round(lat * 1e6), 4 + i * 8);
        b.writeInt32LE(Math.round(lon * 1e6), 8 + i * 8);
      });
      totalVertices += loop.length;
      chunks.push(b);
    }
  }
  const header = Buffer.alloc(8 + 4 + 4 + 4 + 2);
  header.write(kMagic, 0, 'latin1');
  header.writeUInt32LE(kVersion, 8);
  header.writeUInt32LE(sorted.length, 12);
  header.writeUInt32LE(totalVertices, 16);
  header.writeUInt16LE(source.length, 20);
  const out = Buffer.concat([header, source, ...chunks]);
  fs.mkdirSync(path.dirname(args.out), { recursive: true });
  fs.writeFileSync(args.out, out);
  console.log(`wrote ${args.out}: ${sorted.length} regions, ${totalVertices} vertices, ${out.length} bytes`);
  console.log(`features without ISO id: ${notes.join('; ')}`);
}

main();
