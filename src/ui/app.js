// The dashboard page: asks for a bearer token (kept in this tab's sessionStorage), follows
// GET /v1/events/stream and draws each "view" event: adapters grouped by server, their memory,
// compute units and slot contexts as placement bars (start and size), utilization sparklines, the
// allocations and the GRM's event log. Plain DOM and SVG, no library, no build step.
//
// The stream is read with fetch(), not EventSource: EventSource cannot send the Authorization header,
// and the token must not go into a URL. So the page parses the event-stream format itself and
// reconnects itself.

const TOKEN_KEY = 'rafabric.token';
const RECONNECT_MS = 1000;
/** The sparkline spans the history the GRM has (up to 5 minutes), and at least a minute. */
const SPARK_MAX_MS = 5 * 60 * 1000;
const SPARK_MIN_MS = 60 * 1000;
const SVG = 'http://www.w3.org/2000/svg';

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}

function svg(tag, attrs = {}, children = []) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  for (const child of children) node.append(child);
  return node;
}

function formatBytes(bytes) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}

/** A stable colour per allocation id (operator view): its hash picks the hue. */
function allocationColour(id) {
  let hash = 0;
  for (const ch of id) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return `hsl(${hash % 360} 60% 45%)`;
}

function describeOwner(slice) {
  if (slice.owner === 'own') return `your allocation ${slice.allocation}`;
  if (slice.owner === 'allocation') return `${slice.allocation} (${slice.tenant})`;
  if (slice.owner === 'other') return "another tenant's";
  return 'held by no committed allocation (in flight or orphan)';
}

/** A placement bar: `total` is the whole quantity, each slice a rectangle at base, length wide. */
function placementBar(kind, total, slices, unit) {
  const width = 1000;
  const bar = svg('svg', { class: 'bar', viewBox: `0 0 ${width} 14`, preserveAspectRatio: 'none' }, [
    svg('rect', { class: 'free', x: 0, y: 0, width, height: 14 }),
  ]);
  bar.dataset.kind = kind;
  if (total <= 0) return bar;
  for (const s of slices) {
    const rect = svg('rect', {
      x: (s.base / total) * width,
      y: 0,
      width: Math.max((s.length / total) * width, 2),
      height: 14,
      'data-owner': s.owner,
      'data-kind': s.kind,
      'data-base': s.base,
      'data-length': s.length,
    });
    if (s.allocation) rect.setAttribute('data-allocation', s.allocation);
    if (s.owner === 'allocation') rect.setAttribute('fill', allocationColour(s.allocation));
    const place =
      unit === 'bytes' ? `${formatBytes(s.base)} +${formatBytes(s.length)}` : `${s.base} +${s.length}`;
    rect.append(svg('title', {}, [`${s.kind} ${place}: ${describeOwner(s)}`]));
    bar.append(rect);
  }
  return bar;
}

