// MapView: the fleet on an offline world map, drawn on one <canvas>.
//
// Geometry is projected once (Natural Earth projection into a fixed 1000-unit-wide "world"
// plane) into Path2D objects; panning and zooming only change the canvas transform, so a
// frame costs a few fills whatever the zoom. GPUs are points in that plane, clustered on a
// screen grid at draw time (one circle per dense cell, split by verdict), which keeps 10,000
// GPUs fluid. Spherical shapes (landmark caps, sites' radii, the sound region) go through
// d3-geo, which clips them at the antimeridian and follows great circles.
import { geoNaturalEarth1, geoPath, geoCircle, geoArea } from 'd3-geo';
import { loadAtlas } from './atlas.js';
import { h, kVerdicts, kVerdictColors } from './dom.js';

const kWorldWidth = 1000;
const kWorldHeight = 520;
const kMinZoom = 1;
const kMaxZoom = 400;
const kClusterCellPx = 26;
const kKmPerDegree = 6371.0088 * Math.PI / 180;
const kDotRadiusPx = 4;
// Above this many grid cells on screen, overlapping cells are not merged (cost is quadratic).
const kMaxMergeClusters = 1500;
// From this zoom on, the 1:50m atlas draws the countries (1:110m below).
const kDetailZoom = 2;
// The base layer is rendered again once the view has not moved for this long.
const kRerenderDelayMs = 120;

export function circleGeometry(lat, lon, radiusKm) {
  const deg = Math.min(179.5, Math.max(0.01, radiusKm / kKmPerDegree));
  return geoCircle().center([lon, lat]).radius(deg).precision(deg > 20 ? 2 : 0.5)();
}

// The server's rings [[lat, lon], ...] as a GeoJSON MultiPolygon wound the way d3 expects
// (each ring the smaller of the two areas it bounds), whatever orientation the server used.
export function ringsGeometry(rings) {
  const polys = [];
  for (const ring of rings || []) {
    if (!ring || ring.length < 3) continue;
    const coords = ring.map(([lat, lon]) => [lon, lat]);
    const first = coords[0], last = coords[coords.length - 1];
    if (first[0] !== last[0] || first[1] !== last[1]) coords.push([...first]);
    let poly = { type: 'Polygon', coordinates: [coords] };
    if (geoArea(poly) > 2 * Math.PI) poly = { type: 'Polygon', coordinates: [coords.slice().reverse()] };
    polys.push(poly.coordinates);
  }
  return { type: 'MultiPolygon', coordinates: polys };
}

export class MapView {
  // options: {label, onSelectDevice(id), onSelectCluster(ids), height}
  constructor(container, options = {}) {
    this.options = options;
    this.projection = geoNaturalEarth1().fitExtent([[4, 4], [kWorldWidth - 4, kWorldHeight - 4]], { type: 'Sphere' });
    this.pathGen = geoPath(this.projection);
    this.k = 1; this.tx = 0; this.ty = 0;
    this.points = [];       // {id, x, y, status, label}
    this.sites = [];        // {x, y, name}
    this.landmarks = [];    // {x, y, name, status}
    this.shapes = [];       // {path, fill, stroke, width, dash, fillRule}
    this.pointsVisible = true;
    this.clusters = [];
    this.frame = 0;

    this.root = h('div.map', { style: { height: options.height || '560px' } });
    this.canvas = h('canvas.map-canvas', {
      tabindex: '0', role: 'img',
      'aria-label': options.label || 'World map. Arrow keys pan, plus and minus zoom, 0 resets.',
    });
    this.tooltip = h('div.map-tooltip', { role: 'status', 'aria-live': 'polite', hidden: true });
    const btn = (label, text, fn) => h('button.map-btn', { type: 'button', 'aria-label': label, title: label, onclick: fn }, text);
    this.controls = h('div.map-controls',
      btn('Zoom in', '+', () => this.zoomAt(2, this.cssWidth() / 2, this.cssHeight() / 2)),
      btn('Zoom out', '−', () => this.zoomAt(0.5, this.cssWidth() / 2, this.cssHeight() / 2)),
      btn('Reset view', '⟲', () => this.resetView()));
    this.root.append(this.canvas, this.controls, this.tooltip);
    container.append(this.root);

    this.base = {};         // scale -> {land, border, coast} Path2D
    this.cache = null;      // the base layer rendered for one view: {canvas, k, tx, ty, key}
    this.shapesVersion = 0;
    this.lastInput = 0;
    this.sphere = new Path2D(this.pathGen({ type: 'Sphere' }));
    const paths = (atlas) => ({
      land: new Path2D(this.pathGen(atlas.land)),
      border: new Path2D(this.pathGen(atlas.borders)),
      coast: new Path2D(this.pathGen(atlas.coast)),
    });
    loadAtlas('110m').then((atlas) => { this.base['110m'] = paths(atlas); this.invalidate(); });
    this.ready = loadAtlas('50m').then((atlas) => {
      this.atlas = atlas;
      this.base['50m'] = paths(atlas);
      this.root.dataset.ready = 'true';
      this.invalidate();
    });
    this.installInput();
    this.resizeObserver = new ResizeObserver(() => this.requestDraw());
    this.resizeObserver.observe(this.root);
  }

