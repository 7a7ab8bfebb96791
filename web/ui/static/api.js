// api.js: what the phone app (/) and the TV app (/tv) share. An ES module,
// no dependencies, no build step.
//
//   api(method, path, body?)   JSON request to the daemon; resolves to the parsed
//                              answer ({} when empty). body: object (sent as JSON)
//                              or FormData (multipart). Throws ApiError{status,
//                              message} with the server's one-line "error"
//                              (status 0: the device could not be reached). A 401
//                              also calls the handler set with onUnauthorized(fn).
//   events(handlers)           one EventSource on /api/v1/events; handlers by event
//                              name: torrents, stats, channels, library, pairing,
//                              and mode(m) with "events" or "poll". Without the
//                              stream (404, or failing repeatedly) it polls
//                              GET /api/v1/torrents every 2 s and hands the answer
//                              to torrents as {torrents, removed: [], full: true}.
//                              Returns {close()}.
//   mergeTorrents(map, data)   applies a torrents event to a Map id -> torrent.
//   pairScreen(el, {name, pair}) the login / pairing screen shown on 401: password
//                              form, or "Pair this device" (match number, 6-digit
//                              code, waits for approval); reloads when signed in.
//                              Keyboard only works (Tab/arrows, Enter). pair: true
//                              starts on pairing (a TV has no keyboard).
//   h(tag, props, ...children) builds DOM; strings become text nodes, never HTML.
//   bytes(n) rate(n) eta(s) dur(s) pct(x)  formatting.
//
// Data from the daemon (file names!) is only ever put in the page with
// textContent / text nodes: nothing here builds HTML from strings.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

let unauthorized = null;

// onUnauthorized sets what happens when the API answers 401 (show pairScreen).
export function onUnauthorized(fn) { unauthorized = fn; }

async function request(method, path, body, notify) {
  const init = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'cannot reach the device (' + e.message + ')');
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const msg = (data && typeof data.error === 'string') ? data.error : res.status + ' ' + res.statusText;
    if (res.status === 401 && notify && unauthorized) unauthorized(msg);
    throw new ApiError(res.status, msg);
  }
  return data ?? {};
}

export function api(method, path, body) { return request(method, path, body, true); }

export function mergeTorrents(map, data) {
  if (data.full) map.clear();
  for (const t of data.torrents || []) map.set(t.id, t);
  for (const id of data.removed || []) map.delete(id);
  return map;
}

const NAMES = ['torrents', 'stats', 'channels', 'library', 'pairing'];

export function events(handlers) {
  let es = null, timer = 0, closed = false, failures = 0;
  const call = (name, data) => { if (handlers[name]) handlers[name](data); };
  const poll = async () => {
    if (closed) return;
    try {
      const d = await api('GET', '/api/v1/torrents');
      call('torrents', { torrents: d.torrents || [], removed: [], full: true });
    } catch (e) {
      if (e.status === 401) return; // the login screen takes over
    }
    if (!closed) timer = setTimeout(poll, 2000);
  };
  const fallback = () => {
    if (es) { es.close(); es = null; }
    call('mode', 'poll');
    poll();
  };
  if (typeof EventSource !== 'function') {
    fallback();
  } else {
    es = new EventSource('/api/v1/events');
    for (const n of NAMES) {
      es.addEventListener(n, (ev) => {
        let data = {};
        try { data = JSON.parse(ev.data || '{}'); } catch { return; }
        call(n, data);
      });
    }
    es.onopen = () => { failures = 0; call('mode', 'events'); };
    es.onerror = () => {
      // CLOSED: the answer was not a stream (404 before the endpoint
      // existed, 401). CONNECTING: the browser retries by itself; give up
      // after a few failures in a row.
      if (!es || es.readyState === EventSource.CLOSED || ++failures >= 3) fallback();
    };
  }
  return { close() { closed = true; clearTimeout(timer); if (es) es.close(); } };
}

// h builds an element. props: class, text, on* listeners (onclick: fn),
// aria-*/data-*/role and other attributes, and DOM properties (value,
// checked, disabled, type…). children: nodes, strings (text), arrays, null.
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false && !(k in el)) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k.includes('-') || k === 'role' || k === 'for' || !(k in el)) el.setAttribute(k, v === true ? '' : String(v));
    else el[k] = v;
  }
  append(el, children);
  return el;
}

function append(el, kids) {
  for (const c of kids) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// Sizes in SI units, as the API's kB/s limits (1 kB = 1000 bytes).
export function bytes(n) {
  n = Number(n) || 0;
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (Math.abs(n) >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return (i === 0 ? String(Math.round(n)) : n.toFixed(n < 10 ? 1 : 0)) + ' ' + units[i];
}

export function rate(n) { return bytes(n) + '/s'; }

// dur: seconds as "1h 05m", "4m 10s", "12s".
export function dur(s) {
  s = Math.max(0, Math.round(Number(s) || 0));
  const d = Math.floor(s / 86400), hh = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60), sec = s % 60;
  const p2 = (x) => String(x).padStart(2, '0');
  if (d) return d + 'd ' + hh + 'h';
  if (hh) return hh + 'h ' + p2(m) + 'm';
  if (m) return m + 'm ' + p2(sec) + 's';
  return sec + 's';
}

// eta: the API's seconds, -1 when unknown.
export function eta(s) { return s === undefined || s === null || s < 0 ? '∞' : dur(s); }

export function pct(x) { return (Math.floor((Number(x) || 0) * 1000) / 10).toFixed(1) + ' %'; }

// clock: seconds as a player position, "1:02:03" or "2:03".
export function clock(s) {
  s = Math.max(0, Math.floor(Number(s) || 0));
  const hh = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), sec = s % 60;
  const p2 = (x) => String(x).padStart(2, '0');
  return (hh ? hh + ':' + p2(m) : String(m)) + ':' + p2(sec);
}