function sparkline(points, nowMs) {
  const w = 120;
  const h = 24;
  const shown = points.filter((p) => p.atMs >= nowMs - SPARK_MAX_MS);
  const windowMs = Math.max(SPARK_MIN_MS, nowMs - (shown[0]?.atMs ?? nowMs));
  const line = shown
    .map((p) => {
      const x = w - ((nowMs - p.atMs) / windowMs) * w;
      const y = h - 1 - (p.percent / 100) * (h - 2);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
  return svg('svg', { class: 'spark', viewBox: `0 0 ${w} ${h}` }, [
    svg('line', { class: 'base', x1: 0, y1: h - 1, x2: w, y2: h - 1 }),
    svg('polyline', { points: line }),
    svg('title', {}, [
      'utilization over the last minutes (share of time the slices were busy, capped at 100 %)',
    ]),
  ]);
}

function barRow(label, bar, amount) {
  return el('div', { class: 'bar-row' }, [
    el('span', { class: 'label', text: label }),
    bar,
    el('span', { class: 'amount', text: amount }),
  ]);
}

function adapterCard(a, nowMs) {
  const of = (kind) => a.slices.filter((s) => s.kind === kind);
  const used = (kind) => of(kind).reduce((n, s) => n + s.length, 0);
  const util = a.utilizationPercent === null ? '–' : `${a.utilizationPercent.toFixed(1)} %`;
  const card = el('article', { class: `adapter ${a.health}`, 'data-adapter': a.id }, [
    el('div', { class: 'adapter-head' }, [
      el('b', { text: a.id }),
      el('span', { class: 'health', text: a.health }),
      el('span', { class: 'util', text: util }),
      sparkline(a.utilization, nowMs),
    ]),
    barRow(
      'memory',
      placementBar('memory', a.memoryBytes, of('memory'), 'bytes'),
      `${formatBytes(used('memory'))} / ${formatBytes(a.memoryBytes)}`,
    ),
    barRow(
      'compute units',
      placementBar('compute', a.computeUnits, of('compute'), 'units'),
      `${used('compute')} / ${a.computeUnits}`,
    ),
  ]);
  for (const slot of a.slots) {
    const contexts = of('context').filter((s) => s.slot === slot.index);
    const name = slot.function ? `slot ${slot.index} ${slot.function}` : `slot ${slot.index} (${slot.state})`;
    card.append(
      barRow(
        name,
        placementBar('context', slot.contexts, contexts, 'contexts'),
        `${slot.contextsUsed} / ${slot.contexts} ctx`,
      ),
    );
  }
  return card;
}

function renderAdapters(view) {
  const nowMs = Date.parse(view.at);
  const servers = new Map();
  for (const a of view.adapters) {
    if (!servers.has(a.server)) servers.set(a.server, []);
    servers.get(a.server).push(a);
  }
  const root = $('servers');
  root.replaceChildren(
    ...[...servers].map(([server, adapters]) =>
      el('div', { class: 'server', 'data-server': server }, [
        el('h3', { text: `server ${server}` }),
        el(
          'div',
          { class: 'adapters' },
          adapters.map((a) => adapterCard(a, nowMs)),
        ),
      ]),
    ),
  );
}

function renderLegend(view) {
  const swatch = (cls, text) => el('span', {}, [el('i', { class: cls }), text]);
  const items =
    view.viewer.role === 'operator'
      ? [
          el('span', { text: 'one colour per allocation' }),
          swatch('unattributed', 'no committed allocation'),
          swatch('free', 'free'),
        ]
      : [swatch('own', 'yours'), swatch('other', "other tenants'"), swatch('free', 'free')];
  $('legend').replaceChildren(...items);
}

function resourceText(r) {
  const where = r.placements
    .map((p) => {
      if (p.bytes !== undefined) return `${p.adapter} @${formatBytes(p.offset)} +${formatBytes(p.bytes)}`;
      if (p.units !== undefined) return `${p.adapter} ${p.units} unit(s)`;
      return `${p.adapter} slot ${p.slot} ctx ${p.context}+${p.contexts}`;
    })
    .join(', ');
  const what =
    r.function ?? r.bitstream ?? (r.bytes !== undefined ? formatBytes(r.bytes) : `${r.units} unit(s)`);
  return `${r.kind} ${what} on ${where}`;
}

function renderAllocations(view) {
  const operator = view.viewer.role === 'operator';
  for (const th of document.querySelectorAll('#allocations th:nth-child(2)'))
    th.classList.toggle('hidden-column', !operator);
  $('allocations').tBodies[0].replaceChildren(
    ...view.allocations.map((a) =>
      el('tr', { 'data-id': a.id }, [
        el('td', { text: a.id }),
        el('td', { class: operator ? '' : 'hidden-column', text: a.tenant }),
        el('td', { text: a.state }),
        el('td', { text: a.resources.map(resourceText).join('; ') }),
        el('td', { text: new Date(a.createdAt).toLocaleTimeString() }),
      ]),
    ),
  );
}

function renderEvents(view) {
  $('events').replaceChildren(
    ...view.events
      .slice(-100)
      .reverse()
      .map((e) =>
        el('li', { 'data-seq': e.seq, 'data-kind': e.kind, 'data-allocation': e.allocation }, [
          `${new Date(e.at).toLocaleTimeString()} ${e.kind.padEnd(9)} ${e.allocation}`,
          view.viewer.role === 'operator' ? ` (${e.tenant})` : '',
          ` on ${e.adapters.join(', ') || '-'}: ${e.detail}`,
        ]),
      ),
  );
}

function render(view) {
  $('viewer').textContent = `${view.viewer.tenant} (${view.viewer.role} view)`;
  renderLegend(view);
  renderAdapters(view);
  renderAllocations(view);
  renderEvents(view);
  const status = $('status');
  status.textContent = `live, ${new Date(view.at).toLocaleTimeString()}`;
  status.className = 'live';
  document.body.dataset.viewAt = view.at;
}

// --- the stream ----------------------------------------------------------------------------------

let connection;

function setStatus(text, cls) {
  const status = $('status');
  status.textContent = text;
  status.className = cls;
}

function showLogin(message) {
  connection?.abort();
  sessionStorage.removeItem(TOKEN_KEY);
  $('main').hidden = true;
  $('signout').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message ?? '';
  setStatus('not connected', '');
}

/** Splits an event-stream text into complete events; returns them and the unfinished rest. */
function parseEvents(buffer) {
  const events = [];
  const blocks = buffer.split('\n\n');
  const rest = blocks.pop();
  for (const block of blocks) {
    let name = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) name = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length) events.push({ name, data: data.join('\n') });
  }
  return { events, rest };
}

async function follow(token, signal) {
  const res = await fetch('/v1/events/stream', {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    signal,
  });
  if (res.status === 401) {
    showLogin('The GRM did not accept this token. Check it and try again.');
    return false;
  }
  if (!res.ok) throw new Error(`the stream answered HTTP ${res.status}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return true;
    buffer += value;
    const parsed = parseEvents(buffer);
    buffer = parsed.rest;
    for (const e of parsed.events) {
      if (e.name === 'view') render(JSON.parse(e.data));
      else if (e.name === 'problem') setStatus(JSON.parse(e.data).message, 'down');
    }
  }
}

function connect() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return showLogin();
  $('login').hidden = true;
  $('main').hidden = false;
  $('signout').hidden = false;
  connection?.abort();
  const controller = new AbortController();
  connection = controller;
  setStatus('connecting', '');
  follow(token, controller.signal)
    .then((reconnect) => reconnect && !controller.signal.aborted && retry(controller, 'the stream ended'))
    .catch((err) => !controller.signal.aborted && retry(controller, err.message));
}

function retry(controller, why) {
  setStatus(`reconnecting (${why})`, 'down');
  setTimeout(() => connection === controller && connect(), RECONNECT_MS);
}

$('login').addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
  $('token').value = '';
  connect();
});
$('signout').addEventListener('click', () => showLogin());
connect();