  destroy() { this.resizeObserver.disconnect(); cancelAnimationFrame(this.frame); this.root.remove(); }

  cssWidth() { return this.root.clientWidth || 800; }
  cssHeight() { return this.root.clientHeight || 400; }
  // World units -> CSS pixels at zoom 1.
  fit() { return Math.min(this.cssWidth() / kWorldWidth, this.cssHeight() / kWorldHeight); }
  baseOffset() {
    const f = this.fit();
    return [(this.cssWidth() - kWorldWidth * f) / 2, (this.cssHeight() - kWorldHeight * f) / 2];
  }
  toScreen(x, y) {
    const s = this.fit() * this.k, [ox, oy] = this.baseOffset();
    return [ox + x * s + this.tx, oy + y * s + this.ty];
  }
  toWorld(px, py) {
    const s = this.fit() * this.k, [ox, oy] = this.baseOffset();
    return [(px - ox - this.tx) / s, (py - oy - this.ty) / s];
  }
  project(lat, lon) { return this.projection([lon, lat]); }

  // ----- data -----
  // devices: [{id, lat, lon, status, label}]
  setDevices(devices) {
    this.points = [];
    for (const d of devices) {
      if (d.lat === undefined || d.lat === null || d.lon === undefined || d.lon === null) continue;
      const p = this.project(d.lat, d.lon);
      if (p) this.points.push({ id: d.id, x: p[0], y: p[1], status: d.status || 'none', label: d.label || '' });
    }
    this.requestDraw();
  }
  setSites(sites) {
    this.sites = sites.map((s) => { const p = this.project(s.latitude_deg, s.longitude_deg); return p && { x: p[0], y: p[1], name: s.name }; }).filter(Boolean);
    this.requestDraw();
  }
  setLandmarks(landmarks) {
    this.landmarks = landmarks.map((l) => { const p = this.project(l.latitude_deg, l.longitude_deg); return p && { x: p[0], y: p[1], name: l.name, status: l.status }; }).filter(Boolean);
    this.requestDraw();
  }
  // Adds a GeoJSON geometry drawn in world space. style: {fill, stroke, width(px), dash([px])}
  addShape(geometry, style) {
    const d = this.pathGen(geometry);
    if (!d) return null;
    const shape = { path: new Path2D(d), geometry, ...style };
    this.shapes.push(shape);
    this.invalidate();
    return shape;
  }
  async addCountries(codes, style) {
    await this.ready;
    for (const c of codes || []) for (const f of this.atlas.country(c)) this.addShape(f, style);
  }
  clearShapes() { this.shapes = []; this.invalidate(); }
  invalidate() { this.shapesVersion++; this.requestDraw(); }

