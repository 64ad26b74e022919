// The dashboard shell: sign-in, navigation and hash routing (#/overview, #/map, #/gpu/9, ...).
import { api, token, setToken, clearToken, setUnauthenticatedHandler } from './api.js';
import { h, clear, fill, add, errorBox } from './dom.js';
import { renderOverview } from './pages/overview.js';
import { renderMap } from './pages/map.js';
import { renderGpus } from './pages/gpus.js';
import { renderGpu } from './pages/gpu.js';
import { renderLicences, renderLicence } from './pages/licences.js';
import { renderAlerts } from './pages/alerts.js';

const routes = [
  { re: /^overview$/, nav: 'overview', render: renderOverview, title: 'Overview', live: true },
  { re: /^map$/, nav: 'map', render: renderMap, title: 'Map' },
  { re: /^gpus$/, nav: 'gpus', render: renderGpus, title: 'GPUs' },
  { re: /^gpu\/(\d+)$/, nav: 'gpus', render: renderGpu, title: 'GPU' },
  { re: /^licences$/, nav: 'licences', render: renderLicences, title: 'Licences' },
  { re: /^licences\/(\d+)$/, nav: 'licences', render: renderLicence, title: 'Licence' },
  { re: /^alerts$/, nav: 'alerts', render: renderAlerts, title: 'Alerts', live: true },
];
const navItems = [
  ['overview', 'Overview'], ['map', 'Map'], ['gpus', 'GPUs'], ['licences', 'Licences'], ['alerts', 'Alerts'],
];

// Live pages refresh this often.
const kRefreshMs = 15000;
// sessionStorage key that sets another refresh period in ms for this tab (the browser tests
// use it so as not to wait 15 s per check); values below kMinRefreshMs are ignored.
export const kRefreshMsKey = 'lightcone.refreshMs';
const kMinRefreshMs = 200;

export function refreshPeriodMs() {
  const v = Number(sessionStorage.getItem(kRefreshMsKey));
  return Number.isFinite(v) && v >= kMinRefreshMs ? v : kRefreshMs;
}

const app = document.getElementById('app');
let me = null;          // /whoami of the signed-in token
let cleanup = null;     // teardown of the current page
let renderSeq = 0;

export function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, qs] = raw.split('?');
  return { path: path || 'overview', params: new URLSearchParams(qs || '') };
}

export function navigate(path, params) {
  const qs = params ? new URLSearchParams(Object.entries(params).filter(([, v]) => v !== '' && v != null)).toString() : '';
  location.hash = `#/${path}${qs ? '?' + qs : ''}`;
}

function signOut() {
  clearToken();
  me = null;
  route();
}
setUnauthenticatedHandler(() => { if (me) { clearToken(); me = null; route('Your session has ended: the token was rejected.'); } });

function renderSignIn(message) {
  document.title = 'Sign in — Lightcone';
  const input = h('input#token', { type: 'password', name: 'token', autocomplete: 'off', required: true, spellcheck: 'false', 'aria-describedby': 'token-help' });
  const status = h('div', { role: 'status', 'aria-live': 'polite' }, message ? h('p.error', message) : null);
  const form = h('form.signin-form', {
    onsubmit: async (e) => {
      e.preventDefault();
      const t = input.value.trim();
      if (!t) return;
      fill(status, h('p', 'Checking the token…'));
      try {
        me = await api('/whoami', { tokenOverride: t });
        setToken(t);
        route();
      } catch (err) {
        fill(status, h('p.error', err.status === 401 ? 'This token is not valid (unknown or revoked).' : err.message));
        input.focus();
      }
    },
  },
  h('h1', 'Lightcone'),
  h('p.lede', 'Proof of where every GPU is, for export-licence compliance.'),
  h('label', { for: 'token' }, 'API token'),
  input,
  h('p.help#token-help', 'Paste the token an administrator issued to you (operator, auditor or admin). It is kept only for this browser tab and forgotten when the tab closes.'),
  h('button.primary', { type: 'submit' }, 'Sign in'),
  status);
  fill(app, h('main.signin#main', form));
  input.focus();
}

function shell(active) {
  const roleText = me.role + (me.organization_id ? ` · organization ${me.organization_id}` : ' · all organizations');
  const main = h('main#main', { tabindex: '-1' });
  fill(app, 
    h('header.topbar',
      h('a.brand', { href: '#/overview' }, h('span.brand-mark', { 'aria-hidden': 'true' }, '◎'), 'Lightcone'),
      h('nav', { 'aria-label': 'Main' }, h('ul', navItems.map(([path, label]) =>
        h('li', h('a', { href: `#/${path}`, 'aria-current': active === path ? 'page' : false }, label))))),
      h('div.who', h('span.who-name', { title: roleText, 'data-role': me.role }, `${me.name || 'signed in'} (${roleText})`),
        h('button.link', { type: 'button', onclick: signOut }, 'Sign out'))),
    main);
  return main;
}

async function route(message) {
  const seq = ++renderSeq;
  if (cleanup) { try { cleanup(); } catch { /* page already gone */ } cleanup = null; }
  if (!token()) { renderSignIn(message); return; }
  if (!me) {
    try { me = await api('/whoami'); } catch (err) { clearToken(); renderSignIn(err.status === 401 ? 'This token is not valid (unknown or revoked).' : err.message); return; }
  }
  const { path, params } = parseHash();
  const r = routes.find((x) => x.re.test(path));
  if (!r) { navigate('overview'); return; }
  const main = shell(r.nav);
  document.title = `${r.title} — Lightcone`;
  const args = path.match(r.re).slice(1);
  try {
    const refreshers = [];
    const ctx = {
      me, params, navigate, isStale: () => seq !== renderSeq,
      // fn runs every kRefreshMs while this page is shown and the tab is visible, so a
      // dashboard left open (the demo) follows the fleet as it changes. A round is skipped
      // for fn while its previous run has not settled (no overlapping fetches); a failed
      // run is simply retried at the next round.
      onRefresh: (fn) => refreshers.push(fn),
    };
    // Pages that only show data are re-rendered off-screen and swapped in.
    if (r.live) {
      ctx.onRefresh(async () => {
        if (main.querySelector('textarea:focus, input:focus, select:focus, details.ack[open]')) return;
        const next = h('div');
        await r.render(next, { ...ctx, onRefresh: () => {} }, ...args);
        if (seq === renderSeq) main.replaceChildren(...next.childNodes);
      });
    }
    const c = await r.render(main, ctx, ...args);
    const running = new Set();
    const round = () => {
      if (document.visibilityState !== 'visible' || seq !== renderSeq) return;
      for (const fn of refreshers) {
        if (running.has(fn)) continue;
        running.add(fn);
        Promise.resolve().then(fn).catch(() => { /* next round */ }).finally(() => running.delete(fn));
      }
    };
    const timer = setInterval(round, refreshPeriodMs());
    // A tab shown again catches up at once instead of at the next tick.
    const onVisible = () => { if (document.visibilityState === 'visible') round(); };
    document.addEventListener('visibilitychange', onVisible);
    const pageCleanup = typeof c === 'function' ? c : null;
    const all = () => { clearInterval(timer); document.removeEventListener('visibilitychange', onVisible); if (pageCleanup) pageCleanup(); };
    if (seq === renderSeq) cleanup = all; else all();
  } catch (err) {
    if (seq === renderSeq) add(main, errorBox(err));
  }
  if (seq === renderSeq) main.dataset.loaded = 'true';
}

window.addEventListener('hashchange', () => route());
route();
