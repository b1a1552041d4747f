// talkgate's live page: live calls by DN, recent calls, a call's ladder, NOTIFY -> answer
// latency per DN. Vanilla JS, no library. The token stays in this tab's sessionStorage and goes
// out only in the Authorization header; the live updates are server-sent events read with
// fetch() (EventSource cannot send that header), so the token never appears in a URL.
'use strict';

const TOKEN_KEY = 'talkgate.token';
const SELECTED_KEY = 'talkgate.selected';
const SVG = 'http://www.w3.org/2000/svg';
const $ = (id) => document.getElementById(id);

const page = {
  token: null,
  view: null,          // the newest view from GET /events
  skewMs: 0,           // server clock - this clock
  selected: null,      // the id of the call whose ladder is shown
  trace: null,         // that call's trace
  traceBusy: false,    // a trace request is in flight
  traceAgain: false,   // ... and another is wanted after it
  stream: null,        // the AbortController of the open event stream
  retryMs: 1000,
};

// ---- small helpers --------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-')) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function duration(ms) {
  if (ms === null || ms === undefined || !isFinite(ms)) return '';
  if (ms < 0) ms = 0;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function millis(ms) {
  if (ms === null || ms === undefined || !isFinite(ms)) return '';
  return ms < 10 ? `${ms.toFixed(2)} ms` : ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function clockTime(epochMs) {
  return new Date(epochMs).toLocaleTimeString([], { hour12: false });
}

const serverNow = () => Date.now() + page.skewMs;

async function api(path) {
  const r = await fetch(path, { headers: { Authorization: `Bearer ${page.token}` }, cache: 'no-store' });
  if (r.status === 401) {
    r.body?.cancel();
    throw Object.assign(new Error('the token was refused'), { unauthorized: true });
  }
  return r;
}

// ---- login ----------------------------------------------------------------------------------

function showLogin(error) {
  stopStream();
  page.token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(SELECTED_KEY);
  page.selected = null;
  page.trace = null;
  $('ladder-title').textContent = '';
  $('ladder').replaceChildren(el('p', { class: 'empty' }, 'Choose a call to see its ladder.'));
  $('app').hidden = true;
  $('logout').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = error || '';
  $('token').value = '';
  $('token').focus();
  setConn('not connected', '');
}

async function logIn(token) {
  page.token = token;
  let r;
  try {
    r = await api('/calls');
  } catch (e) {
    return showLogin(e.unauthorized ? 'Wrong token: talkgate refused it.' : `talkgate did not answer: ${e.message}`);
  }
  let why = `HTTP ${r.status}`;
  try { why = (await r.json()).error || why; } catch (_) { /* not JSON */ }
  if (!r.ok) return showLogin(`talkgate refused the login: ${why}`);
  sessionStorage.setItem(TOKEN_KEY, token);
  $('login').hidden = true;
  $('app').hidden = false;
  $('logout').hidden = false;
  startStream();
  const selected = sessionStorage.getItem(SELECTED_KEY);
  if (selected) select(selected);
}

// ---- the event stream -----------------------------------------------------------------------

function setConn(text, cls) {
  const c = $('conn');
  c.textContent = text;
  c.className = `conn ${cls}`;
}

function stopStream() {
  if (page.stream) page.stream.abort();
  page.stream = null;
}

async function startStream() {
  stopStream();
  const control = new AbortController();
  page.stream = control;
  setConn('connecting', '');
  try {
    const r = await fetch('/events', {
      headers: { Authorization: `Bearer ${page.token}`, Accept: 'text/event-stream' },
      cache: 'no-store', signal: control.signal,
    });
    if (r.status === 401) return showLogin('The token was refused: log in again.');
    if (!r.ok || !r.body) throw new Error(`HTTP ${r.status}`);
    setConn('live', 'live');
    page.retryMs = 1000;
    const reader = r.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        onEvent(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
    throw new Error('the stream ended');
  } catch (e) {
    if (control.signal.aborted || page.stream !== control) return;
    setConn(`reconnecting (${e.message})`, 'down');
    const wait = page.retryMs;
    page.retryMs = Math.min(page.retryMs * 2, 15000);
    setTimeout(() => { if (page.stream === control) startStream(); }, wait);
  }
}

// One server-sent event: "event: view" lines with a JSON "data:"; comments keep it alive.
function onEvent(block) {
  let event = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (event !== 'view' || data.length === 0) return;
  let view;
  try { view = JSON.parse(data.join('\n')); } catch (_) { return; }
  if (page.view && view.seq <= page.view.seq) return;
  page.view = view;
  page.skewMs = view.now_ms - Date.now();
  render();
}

// ---- rendering ------------------------------------------------------------------------------

function render() {
  const v = page.view;
  if (!v) return;
  renderLive(v.calls);
  renderRecent(v.recent);
  renderLatency(v.latency, v.latency_window_s);
  if (page.selected) refreshTrace();
}

function selectable(tr, id) {
  tr.addEventListener('click', () => select(id));
  if (id === page.selected) tr.classList.add('selected');
  return tr;
}

function renderLive(calls) {
  const body = $('live').tBodies[0];
  const sorted = [...calls].sort((a, b) => a.dn.localeCompare(b.dn) || a.created_ms - b.created_ms);
  const rows = [];
  let lastDn = null;
  for (const c of sorted) {
    const first = c.dn !== lastDn;
    lastDn = c.dn;
    const tr = el('tr', { 'data-id': c.id, 'data-dn': c.dn, 'data-state': c.state, class: first ? 'dn-first' : '' },
      el('td', { class: 'dn' }, first ? c.dn : ''),
      el('td', {}, el('span', { class: `state state-${c.state}` }, c.state + (c.held ? ' (held)' : ''))),
      el('td', { class: 'num age', 'data-created': String(c.created_ms) }, duration(serverNow() - c.created_ms)),
      el('td', { class: 'mono' }, c.call_uuid || '-'),
      el('td', { class: 'mono' }, c.id));
    rows.push(selectable(tr, c.id));
  }
  body.replaceChildren(...rows);
  $('live-empty').hidden = rows.length > 0;
  $('live-count').textContent = `${rows.length} call${rows.length === 1 ? '' : 's'} on ${new Set(calls.map((c) => c.dn)).size} DN(s)`;
}

function renderRecent(calls) {
  const body = $('recent').tBodies[0];
  const rows = calls.map((c) => selectable(
    el('tr', { 'data-id': c.id, 'data-dn': c.dn, 'data-outcome': c.outcome },
      el('td', { class: 'num' }, clockTime(c.ended_ms)),
      el('td', { class: 'dn' }, c.dn),
      el('td', { class: `outcome-${c.outcome}` }, c.outcome),
      el('td', { class: 'num' }, duration(c.ended_ms - c.created_ms)),
      el('td', { class: 'mono' }, c.call_uuid || '-')), c.id));
  body.replaceChildren(...rows);
  $('recent-empty').hidden = rows.length > 0;
  $('recent-count').textContent = `newest ${rows.length}`;
}

function renderLatency(rows, windowS) {
  const body = $('latency').tBodies[0];
  const worst = Math.max(1, ...rows.map((r) => r.max_ms));
  body.replaceChildren(...rows.map((r) => {
    const bar = el('div', { class: 'bar' });
    bar.style.width = `${Math.max(2, (100 * r.p95_ms) / worst)}%`;
    return el('tr', { 'data-dn': r.dn },
      el('td', { class: 'dn' }, r.dn),
      el('td', { class: 'num' }, r.answers),
      el('td', { class: 'num' }, millis(r.p50_ms)),
      el('td', { class: 'num' }, millis(r.p95_ms)),
      el('td', { class: 'num' }, millis(r.max_ms)),
      el('td', { class: 'num' }, millis(r.last_ms)),
      el('td', { class: 'barcell' }, bar));
  }));
  $('latency-empty').hidden = rows.length > 0;
  $('latency-window').textContent = `last ${Math.round(windowS / 60)} min, p95 bars`;
}

function tick() {
  $('clock').textContent = clockTime(serverNow());
  for (const td of document.querySelectorAll('#live td.age')) {
    td.textContent = duration(serverNow() - Number(td.dataset.created));
  }
}

// ---- a call's ladder ------------------------------------------------------------------------

function select(id) {
  page.selected = id;
  sessionStorage.setItem(SELECTED_KEY, id);
  page.trace = null;
  for (const tr of document.querySelectorAll('tr.selected')) tr.classList.remove('selected');
  for (const tr of document.querySelectorAll('tr[data-id]')) {
    if (tr.dataset.id === id) tr.classList.add('selected');
  }
  $('ladder-title').textContent = id;
  refreshTrace();
}

async function refreshTrace() {
  if (page.traceBusy) { page.traceAgain = true; return; }
  const id = page.selected;
  if (page.trace && !page.trace.live && page.trace.id === id) return;  // an ended call is final
  page.traceBusy = true;
  try {
    const r = await api(`/calls/${encodeURIComponent(id)}/trace`);
    if (id !== page.selected) return;
    if (r.status === 404) {
      page.trace = null;
      $('ladder').replaceChildren(el('p', { class: 'empty' }, 'talkgate no longer keeps this call.'));
      return;
    }
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    page.trace = await r.json();
    drawLadder(page.trace);
  } catch (e) {
    if (e.unauthorized) return showLogin('The token was refused: log in again.');
    $('ladder').replaceChildren(el('p', { class: 'error' }, `Cannot read the ladder: ${e.message}`));
  } finally {
    page.traceBusy = false;
    if (page.traceAgain) { page.traceAgain = false; refreshTrace(); }
  }
}

const ACTORS = ['Genesys', 'Asterisk', 'talkgate', 'agent'];
const [GENESYS, ASTERISK, TALKGATE, AGENT] = [0, 1, 2, 3];

// How each traced step reads on the ladder: from, to (the same for a note) and its label.
function arrowOf(s) {
  const ev = s.event ? ` ${s.event}` : '';
  const outcome = s.outcome ? ` ${s.outcome}` : '';
  const latency = s.latency_ms !== undefined ? ` (${millis(s.latency_ms)})` : '';
  const cause = s.cause ? ` (cause ${s.cause})` : '';  // 0: Asterisk gave none
  switch (s.step) {
    case 'stasis_entered': return [ASTERISK, TALKGATE, 'StasisStart (Genesys INVITE)'];
    case 'adopted': return [TALKGATE, TALKGATE, `adopted${outcome}`];
    case 'agent_leg_created': return [TALKGATE, ASTERISK, 'POST /channels/create'];
    case 'agent_dialled': return [ASTERISK, AGENT, 'INVITE (dial)'];
    case 'agent_ringing': return [AGENT, ASTERISK, '180 Ringing'];
    case 'genesys_rung': return [ASTERISK, GENESYS, '180 Ringing'];
    case 'notify': return [GENESYS, ASTERISK, `NOTIFY Event:${ev || ' ?'} (via ${s.source || '?'}${s.duplicate ? ', duplicate' : ''})`];
    case 'answer_requested': return [TALKGATE, TALKGATE, `answer${outcome}`];
    case 'answer_action':
      if (s.source === 'pjsip_notify') return [TALKGATE, AGENT, `PJSIPNotify${ev}:${outcome}${latency}`];
      if (s.source === 'bridge_answer') return [TALKGATE, AGENT, `bridge /answer:${outcome}${latency}`];
      if (s.source === 'bridge_notify') return [TALKGATE, AGENT, `bridge notify${ev}:${outcome}${latency}`];
      return [TALKGATE, AGENT, `${s.source || 'answer'}:${outcome}${latency}`];
    case 'agent_answered': return [AGENT, ASTERISK, '200 OK (agent answered)'];
    case 'bridged': return [ASTERISK, GENESYS, '200 OK, bridged'];
    case 'hold': return [TALKGATE, AGENT, `hold${ev}`];
    case 'retrieve': return [TALKGATE, AGENT, `retrieve${ev}`];
    case 'ring_timeout': return [TALKGATE, TALKGATE, 'agent ring timeout'];
    case 'hangup':
      if (s.source === 'agent') return [AGENT, ASTERISK, `BYE${cause}`];
      if (s.source === 'genesys') return [GENESYS, ASTERISK, `BYE${cause}`];
      return [ASTERISK, TALKGATE, `hangup ${s.source || ''}${cause}`];
    case 'ended': return [TALKGATE, TALKGATE, `ended:${outcome}`];
    default: return [TALKGATE, TALKGATE, s.step];
  }
}

function drawLadder(t) {
  const left = 200; const colW = 215; const top = 56; const rowH = 34;
  const width = left + colW * (ACTORS.length - 1) + 120;
  const height = top + rowH * (t.steps.length + 1);
  const x = (i) => left + i * colW;
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `ladder of call ${t.id}` });
  const defs = svg('defs');
  const marker = svg('marker', { id: 'head', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 8, markerHeight: 8, orient: 'auto-start-reverse' });
  marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#374151' }));
  defs.append(marker);
  root.append(defs);
  root.append(svg('text', { x: 8, y: 30, class: 'time' }, 't (ms)'));
  root.append(svg('text', { x: 80, y: 30, class: 'delta' }, '+ step'));
  ACTORS.forEach((name, i) => {
    root.append(svg('line', { x1: x(i), y1: top, x2: x(i), y2: height - 8, class: 'lifeline' }));
    const g = svg('g', { class: 'actor' });
    g.append(svg('rect', { x: x(i) - 52, y: 12, width: 104, height: 26, rx: 4 }));
    g.append(svg('text', { x: x(i), y: 30, 'text-anchor': 'middle' }, name));
    root.append(g);
  });
  let previous = null;
  t.steps.forEach((s, n) => {
    const y = top + rowH * (n + 1) - 6;
    const [from, to, label] = arrowOf(s);
    const failed = (s.step === 'answer_action' && s.outcome && s.outcome !== 'ok');
    const g = svg('g', {
      class: `step step-${s.step}${failed ? ' failed' : ''}${s.duplicate ? ' duplicate' : ''}`,
      'data-step': s.step,
    });
    g.append(svg('text', { x: 8, y, class: 'time' }, s.t_ms.toFixed(1)));
    if (previous !== null) g.append(svg('text', { x: 80, y, class: 'delta' }, `+${(s.t_ms - previous).toFixed(1)}`));
    previous = s.t_ms;
    if (from === to) {
      const note = svg('g', { class: 'note' });
      note.append(svg('rect', { x: x(from) - 80, y: y - 16, width: 160, height: 22, rx: 3 }));
      note.append(svg('text', { x: x(from), y: y - 1, 'text-anchor': 'middle', class: 'label' }, label));
      g.append(note);
    } else {
      g.append(svg('line', { x1: x(from), y1: y, x2: x(to), y2: y, class: 'arrow', 'marker-end': 'url(#head)' }));
      const mid = (x(from) + x(to)) / 2;
      g.append(svg('text', { x: mid, y: y - 5, 'text-anchor': 'middle', class: 'label' }, label));
    }
    root.append(g);
  });
  const meta = el('p', { class: 'ladder-meta' },
    `DN ${t.dn}, CallUUID ${t.call_uuid || '-'}, Call-ID ${t.call_id || '-'}, `,
    t.live ? `live (${t.state})` : `ended: ${t.outcome}`,
    t.dropped_steps ? `, ${t.dropped_steps} step(s) not kept` : '');
  $('ladder').replaceChildren(meta, root);
}

// ---- start ----------------------------------------------------------------------------------

$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  const token = $('token').value.trim();
  if (token) logIn(token);
});
$('logout').addEventListener('click', () => showLogin(''));
setInterval(tick, 1000);
tick();
const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) logIn(saved); else showLogin('');

// For tests and the curious: what the page shows, read from the DOM.
window.talkgatePage = {
  snapshot() {
    const rows = (sel) => [...document.querySelectorAll(sel)].map((tr) => ({ ...tr.dataset }));
    return {
      login: !$('login').hidden,
      loginError: $('login-error').textContent,
      connection: $('conn').textContent,
      live: rows('#live tbody tr'),
      recent: rows('#recent tbody tr'),
      latency: rows('#latency tbody tr').map((r, i) => ({
        ...r, cells: [...$('latency').tBodies[0].rows[i].cells].map((c) => c.textContent),
      })),
      selected: page.selected,
      ladder: [...document.querySelectorAll('#ladder g.step')].map((g) => ({
        step: g.dataset.step, text: [...g.querySelectorAll('text')].map((t) => t.textContent),
      })),
      ladderMeta: document.querySelector('#ladder .ladder-meta')?.textContent || '',
    };
  },
};