  // Zooms so that the geometries fill the view (with a margin).
  fitGeometries(geometries, marginPx = 30) {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const g of geometries) {
      const [[a, b], [c, d]] = this.pathGen.bounds(g);
      if (![a, b, c, d].every(Number.isFinite)) continue;
      x0 = Math.min(x0, a); y0 = Math.min(y0, b); x1 = Math.max(x1, c); y1 = Math.max(y1, d);
    }
    if (!Number.isFinite(x0)) return;
    const f = this.fit(), w = this.cssWidth() - 2 * marginPx, hgt = this.cssHeight() - 2 * marginPx;
    this.k = clamp(Math.min(w / Math.max(1e-6, (x1 - x0) * f), hgt / Math.max(1e-6, (y1 - y0) * f)), kMinZoom, kMaxZoom);
    const [ox, oy] = this.baseOffset(), s = f * this.k;
    this.tx = this.cssWidth() / 2 - (ox + (x0 + x1) / 2 * s);
    this.ty = this.cssHeight() / 2 - (oy + (y0 + y1) / 2 * s);
    this.requestDraw();
  }

  // ----- interaction -----
  resetView() { this.k = 1; this.tx = 0; this.ty = 0; this.requestDraw(); }
  // Marks user input: until the view rests, frames reuse the cached base layer.
  touch() { this.lastInput = performance.now(); }
  zoomAt(factor, px, py) {
    this.touch();
    const k = clamp(this.k * factor, kMinZoom, kMaxZoom);
    const [wx, wy] = this.toWorld(px, py);
    this.k = k;
    const [sx, sy] = this.toScreen(wx, wy);
    this.tx += px - sx; this.ty += py - sy;
    if (this.k === 1) { this.tx = 0; this.ty = 0; }
    this.requestDraw();
  }
  installInput() {
    const c = this.canvas;
    let drag = null;
    c.addEventListener('pointerdown', (e) => {
      drag = { x: e.clientX, y: e.clientY, tx: this.tx, ty: this.ty, moved: false };
      c.setPointerCapture(e.pointerId);
    });
    c.addEventListener('pointermove', (e) => {
      if (drag) {
        const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
        if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
        if (drag.moved) { this.tx = drag.tx + dx; this.ty = drag.ty + dy; this.touch(); this.requestDraw(); }
      } else {
        this.hover(e);
      }
    });
    c.addEventListener('pointerup', (e) => {
      const wasClick = drag && !drag.moved;
      drag = null;
      if (wasClick) this.click(e);
    });
    c.addEventListener('pointerleave', () => { this.tooltip.hidden = true; });
    c.addEventListener('wheel', (e) => {
      e.preventDefault();
      const r = c.getBoundingClientRect();
      this.zoomAt(Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    c.addEventListener('dblclick', (e) => {
      const r = c.getBoundingClientRect();
      this.zoomAt(2, e.clientX - r.left, e.clientY - r.top);
    });
    c.addEventListener('keydown', (e) => {
      const step = 60;
      const keys = {
        ArrowLeft: () => { this.tx += step; }, ArrowRight: () => { this.tx -= step; },
        ArrowUp: () => { this.ty += step; }, ArrowDown: () => { this.ty -= step; },
        '+': () => this.zoomAt(1.5, this.cssWidth() / 2, this.cssHeight() / 2),
        '=': () => this.zoomAt(1.5, this.cssWidth() / 2, this.cssHeight() / 2),
        '-': () => this.zoomAt(1 / 1.5, this.cssWidth() / 2, this.cssHeight() / 2),
        '0': () => this.resetView(),
      };
      if (keys[e.key]) { e.preventDefault(); this.touch(); keys[e.key](); this.requestDraw(); }
    });
  }
  hitTest(e) {
    const r = this.canvas.getBoundingClientRect();
    const px = e.clientX - r.left, py = e.clientY - r.top;
    let best = null, bestD = Infinity;
    for (const cl of this.clusters) {
      const d = Math.hypot(cl.sx - px, cl.sy - py);
      if (d <= cl.r + 3 && d < bestD) { best = cl; bestD = d; }
    }
    return { cluster: best, px, py };
  }
  hover(e) {
    const { cluster, px, py } = this.hitTest(e);
    if (!cluster) { this.tooltip.hidden = true; this.canvas.style.cursor = 'grab'; return; }
    this.canvas.style.cursor = 'pointer';
    const text = cluster.ids.length === 1 ? cluster.label :
      `${cluster.ids.length} GPUs: ` + [...kVerdicts, 'none'].filter((v) => cluster.counts[v]).map((v) => `${cluster.counts[v]} ${v === 'none' ? 'no verdict' : v}`).join(', ');
    this.tooltip.textContent = text;
    this.tooltip.hidden = false;
    this.tooltip.style.left = `${px + 12}px`;
    this.tooltip.style.top = `${py + 12}px`;
  }
  click(e) {
    const { cluster, px, py } = this.hitTest(e);
    if (!cluster) return;
    if (cluster.ids.length === 1) { this.options.onSelectDevice?.(cluster.ids[0]); return; }
    const sameSpot = cluster.spread < 1e-3;
    if (!sameSpot && this.k < kMaxZoom) this.zoomAt(4, px, py);
    this.options.onSelectCluster?.(cluster.ids);
  }

  // ----- drawing -----
  requestDraw() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.draw(); });
  }
  draw() {
    const w = this.cssWidth(), hgt = this.cssHeight(), dpr = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(w * dpr) || this.canvas.height !== Math.round(hgt * dpr)) {
      this.canvas.width = Math.round(w * dpr); this.canvas.height = Math.round(hgt * dpr);
      this.canvas.style.width = `${w}px`; this.canvas.style.height = `${hgt}px`;
    }
    const ctx = this.canvas.getContext('2d');
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#eef2f6';
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.drawBase(ctx, w, hgt, dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    // Sites: squares; landmarks: triangles (with names when zoomed in).
    const showNames = this.k >= 3;
    ctx.font = '11px system-ui, sans-serif';
    for (const st of this.sites) {
      const [x, y] = this.toScreen(st.x, st.y);
      if (x < -20 || y < -20 || x > w + 20 || y > hgt + 20) continue;
      ctx.strokeStyle = '#1f3a5f'; ctx.lineWidth = 1.5; ctx.fillStyle = '#ffffffcc';
      ctx.fillRect(x - 5, y - 5, 10, 10); ctx.strokeRect(x - 5, y - 5, 10, 10);
      if (showNames) { ctx.fillStyle = '#1f3a5f'; ctx.fillText(st.name, x + 8, y - 6); }
    }
    for (const lm of this.landmarks) {
      const [x, y] = this.toScreen(lm.x, lm.y);
      if (x < -20 || y < -20 || x > w + 20 || y > hgt + 20) continue;
      ctx.beginPath(); ctx.moveTo(x, y - 7); ctx.lineTo(x + 6, y + 4); ctx.lineTo(x - 6, y + 4); ctx.closePath();
      ctx.fillStyle = lm.status === 'active' || !lm.status ? '#3b4a5e' : '#c0262d';
      ctx.fill(); ctx.strokeStyle = '#fff'; ctx.lineWidth = 1; ctx.stroke();
      if (showNames) { ctx.fillStyle = '#3b4a5e'; ctx.fillText(lm.name, x + 8, y + 4); }
    }
    this.clusters = this.pointsVisible ? this.drawPoints(ctx, w, hgt) : [];
    this.root.dataset.drawnClusters = String(this.clusters.length);
    this.root.dataset.drawnGpus = String(this.clusters.reduce((n, c) => n + c.ids.length, 0));
    this.root.dataset.zoom = this.k.toFixed(2);
  }
  // The base layer (sphere, countries, shapes) is rendered into an offscreen canvas and
  // reused: a pan moves the bitmap, a zoom in progress scales it, and the layer is rendered
  // again once the view rests (kRerenderDelayMs after the last input).
  drawBase(ctx, w, hgt, dpr) {
    const scale = this.k >= kDetailZoom && this.base['50m'] ? '50m' : this.base['110m'] ? '110m' : this.base['50m'] ? '50m' : null;
    if (!scale) return;
    const key = `${w}x${hgt}@${dpr}|${scale}|${this.shapesVersion}`;
    const c = this.cache;
    const resting = performance.now() - this.lastInput >= kRerenderDelayMs;
    const exact = c && c.key === key && c.k === this.k && c.tx === this.tx && c.ty === this.ty;
    if (c && !exact && !resting && c.key.split('|')[0] === key.split('|')[0]) {
      // screen = o + (screen_cached - o - t_cached) * (k / k_cached) + t
      const r = this.k / c.k, [ox, oy] = this.baseOffset();
      ctx.setTransform(dpr * r, 0, 0, dpr * r, dpr * (ox + this.tx - (ox + c.tx) * r), dpr * (oy + this.ty - (oy + c.ty) * r));
      ctx.drawImage(c.canvas, 0, 0, w, hgt);
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      clearTimeout(this.rerender);
      this.rerender = setTimeout(() => this.requestDraw(), kRerenderDelayMs);
      return;
    }
    if (!exact) this.cache = this.renderBase(scale, key, w, hgt, dpr);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(this.cache.canvas, 0, 0);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  }
  renderBase(scale, key, w, hgt, dpr) {
    const canvas = this.cache?.canvas || document.createElement('canvas');
    canvas.width = Math.round(w * dpr); canvas.height = Math.round(hgt * dpr);
    const ctx = canvas.getContext('2d');
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#eef2f6';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    const s = this.fit() * this.k, [ox, oy] = this.baseOffset();
    ctx.setTransform(dpr * s, 0, 0, dpr * s, dpr * (ox + this.tx), dpr * (oy + this.ty));
    const px = 1 / s;  // one CSS pixel in world units
    const b = this.base[scale];
    ctx.fillStyle = '#dce6ef'; ctx.fill(this.sphere);
    ctx.fillStyle = '#fbfbf8'; ctx.fill(b.land);
    ctx.lineWidth = 0.6 * px; ctx.strokeStyle = '#a9b4c0'; ctx.stroke(b.border);
    ctx.lineWidth = 0.8 * px; ctx.strokeStyle = '#8f9cab'; ctx.stroke(b.coast);
    for (const sh of this.shapes) {
      if (sh.fill) { ctx.fillStyle = sh.fill; ctx.fill(sh.path, sh.fillRule || 'nonzero'); }
      if (sh.stroke) {
        ctx.lineWidth = (sh.width || 1) * px; ctx.strokeStyle = sh.stroke;
        ctx.setLineDash((sh.dash || []).map((d) => d * px));
        ctx.stroke(sh.path);
        ctx.setLineDash([]);
      }
    }
    ctx.lineWidth = px; ctx.strokeStyle = '#5b6573'; ctx.stroke(this.sphere);
    return { canvas, key, k: this.k, tx: this.tx, ty: this.ty };
  }
  drawPoints(ctx, w, hgt) {
    const cells = new Map();
    const s = this.fit() * this.k, [ox, oy] = this.baseOffset();
    const bx = ox + this.tx, by = oy + this.ty;
    for (const p of this.points) {
      const x = bx + p.x * s, y = by + p.y * s;
      if (x < -30 || y < -30 || x > w + 30 || y > hgt + 30) continue;
      const key = Math.floor(x / kClusterCellPx) * 100003 + Math.floor(y / kClusterCellPx);
      let c = cells.get(key);
      if (!c) {
        c = { sx: 0, sy: 0, ids: [], counts: { compliant: 0, unproven: 0, violation: 0, none: 0 }, label: p.label, minx: x, maxx: x, miny: y, maxy: y };
        cells.set(key, c);
      }
      c.sx += x; c.sy += y; c.ids.push(p.id); c.counts[p.status] = (c.counts[p.status] || 0) + 1;
      c.minx = Math.min(c.minx, p.x); c.maxx = Math.max(c.maxx, p.x); c.miny = Math.min(c.miny, p.y); c.maxy = Math.max(c.maxy, p.y);
    }
    const clusters = [];
    const order = ['none', 'compliant', 'unproven', 'violation'];
    for (const c of mergeOverlapping([...cells.values()])) {
      const n = c.ids.length;
      c.spread = Math.max(c.maxx - c.minx, c.maxy - c.miny);
      if (n === 1) {
        c.r = kDotRadiusPx;
        const st = order.find((v) => c.counts[v]);
        ctx.beginPath(); ctx.arc(c.sx, c.sy, c.r, 0, 2 * Math.PI);
        ctx.fillStyle = kVerdictColors[st]; ctx.fill();
        ctx.lineWidth = 1; ctx.strokeStyle = '#ffffff'; ctx.stroke();
      } else {
        c.r = clusterRadius(n);
        // Donut split by verdict; violations drawn last so they are never hidden.
        let a = -Math.PI / 2;
        for (const v of order) {
          if (!c.counts[v]) continue;
          const da = 2 * Math.PI * c.counts[v] / n;
          ctx.beginPath(); ctx.moveTo(c.sx, c.sy); ctx.arc(c.sx, c.sy, c.r, a, a + da); ctx.closePath();
          ctx.fillStyle = kVerdictColors[v]; ctx.fill();
          a += da;
        }
        ctx.beginPath(); ctx.arc(c.sx, c.sy, c.r * 0.58, 0, 2 * Math.PI);
        ctx.fillStyle = '#ffffff'; ctx.fill();
        ctx.fillStyle = '#1b2430'; ctx.font = `600 ${n >= 1000 ? 9 : 10}px system-ui, sans-serif`;
        ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
        ctx.fillText(n >= 10000 ? `${Math.round(n / 1000)}k` : String(n), c.sx, c.sy + 0.5);
        ctx.textAlign = 'start'; ctx.textBaseline = 'alphabetic';
        if (c.counts.violation) {
          ctx.beginPath(); ctx.arc(c.sx, c.sy, c.r + 2, 0, 2 * Math.PI);
          ctx.strokeStyle = kVerdictColors.violation; ctx.lineWidth = 2; ctx.stroke();
        }
      }
      clusters.push(c);
    }
    return clusters;
  }
}

