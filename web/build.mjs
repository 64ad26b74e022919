// Builds the dashboard into web/dist: index.html, app.js, app.css and the offline atlas.
//
//   npm run build                 (from web/)
//   node build.mjs --outdir DIR   (another output directory)
//
// The atlas is Natural Earth 1:50m from the npm package world-atlas (TopoJSON, drawn by the
// page) plus a small table naming each feature by ISO 3166-1 alpha-2, read from the header of
// the project's own data/countries/countries-50m.bin: the same codes the server's verdicts use
// (licences name countries by alpha-2, world-atlas features carry the ISO numeric id).
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const outdirArg = args.indexOf('--outdir');
const outdir = outdirArg >= 0 ? path.resolve(args[outdirArg + 1]) : path.join(here, 'dist');
const atlasBin = path.join(here, '..', 'data', 'countries', 'countries-50m.bin');
const atlasTopo = path.join(here, 'node_modules', 'world-atlas', 'countries-50m.json');

// Reads the country table (alpha-2, numeric, name) of the LCBORDER file, skipping the loops.
function readCountryTable(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 0, 8) !== 'LCBORDER') throw new Error(`${file}: not an LCBORDER file`);
  let off = 8;
  const version = buf.readUInt32LE(off); off += 4;
  if (version !== 1) throw new Error(`${file}: unsupported version ${version}`);
  const count = buf.readUInt32LE(off); off += 4;
  off += 4;  // total vertex count
  const sourceLen = buf.readUInt16LE(off); off += 2 + sourceLen;
  const table = [];
  for (let i = 0; i < count; i++) {
    const alpha2 = buf.toString('latin1', off, off + 2); off += 2;
    const numeric = buf.readUInt16LE(off); off += 2;
    const nameLen = buf.readUInt16LE(off); off += 2;
    const name = buf.toString('utf8', off, off + nameLen); off += nameLen;
    const loops = buf.readUInt32LE(off); off += 4;
    for (let l = 0; l < loops; l++) {
      const vertices = buf.readUInt32LE(off); off += 4 + vertices * 8;
    }
    table.push({ alpha2, numeric, name });
  }
  return table;
}

fs.rmSync(outdir, { recursive: true, force: true });
fs.mkdirSync(path.join(outdir, 'atlas'), { recursive: true });

await esbuild.build({
  entryPoints: [path.join(here, 'src', 'main.js')],
  bundle: true,
  minify: true,
  sourcemap: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  outfile: path.join(outdir, 'app.js'),
  logLevel: 'warning',
});
// uPlot's stylesheet is bundled into app.css after ours.
const css = fs.readFileSync(path.join(here, 'src', 'app.css'), 'utf8') +
  '\n' + fs.readFileSync(path.join(here, 'node_modules', 'uplot', 'dist', 'uPlot.min.css'), 'utf8');
fs.writeFileSync(path.join(outdir, 'app.css'), css);
fs.copyFileSync(path.join(here, 'src', 'index.html'), path.join(outdir, 'index.html'));
fs.copyFileSync(atlasTopo, path.join(outdir, 'atlas', 'countries-50m.json'));
fs.copyFileSync(atlasTopo.replace('50m', '110m'), path.join(outdir, 'atlas', 'countries-110m.json'));
fs.writeFileSync(path.join(outdir, 'atlas', 'countries.json'),
  JSON.stringify(readCountryTable(atlasBin)));
console.log(`dashboard built into ${outdir}`);