// pairScreen replaces el's content with the sign-in screen.
export function pairScreen(el, opts = {}) {
  const name = opts.name || defaultName();
  let stop = () => {};
  const msg = h('p', { class: 'pair-msg', role: 'alert' });
  const fail = (e) => { msg.textContent = e.message || String(e); };
  const done = () => { stop(); location.reload(); };

  const showLogin = () => {
    stop();
    const user = h('input', { id: 'pair-user', name: 'user', autocomplete: 'username', value: 'admin', 'aria-label': 'User name' });
    const pass = h('input', { id: 'pair-pass', name: 'password', type: 'password', autocomplete: 'current-password', required: true, 'aria-label': 'Password' });
    const form = h('form', {
      class: 'pair-form',
      onsubmit: async (ev) => {
        ev.preventDefault();
        msg.textContent = 'Signing in…';
        try {
          await request('POST', '/api/v1/session', { user: user.value, password: pass.value }, false);
          done();
        } catch (e) {
          fail(e.status === 401 ? new Error('Wrong user name or password.') : e);
          pass.select();
        }
      },
    },
    h('label', { for: 'pair-user' }, 'User name'), user,
    h('label', { for: 'pair-pass' }, 'Password'), pass,
    h('button', { type: 'submit', class: 'primary', id: 'pair-login' }, 'Log in'));
    el.replaceChildren(h('section', { class: 'pair', 'aria-labelledby': 'pair-title' },
      h('h1', { id: 'pair-title' }, 'Sign in to Hearth'),
      form,
      h('p', null, 'No password? Pair this device instead: the owner approves it from a signed-in phone or PC, or with the code from "hearth pair".'),
      h('button', { type: 'button', id: 'pair-start', onclick: showPair }, 'Pair this device'),
      msg));
    pass.focus();
  };

  const showPair = async () => {
    stop();
    msg.textContent = 'Asking the device…';
    let ticket;
    try {
      ticket = await request('POST', '/api/v1/pair', { name }, false);
    } catch (e) {
      el.replaceChildren(h('section', { class: 'pair' }, h('h1', null, 'Pairing'), msg,
        h('button', { type: 'button', id: 'pair-back', onclick: showLogin }, 'Back')));
      fail(e);
      el.querySelector('#pair-back').focus();
      return;
    }
    msg.textContent = '';
    let busy = false, timer = 0, live = true, queued = null;
    stop = () => { live = false; clearTimeout(timer); };
    const finish = async (body) => {
      if (!live) return;
      if (busy) { if (body.code) queued = body; return; } // a code typed during a poll goes next
      busy = true;
      try {
        const r = await request('POST', '/api/v1/pair/' + encodeURIComponent(ticket.id), body, false);
        if (r.token) {
          stop();
          await request('POST', '/api/v1/session', { token: r.token }, false);
          done();
          return;
        }
      } catch (e) {
        if (e.status === 404 || e.status === 410) { stop(); msg.textContent = 'The request expired or was denied. Start again.'; return; }
        fail(e);
      } finally { busy = false; }
      if (live && queued) { const q = queued; queued = null; finish(q); return; }
      if (live) timer = setTimeout(() => finish({ secret: ticket.secret }), 2000);
    };
    const code = h('input', { id: 'pair-code', inputmode: 'numeric', autocomplete: 'one-time-code', maxLength: 6, pattern: '[0-9]{6}', 'aria-label': '6-digit code' });
    const match = ticket.match ? String(ticket.match) : '';
    el.replaceChildren(h('section', { class: 'pair', 'aria-labelledby': 'pair-title' },
      h('h1', { id: 'pair-title' }, 'Pair this device'),
      match ? h('p', null, 'Match number') : null,
      match ? h('p', { class: 'pair-match', id: 'pair-match', 'aria-label': 'Match number ' + match.split('').join(' ') }, match) : null,
      h('p', null, 'On a phone or PC signed in to Hearth, open Settings and approve the request from "' + name + '"' +
        (match ? ' showing ' + match : '') + '. Or run "hearth pair" on the device and enter its 6-digit code here.'),
      h('form', {
        class: 'pair-form',
        onsubmit: (ev) => {
          ev.preventDefault();
          clearTimeout(timer);
          msg.textContent = 'Checking the code…';
          finish({ secret: ticket.secret, code: code.value.trim() });
        },
      }, h('label', { for: 'pair-code' }, 'Code from "hearth pair"'), code,
      h('button', { type: 'submit', class: 'primary', id: 'pair-send' }, 'Pair')),
      h('p', { class: 'pair-wait' }, 'Waiting for approval…'),
      h('button', { type: 'button', id: 'pair-back', onclick: showLogin }, 'Use a password instead'),
      msg));
    code.focus();
    timer = setTimeout(() => finish({ secret: ticket.secret }), 2000);
  };

  if (opts.pair) showPair(); else showLogin();
  return { close() { stop(); } };
}

function defaultName() {
  const ua = navigator.userAgent;
  const browser = /Edg\//.test(ua) ? 'Edge' : /Chrom/.test(ua) ? 'Chromium' : /Firefox/.test(ua) ? 'Firefox' : /Safari/.test(ua) ? 'Safari' : 'Browser';
  const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Windows/.test(ua) ? 'Windows' : /Mac OS/.test(ua) ? 'macOS' : /Linux/.test(ua) ? 'Linux' : '';
  return browser + (os ? ' on ' + os : '');
}
