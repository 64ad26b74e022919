// The offline world atlas: Natural Earth countries (world-atlas TopoJSON, served as static
// assets next to the page) with ISO 3166-1 alpha-2 codes for each feature.
//
// Two scales: 1:110m (10k vertices) draws the world view quickly; 1:50m (98k vertices, the
// scale the server's verdicts use, with Hong Kong, Macao and Singapore) draws zoomed-in
// views and every highlighted country (licensed, prohibited).
import { feature, mesh } from 'topojson-client';

const promises = new Map();

function loadTable() {
  if (!promises.has('table')) promises.set('table', fetch('atlas/countries.json').then((r) => r.json()));
  return promises.get('table');
}

// scale: '50m' or '110m'.
export function loadAtlas(scale = '50m') {
  if (!promises.has(scale)) {
    promises.set(scale, Promise.all([
      fetch(`atlas/countries-${scale}.json`).then((r) => r.json()),
      loadTable(),
    ]).then(([topo, table]) => {
      const byNumeric = new Map(table.filter((c) => c.numeric).map((c) => [c.numeric, c]));
      const countries = feature(topo, topo.objects.countries).features;
      const byAlpha2 = new Map();
      for (const f of countries) {
        const info = byNumeric.get(Number(f.id));
        f.properties.alpha2 = info?.alpha2 || '';
        if (info) {
          if (!byAlpha2.has(info.alpha2)) byAlpha2.set(info.alpha2, []);
          byAlpha2.get(info.alpha2).push(f);
        }
      }
      const names = new Map(table.map((c) => [c.alpha2, c.name]));
      return {
        scale,
        land: { type: 'FeatureCollection', features: countries },
        borders: mesh(topo, topo.objects.countries, (a, b) => a !== b),
        coast: mesh(topo, topo.objects.countries, (a, b) => a === b),
        // GeoJSON features of one alpha-2 code (empty when the map has none at this scale).
        country(alpha2) { return byAlpha2.get(String(alpha2).toUpperCase()) || []; },
        name(alpha2) { return names.get(String(alpha2).toUpperCase()) || alpha2; },
      };
    }));
  }
  return promises.get(scale);
}

// alpha-2 -> English short name (e.g. "SG" -> "Singapore"), from the small country table only.
export async function countryNames() {
  const table = await loadTable();
  return new Map(table.map((c) => [c.alpha2, c.name]));
}
