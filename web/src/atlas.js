// The offline world atlas: Natural Earth 1:50m countries (world-atlas TopoJSON, served as a
// static asset next to the page) with ISO 3166-1 alpha-2 codes for each feature.
import { feature, mesh } from 'topojson-client';

let atlasPromise = null;

export function loadAtlas() {
  if (!atlasPromise) {
    atlasPromise = Promise.all([
      fetch('atlas/countries-50m.json').then((r) => r.json()),
      fetch('atlas/countries.json').then((r) => r.json()),
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
        land: { type: 'FeatureCollection', features: countries },
        borders: mesh(topo, topo.objects.countries, (a, b) => a !== b),
        coast: mesh(topo, topo.objects.countries, (a, b) => a === b),
        // GeoJSON features of one alpha-2 code (empty when the 1:50m map has none).
        country(alpha2) { return byAlpha2.get(String(alpha2).toUpperCase()) || []; },
        name(alpha2) { return names.get(String(alpha2).toUpperCase()) || alpha2; },
      };
    });
  }
  return atlasPromise;
}