function clusterRadius(n) { return n === 1 ? kDotRadiusPx : Math.min(22, 7 + 6.4 * Math.log10(n)); }

// Grid cells cut dense places (one site) into neighbours whose circles overlap: merge every
// cell into a bigger one whose circle it touches, biggest first.
function mergeOverlapping(cells) {
  for (const c of cells) { c.sx /= c.ids.length; c.sy /= c.ids.length; }
  if (cells.length > kMaxMergeClusters) return cells;
  cells.sort((a, b) => b.ids.length - a.ids.length);
  const out = [];
  for (const c of cells) {
    const r = clusterRadius(c.ids.length);
    const into = out.find((o) => Math.hypot(o.sx - c.sx, o.sy - c.sy) < clusterRadius(o.ids.length) + r);
    if (!into) { out.push(c); continue; }
    const n0 = into.ids.length, n1 = c.ids.length;
    into.sx = (into.sx * n0 + c.sx * n1) / (n0 + n1);
    into.sy = (into.sy * n0 + c.sy * n1) / (n0 + n1);
    for (const id of c.ids) into.ids.push(id);
    for (const [k, v] of Object.entries(c.counts)) into.counts[k] = (into.counts[k] || 0) + v;
    into.minx = Math.min(into.minx, c.minx); into.maxx = Math.max(into.maxx, c.maxx);
    into.miny = Math.min(into.miny, c.miny); into.maxy = Math.max(into.maxy, c.maxy);
  }
  return out;
}

function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }

// A legend with a count for each verdict; `counts` as {compliant, unproven, violation, none}.
export function legend(counts) {
  const item = (v, label) => h('li', { dataset: { verdict: v } },
    h('span.swatch', { style: { background: kVerdictColors[v] }, 'aria-hidden': 'true' }),
    h('span.legend-label', label), h('span.legend-count', String(counts[v] || 0)));
  return h('ul.legend', { 'aria-label': 'GPUs by verdict' },
    item('compliant', 'compliant'), item('unproven', 'unproven'), item('violation', 'violation'),
    item('none', 'no verdict'),
    h('li.legend-sym', h('span.sym-site', { 'aria-hidden': 'true' }), 'site'),
    h('li.legend-sym', h('span.sym-landmark', { 'aria-hidden': 'true' }), 'landmark'));
}
