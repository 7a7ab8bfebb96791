// app.js: the phone / desktop app at /. Hash routes, one view at a time;
// live data from api.js events(). Views in this file: torrents, details,
// player, photo viewer. Add, library, channels, shares and settings are in
// app-more.js. Data goes into the page as text only (h() / textContent).

import { api, events, mergeTorrents, onUnauthorized, pairScreen, h, bytes, rate, eta, pct, clock } from './api.js';
import { addView, libraryView, channelsView, sharesView, settingsView } from './app-more.js';

export const state = {
  torrents: new Map(), // id -> torrent (list fields)
  stats: null,
  newItems: 0, // new items in subscriptions (Channels badge)
  pending: 0, // pairing requests waiting (Settings badge)
  loaded: false, // a first torrents answer arrived
  you: null, // GET /api/v1/session: who this browser is (kind, user, name)
  trusted: false, // on the device itself: no sign-in needed, none to end
  photos: [], // the last photo list shown, for the viewer's previous / next
};

const main = document.getElementById('main');
const tabs = document.getElementById('tabs');
let view = null; // {update(kind), destroy()}
let stream = null;

// Icons: 24×24 paths, drawn with currentColor; always aria-hidden (the
// control that holds one carries the name).
const ICONS = {
  torrents: 'M3 5h18v2H3zm0 6h18v2H3zm0 6h18v2H3z',
  add: 'M11 5h2v6h6v2h-6v6h-2v-6H5v-2h6z',
  library: 'M4 4h16v16H4zm2 2v12h12V6zm3 2 7 4-7 4z',
  channels: 'M12 10a2 2 0 1 1 0 4 2 2 0 0 1 0-4zM7.8 7.8l1.4 1.4a4 4 0 0 0 0 5.6l-1.4 1.4a6 6 0 0 1 0-8.4zm8.4 0a6 6 0 0 1 0 8.4l-1.4-1.4a4 4 0 0 0 0-5.6zM5 5l1.4 1.4a8 8 0 0 0 0 11.2L5 19A10 10 0 0 1 5 5zm14 0a10 10 0 0 1 0 14l-1.4-1.4a8 8 0 0 0 0-11.2z',
  shares: 'M18 16a3 3 0 0 0-2.2 1l-7-4a3 3 0 0 0 0-2l7-4A3 3 0 1 0 15 5l-7 4a3 3 0 1 0 0 6l7 4a3 3 0 1 0 3-3z',
  settings: 'M3 6h10v2H3zm14 0h4v2h-4zm-2-2h2v6h-2zM3 16h4v2H3zm8 0h10v2H11zm-2-2h2v6H9z',
  pause: 'M6 5h4v14H6zm8 0h4v14h-4z',
  play: 'M7 4l13 8-13 8z',
  photo: 'M4 5h16v14H4zm2 2v8l4-4 3 3 2-2 3 3V7zm9 1a1.5 1.5 0 1 1 0 3 1.5 1.5 0 0 1 0-3z',
  audio: 'M9 3v11.3A3 3 0 1 0 11 17V7h6V3z',
  document: 'M6 2h8l5 5v15H6zm7 1.5V8h4.5z',
  other: 'M6 2h8l5 5v15H6zm7 1.5V8h4.5z',
  video: 'M3 5h14v14H3zm14 5 4-3v10l-4-3z',
  back: 'M20 11H7.8l5.6-5.6L12 4l-8 8 8 8 1.4-1.4L7.8 13H20z',
};

export function icon(name) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const p = document.createElementNS(ns, 'path');
  p.setAttribute('d', ICONS[name] || ICONS.other);
  svg.append(p);
  return svg;
}

let toastTimer = 0;
export function toast(msg, bad) {
  const el = document.getElementById('toast');
  el.textContent = msg;
  el.className = 'toast show' + (bad ? ' bad' : '');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.className = 'toast'; }, bad ? 6000 : 2500);
}

// act runs an API call from a button: disables it meanwhile, toasts errors.
export async function act(btn, fn, ok) {
  if (btn) btn.disabled = true;
  try {
    const r = await fn();
    if (ok) toast(ok);
    return r;
  } catch (e) {
    if (e.status !== 401) toast(e.message, true);
    return undefined;
  } finally {
    if (btn) btn.disabled = false;
  }
}

// copyText copies to the clipboard; plain http on a LAN is not a secure
// context, so the old execCommand way is the fallback.
export async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      toast('Link copied');
      return;
    }
  } catch { /* fall through */ }
  const ta = h('textarea', { class: 'offscreen', 'aria-hidden': 'true', tabindex: -1, readOnly: true, value: text });
  document.body.append(ta);
  ta.select();
  let ok = false;
  try { ok = document.execCommand('copy'); } catch { ok = false; }
  ta.remove();
  toast(ok ? 'Link copied' : 'Copy it from the field', !ok);
}

// confirmDialog asks a question in a modal <dialog>; extra is an optional
// checkbox label. Resolves to false (cancelled) or {checked}.
export function confirmDialog(title, text, okLabel, extra) {
  return new Promise((resolve) => {
    const box = extra ? h('input', { type: 'checkbox', id: 'dlg-extra' }) : null;
    const dlg = h('dialog', { 'aria-labelledby': 'dlg-title' },
      h('h2', { id: 'dlg-title' }, title),
      h('p', null, text),
      extra ? h('label', { class: 'check', for: 'dlg-extra' }, box, extra) : null,
      h('div', { class: 'actions' },
        h('button', { type: 'button', id: 'dlg-cancel', onclick: () => dlg.close('') }, 'Cancel'),
        h('button', { type: 'button', class: 'primary danger', id: 'dlg-ok', onclick: () => dlg.close('ok') }, okLabel)));
    dlg.addEventListener('close', () => {
      resolve(dlg.returnValue === 'ok' ? { checked: !!box?.checked } : false);
      dlg.remove();
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

export function backButton(href, label) {
  return h('a', { class: 'button back', href, 'aria-label': label || 'Back' }, icon('back'), h('span', null, 'Back'));
}

// ---- media kinds, by extension (the library says the same for indexed files)

const KINDS = {
  video: 'mkv mk3d mp4 m4v mov webm avi ts m2ts mpg mpeg ogv wmv flv 3gp',
  audio: 'mp3 flac ogg oga opus m4a aac wav wma alac aiff',
  photo: 'jpg jpeg png gif webp avif heic heif bmp tif tiff',
  document: 'pdf txt md epub doc docx odt rtf html htm',
};
export function kindOf(path) {
  const ext = String(path).toLowerCase().split('.').pop();
  for (const [k, list] of Object.entries(KINDS)) if (list.split(' ').includes(ext)) return k;
  return 'other';
}

// ---- torrents

const STATES = {
  downloading: 'Downloading', seeding: 'Seeding', checking: 'Checking', metadata: 'Getting file list',
  queued: 'Queued', 'queued-seed': 'Queued to seed', stopped: 'Paused', error: 'Error',
};
export function stateLabel(t) { return t.finished ? 'Finished' : STATES[t.state] || t.state; }

const FILTERS = [
  ['all', 'All', () => true],
  ['downloading', 'Downloading', (t) => ['downloading', 'metadata', 'queued', 'checking'].includes(t.state)],
  ['seeding', 'Seeding', (t) => ['seeding', 'queued-seed'].includes(t.state)],
  ['paused', 'Paused', (t) => t.state === 'stopped'],
  ['error', 'Errors', (t) => t.state === 'error'],
];

function progressBar(label) {
  const fill = h('div');
  const bar = h('div', { class: 'bar', role: 'progressbar', 'aria-label': label, 'aria-valuemin': 0, 'aria-valuemax': 100 }, fill);
  bar.set = (x) => {
    const v = Math.max(0, Math.min(1, Number(x) || 0));
    fill.style.width = (v * 100).toFixed(1) + '%';
    bar.setAttribute('aria-valuenow', String(Math.floor(v * 1000) / 10));
  };
  return bar;
}

function pauseResume(t) {
  const stopped = t.state === 'stopped' || t.state === 'error';
  return { stopped, label: (stopped ? 'Resume ' : 'Pause ') + t.name, path: '/api/v1/torrents/' + t.id + (stopped ? '/resume' : '/pause') };
}

function torrentRow() {
  const name = h('div', { class: 'name' });
  const bar = progressBar('Progress');
  const st = h('span', { class: 'st' });
  const pc = h('span', { class: 'pc' });
  const dn = h('span', { class: 'dn' });
  const up = h('span', { class: 'up' });
  const et = h('span', { class: 'et' });
  const err = h('p', { class: 'err', hidden: true });
  const link = h('a', null, name, bar, h('div', { class: 'meta' }, st, pc, dn, up, et), err);
  const btn = h('button', { type: 'button', class: 'icon toggle' });
  const li = h('li', { class: 'torrent' }, link, btn);
  btn.addEventListener('click', async () => {
    const t = state.torrents.get(Number(li.dataset.id));
    if (!t) return;
    const r = await act(btn, () => api('POST', pauseResume(t).path));
    if (r && r.id) { state.torrents.set(r.id, { ...t, ...r }); li.fill(state.torrents.get(r.id)); }
  });
  li.fill = (t) => {
    li.dataset.id = t.id;
    li.className = 'torrent state-' + t.state;
    link.href = '#torrent/' + t.id;
    name.textContent = t.name || t.infoHash;
    bar.set(t.progress);
    bar.setAttribute('aria-label', 'Progress of ' + (t.name || t.infoHash));
    st.textContent = stateLabel(t);
    pc.textContent = pct(t.progress);
    const active = t.state === 'downloading' || t.state === 'metadata';
    dn.textContent = active || t.downRate ? '↓ ' + rate(t.downRate) : '';
    up.textContent = t.upRate ? '↑ ' + rate(t.upRate) : '';
    et.textContent = active && t.progress < 1 ? 'ETA ' + eta(t.eta) : '';
    err.hidden = !t.error;
    err.textContent = t.error || '';
    const pr = pauseResume(t);
    btn.replaceChildren(icon(pr.stopped ? 'play' : 'pause'));
    btn.setAttribute('aria-label', pr.label);
  };
  return li;
}

function torrentsView() {
  let filter = sessionStorage.getItem('filter') || 'all';
  const seg = h('div', { class: 'seg', role: 'group', 'aria-label': 'Show' });
  const list = h('ul', { class: 'list', id: 'torrent-list' });
  const empty = h('p', { class: 'empty' });
  const rows = new Map();
  const update = () => {
    for (const b of seg.children) b.setAttribute('aria-pressed', String(b.dataset.f === filter));
    const test = FILTERS.find((f) => f[0] === filter)[2];
    const all = [...state.torrents.values()].sort((a, b) => a.queuePos - b.queuePos || a.id - b.id);
    const shown = all.filter(test);
    const keep = new Set();
    let prev = null;
    for (const t of shown) {
      let li = rows.get(t.id);
      if (!li) { li = torrentRow(); rows.set(t.id, li); }
      li.fill(t);
      keep.add(t.id);
      const want = prev ? prev.nextSibling : list.firstChild;
      if (want !== li) list.insertBefore(li, want);
      prev = li;
    }
    for (const [id, li] of rows) if (!keep.has(id)) { li.remove(); rows.delete(id); }
    empty.hidden = shown.length > 0;
    empty.textContent = !state.loaded ? 'Loading…' : all.length === 0 ? 'No torrents yet. Add one with the + tab.' : 'Nothing here.';
  };
  for (const [f, label] of FILTERS) {
    seg.append(h('button', {
      type: 'button', 'data-f': f, onclick: () => { filter = f; sessionStorage.setItem('filter', f); update(); },
    }, label));
  }
  main.replaceChildren(h('div', { class: 'row' }, h('h2', { class: 'grow' }, 'Torrents'),
    h('a', { class: 'button primary', href: '#add' }, icon('add'), 'Add')), seg, list, empty);
  update();
  return { update: (k) => { if (k === 'torrents') update(); } };
}

// peerItem is one row of the details screen's peer list.
function peerItem(p) {
  const from = { tracker: 'tracker', dht: 'DHT', pex: 'peer exchange', incoming: 'connected to us', link: 'peer hint', holepunch: 'hole punch' }[p.source] || 'other';
  return h('li', { class: 'peer' },
    h('span', { class: 'fname' }, p.addr + (p.client ? ' · ' + p.client : '')),
    h('span', { class: 'fmeta' }, '↓ ' + rate(p.downRate) + '  ↑ ' + rate(p.upRate) + ' · has ' + pct(p.progress) + ' · ' + from + (p.utp ? ' · µTP' : '')));
}

function detailsView(id) {
  let t = state.torrents.get(id);
  let lastFiles = 0, timer = 0, peerTimer = 0, gone = false;
  const title = h('h2', { class: 'name', id: 'd-name' });
  const bar = progressBar('Progress');
  const facts = h('dl', { class: 'facts' });
  const err = h('p', { class: 'err', hidden: true });
  const toggle = h('button', { type: 'button', id: 'd-toggle', class: 'primary' });
  const verify = h('button', { type: 'button', id: 'd-verify' }, 'Verify');
  const remove = h('button', { type: 'button', id: 'd-remove', class: 'danger' }, 'Remove');
  const seq = h('input', { type: 'checkbox', id: 'd-seq' });
  const files = h('ul', { class: 'list files', id: 'd-files' });
  const peers = h('dl', { class: 'facts' });
  const peerList = h('ul', { class: 'list', id: 'd-peer-list', 'aria-label': 'Connected peers' });
  const trackers = h('ul', { class: 'list', id: 'd-trackers' });
  const peerIn = h('input', { id: 'd-peer', placeholder: '192.168.1.20:51413', 'aria-label': 'Peer address (host:port)' });
  const fileRows = new Map();

  toggle.addEventListener('click', async () => {
    const r = await act(toggle, () => api('POST', pauseResume(t).path));
    if (r) { t = { ...t, ...r }; state.torrents.set(id, { ...state.torrents.get(id), ...r }); fill(); }
  });
  verify.addEventListener('click', () => act(verify, () => api('POST', '/api/v1/torrents/' + id + '/verify'), 'Checking the data'));
  remove.addEventListener('click', async () => {
    const ok = await confirmDialog('Remove torrent?', '"' + (t.name || t.infoHash) + '" leaves the list.', 'Remove', 'Also delete the downloaded files');
    if (!ok) return;
    const r = await act(remove, () => api('DELETE', '/api/v1/torrents/' + id + (ok.checked ? '?delete_data=true' : '')), 'Removed');
    if (r) { state.torrents.delete(id); location.hash = '#torrents'; }
  });
  seq.addEventListener('change', async () => {
    const r = await act(seq, () => api('PATCH', '/api/v1/torrents/' + id, { options: { sequential: seq.checked } }));
    if (!r) seq.checked = !seq.checked;
  });

  const fact = (dl, k, v) => dl.append(h('dt', null, k), h('dd', null, v));
  const fill = () => {
    if (!t) return;
    document.title = (t.name || 'Torrent') + ' · Hearth';
    title.textContent = t.name || t.infoHash;
    bar.set(t.progress);
    err.hidden = !t.error;
    err.textContent = t.error || '';
    const pr = pauseResume(t);
    toggle.replaceChildren(icon(pr.stopped ? 'play' : 'pause'), pr.stopped ? 'Resume' : 'Pause');
    toggle.setAttribute('aria-label', pr.stopped ? 'Resume' : 'Pause');
    if (t.options) seq.checked = !!t.options.sequential;
    facts.replaceChildren();
    fact(facts, 'State', stateLabel(t));
    fact(facts, 'Progress', pct(t.progress) + ' of ' + bytes(t.wantedSize));
    fact(facts, 'Speed', '↓ ' + rate(t.downRate) + '  ↑ ' + rate(t.upRate));
    if (t.progress < 1 && t.state === 'downloading') fact(facts, 'Time left', eta(t.eta));
    fact(facts, 'Downloaded', bytes(t.downloaded));
    fact(facts, 'Uploaded', bytes(t.uploaded) + ' (ratio ' + (Number(t.ratio) || 0).toFixed(2) + ')');
    fact(facts, 'Size', bytes(t.size) + (t.pieceCount ? ' in ' + t.pieceCount + ' pieces' : ''));
    fact(facts, 'Folder', t.dir || '');
    if (t.addedAt) fact(facts, 'Added', new Date(t.addedAt).toLocaleString());
    peers.replaceChildren();
    fact(peers, 'Connected', String(t.peers || 0) + ' (' + (t.seeds || 0) + ' seeds)');
  };
  // The peers and trackers come from their own endpoints: the torrent
  // objects carry counts only. Peers again every 5 s while shown.
  const loadPeers = async () => {
    try {
      const [p, tr] = await Promise.all([
        api('GET', '/api/v1/torrents/' + id + '/peers'),
        api('GET', '/api/v1/torrents/' + id + '/trackers'),
      ]);
      if (gone) return;
      const list = p.peers || [];
      peerList.replaceChildren(...(list.length ? list.map(peerItem) : [h('li', { class: 'muted' }, t && pauseResume(t).stopped ? 'None while stopped.' : 'None connected yet.')]));
      const trs = tr.trackers || [];
      trackers.replaceChildren(...(trs.length ? trs.map((x) => h('li', { class: 'link' }, x.announce)) : [h('li', { class: 'muted' }, 'None: peers come from the DHT, the LAN and peer hints.')]));
    } catch (e) {
      if (!gone && e.status !== 404) peerList.replaceChildren(h('li', { class: 'muted' }, 'Peers could not be listed: ' + (e.message || e)));
    }
  };
  const fillFiles = (list) => {
    for (const f of list) {
      if (f.path.startsWith('.pad/')) continue; // BEP 47 padding between a channel's files
      let row = fileRows.get(f.index);
      if (!row) {
        const cb = h('input', { type: 'checkbox', id: 'f-' + f.index, class: 'want' });
        const fname = h('span', { class: 'fname' });
        const fmeta = h('span', { class: 'fmeta' });
        const lab = h('label', { class: 'check', for: 'f-' + f.index }, cb, h('span', null, fname, fmeta));
        const kind = kindOf(f.path);
        const play = kind === 'video' || kind === 'audio' || kind === 'photo'
          ? h('a', { class: 'button icon', href: (kind === 'photo' ? '#photo/' : '#play/') + id + '/' + f.index, 'aria-label': (kind === 'photo' ? 'View ' : 'Play ') + f.path }, icon(kind === 'photo' ? 'photo' : 'play'))
          : null;
        cb.addEventListener('change', async () => {
          row.busy = true;
          const r = await act(null, () => api('PATCH', '/api/v1/torrents/' + id, { files: [{ index: f.index, wanted: cb.checked }] }));
          row.busy = false;
          if (!r) cb.checked = !cb.checked;
          else { t = { ...t, ...r }; fill(); if (r.files) fillFiles(r.files); }
        });
        row = { li: h('li', null, lab, play), cb, fname, fmeta, busy: false };
        fileRows.set(f.index, row);
        files.append(row.li);
      }
      row.fname.textContent = f.path;
      row.fmeta.textContent = bytes(f.size) + ' · ' + pct(f.size ? f.done / f.size : 1) + (f.wanted ? '' : ' · skipped');
      if (!row.busy) row.cb.checked = !!f.wanted;
    }
  };
  const load = async () => {
    lastFiles = Date.now();
    try {
      const r = await api('GET', '/api/v1/torrents/' + id);
      if (gone) return;
      t = r;
      fill();
      fillFiles(r.files || []);
      if (!(r.files || []).length) files.replaceChildren(h('li', { class: 'muted' }, r.hasMetadata ? 'No files.' : 'The file list arrives with the metadata.'));
    } catch (e) {
      if (e.status === 404) { main.replaceChildren(backButton('#torrents'), h('p', { class: 'empty' }, 'This torrent is gone.')); gone = true; }
    }
  };

  main.replaceChildren(
    backButton('#torrents', 'Back to torrents'),
    h('section', { class: 'card', 'aria-labelledby': 'd-name' }, title, bar, err,
      h('div', { class: 'actions' }, toggle, verify, remove), facts,
      h('label', { class: 'check', for: 'd-seq' }, seq, 'Download in order (to play while it downloads)')),
    h('section', { class: 'card', 'aria-labelledby': 'd-files-h' }, h('h3', { id: 'd-files-h' }, 'Files'), files),
    h('section', { class: 'card', 'aria-labelledby': 'd-peers-h' }, h('h3', { id: 'd-peers-h' }, 'Peers'), peers, peerList,
      h('form', {
        class: 'row',
        onsubmit: async (ev) => {
          ev.preventDefault();
          const v = peerIn.value.trim();
          if (v && await act(ev.submitter, () => api('POST', '/api/v1/torrents/' + id + '/peers', { peers: [v] }), 'Connecting to ' + v)) peerIn.value = '';
        },
      }, h('div', { class: 'grow' }, peerIn), h('button', { type: 'submit' }, 'Add peer'))),
    h('section', { class: 'card', 'aria-labelledby': 'd-tr-h' }, h('h3', { id: 'd-tr-h' }, 'Trackers'), trackers));
  fill();
  load();
  loadPeers();
  peerTimer = setInterval(loadPeers, 5000);
  return {
    update: (k) => {
      if (k !== 'torrents' || gone) return;
      const s = state.torrents.get(id);
      if (!s) { if (state.loaded) load(); return; }
      const moved = !t || s.progress !== t.progress || s.state !== t.state;
      t = { ...t, ...s };
      fill();
      // Files (with their progress) are not in the events: fetch them when
      // the torrent moved, at most every 3 s, and once more after that.
      if (!moved) return;
      const wait = 3000 - (Date.now() - lastFiles);
      if (wait <= 0) load();
      else if (!timer) timer = setTimeout(() => { timer = 0; if (!gone) load(); }, wait);
    },
    destroy: () => { gone = true; clearTimeout(timer); clearInterval(peerTimer); },
  };
}

// ---- player and photo viewer

function playerView(tid, index) {
  let el = null, timer = 0, sent = 0, dead = false;
  const title = h('h2', { class: 'name', id: 'p-name' }, 'Loading…');
  const info = h('p', { class: 'muted', id: 'p-info' });
  const box = h('div', { class: 'player' });
  const resume = h('p', { class: 'row', hidden: true });
  const vlc = h('button', { type: 'button', id: 'p-link' }, 'Copy link for VLC / mpv');
  const report = (force) => {
    if (!el || !el.duration || !isFinite(el.duration)) return;
    if (!force && Math.abs(el.currentTime - sent) < 1) return;
    sent = el.currentTime;
    // Ignored when it fails (an older daemon has no progress endpoint).
    api('PUT', '/api/v1/library/progress/' + tid + '/' + index, { position: el.currentTime, duration: el.duration }).catch(() => {});
  };
  vlc.addEventListener('click', async () => {
    let url = '/stream/' + tid + '/' + index;
    try { url = (await api('GET', '/api/v1/torrents/' + tid + '/files/' + index + '/stream-url')).url || url; } catch { /* the plain URL needs a login */ }
    copyText(new URL(url, location.href).href);
  });
  main.replaceChildren(backButton('#torrent/' + tid, 'Back to the torrent'),
    h('section', { class: 'card', 'aria-labelledby': 'p-name' }, title, box, resume, info, h('div', { class: 'actions' }, vlc)));
  (async () => {
    let t;
    try { t = await api('GET', '/api/v1/torrents/' + tid); } catch (e) { title.textContent = e.message; return; }
    if (dead) return;
    const f = (t.files || []).find((x) => x.index === index);
    if (!f) { title.textContent = 'No such file'; return; }
    title.textContent = f.path.split('/').pop();
    document.title = title.textContent + ' · Hearth';
    const kind = kindOf(f.path);
    el = h(kind === 'audio' ? 'audio' : 'video', { controls: true, autoplay: true, playsInline: true, preload: 'auto', 'aria-label': title.textContent, id: 'player' });
    el.src = '/stream/' + tid + '/' + index;
    // autoplay waits for "enough data", which a slow download may never
    // give; the user asked to play, so start as soon as a little is there.
    el.addEventListener('canplay', () => { if (el.paused) el.play().catch(() => {}); }, { once: true });
    el.addEventListener('pause', () => report(true));
    el.addEventListener('ended', () => report(true));
    box.append(el);
    const upd = (tt) => {
      const ff = (tt.files || []).find((x) => x.index === index);
      info.textContent = bytes(f.size) + (ff && ff.done < ff.size ? ' · ' + pct(ff.done / ff.size) + ' downloaded, playing while it downloads' : '');
    };
    upd(t);
    info.refresh = async () => { try { upd(await api('GET', '/api/v1/torrents/' + tid)); } catch { /* keep the last */ } };
    timer = setInterval(() => { report(false); if (!el.paused) info.refresh(); }, 10000);
    try {
      const c = await api('GET', '/api/v1/library/continue?limit=50');
      const it = (c.items || []).find((x) => x.torrent === tid && x.index === index);
      if (it && it.position > 5 && !dead) {
        const seek = () => { el.currentTime = it.position; };
        if (el.readyState >= 1) seek(); else el.addEventListener('loadedmetadata', seek, { once: true });
        resume.replaceChildren(h('span', { class: 'grow' }, 'Resumed at ' + clock(it.position)),
          h('button', { type: 'button', onclick: () => { el.currentTime = 0; resume.hidden = true; } }, 'Start over'));
        resume.hidden = false;
      }
    } catch { /* no continue-watching on this daemon */ }
  })();
  return {
    update: () => {},
    destroy: () => { dead = true; report(true); clearInterval(timer); if (el) { el.pause(); el.removeAttribute('src'); el.load(); } },
  };
}

function photoView(tid, index) {
  const list = state.photos;
  const at = list.findIndex((p) => p.torrent === tid && p.index === index);
  const name = at >= 0 ? list[at].name : 'Photo';
  const go = (d) => { const p = list[at + d]; if (p) location.replace('#photo/' + p.torrent + '/' + p.index); };
  const prev = h('button', { type: 'button', id: 'v-prev', disabled: at <= 0, onclick: () => go(-1) }, 'Previous');
  const next = h('button', { type: 'button', id: 'v-next', disabled: at < 0 || at >= list.length - 1, onclick: () => go(1) }, 'Next');
  const key = (ev) => { if (ev.key === 'ArrowLeft') go(-1); else if (ev.key === 'ArrowRight') go(1); };
  document.addEventListener('keydown', key);
  document.title = name + ' · Hearth';
  main.replaceChildren(backButton(at >= 0 ? '#library/photo' : '#torrent/' + tid, 'Back'),
    h('section', { class: 'card viewer', 'aria-labelledby': 'v-name' },
      h('h2', { class: 'name', id: 'v-name' }, name),
      h('img', { src: '/stream/' + tid + '/' + index, alt: name }),
      h('div', { class: 'actions' }, prev, next, h('a', { class: 'button', href: '/stream/' + tid + '/' + index + '?dl=1', download: name }, 'Download'))));
  return { destroy: () => document.removeEventListener('keydown', key) };
}

// ---- shell: tabs, routes, session

const TABS = [
  ['torrents', 'Torrents'], ['add', 'Add'], ['library', 'Library'], ['channels', 'Channels'], ['shares', 'Shares'], ['settings', 'Settings'],
];
const badges = {};

function buildTabs() {
  tabs.replaceChildren(...TABS.map(([id, label]) => {
    badges[id] = h('span', { class: 'badge', hidden: true });
    return h('a', { href: '#' + id, id: 'tab-' + id }, icon(id), h('span', null, label), badges[id]);
  }));
  tabs.hidden = false;
}

export function setBadge(tab, n) {
  const b = badges[tab];
  if (!b) return;
  b.hidden = !n;
  b.textContent = n ? String(n) : '';
  b.setAttribute('aria-label', n + (tab === 'settings' ? ' waiting' : ' new'));
}

function route() {
  const [path, query] = (location.hash.slice(1) || 'torrents').split('?');
  const parts = path.split('/').map((x) => { try { return decodeURIComponent(x); } catch { return x; } });
  const params = new URLSearchParams(query || '');
  if (view && view.destroy) view.destroy();
  view = null;
  const tab = { torrent: 'torrents', play: 'torrents', photo: 'library' }[parts[0]] || parts[0];
  for (const a of tabs.children) {
    if (a.id === 'tab-' + tab) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  document.title = (TABS.find((x) => x[0] === tab) || ['', 'Hearth'])[1] + ' · Hearth';
  const n = (i) => Number(parts[i]);
  switch (parts[0]) {
    case 'torrent': view = detailsView(n(1)); break;
    case 'play': view = playerView(n(1), n(2)); break;
    case 'photo': view = photoView(n(1), n(2)); break;
    case 'add': view = addView(main); break;
    case 'library': view = libraryView(main, parts[1] || 'video', params); break;
    case 'channels': view = channelsView(main); break;
    case 'shares': view = sharesView(main); break;
    case 'settings': view = settingsView(main); break;
    default: view = torrentsView();
  }
  window.scrollTo(0, 0);
  document.getElementById('notice').hidden = !state.pending || tab === 'settings';
}

function notify(kind) { if (view && view.update) view.update(kind); }

function showSpeed() {
  let d = 0, u = 0;
  if (state.stats) { d = state.stats.downRate; u = state.stats.upRate; } else {
    for (const t of state.torrents.values()) { d += t.downRate || 0; u += t.upRate || 0; }
  }
  document.getElementById('speed').textContent = '↓ ' + rate(d) + '  ↑ ' + rate(u);
}

async function refreshBadges() {
  try {
    const s = await api('GET', '/api/v1/subscriptions');
    setBadge('channels', (s.subscriptions || []).reduce((n, x) => n + (x.newItems || 0), 0));
  } catch { /* no channels on this daemon */ }
}

// showPending puts a banner over every screen but Settings while devices
// ask to pair: the owner approves from there, next to the match number.
function showPending(list) {
  state.pending = list.length;
  setBadge('settings', list.length);
  const el = document.getElementById('notice');
  const names = list.map((p) => (p.name || 'A device') + (p.match ? ' (' + p.match + ')' : '')).join(', ');
  el.hidden = !list.length || location.hash === '#settings';
  el.replaceChildren(...(list.length ? [h('span', { class: 'grow' }, names + (list.length > 1 ? ' ask' : ' asks') + ' to pair.'),
    h('a', { class: 'button', href: '#settings' }, 'Review')] : []));
}

function showLogin() {
  if (stream) { stream.close(); stream = null; }
  if (view && view.destroy) view.destroy();
  view = null;
  tabs.hidden = true;
  document.getElementById('speed').textContent = '';
  document.title = 'Sign in · Hearth';
  pairScreen(main, {});
}

function start() {
  buildTabs();
  stream = events({
    torrents: (d) => {
      // A download that finishes may be a channel's new version: its
      // new-items count is not in any event, so ask for it then.
      const finished = !d.full && (d.torrents || []).some((t) => t.progress >= 1 && (state.torrents.get(t.id)?.progress ?? 1) < 1);
      mergeTorrents(state.torrents, d);
      state.loaded = true;
      if (!state.stats) showSpeed();
      if (finished) refreshBadges();
      notify('torrents');
    },
    stats: (s) => { state.stats = s; showSpeed(); },
    channels: () => { refreshBadges(); notify('channels'); },
    library: () => notify('library'),
    pairing: (d) => { showPending(d.pending || []); notify('pairing'); },
  });
  window.addEventListener('hashchange', route);
  route();
  refreshBadges();
  api('GET', '/api/v1/pair').then((r) => showPending(r.requests || [])).catch(() => {});
}

async function boot() {
  onUnauthorized(showLogin);
  try {
    const s = await api('GET', '/api/v1/session');
    state.you = s.you || null;
    state.trusted = !!s.trusted;
  } catch (e) {
    if (e.status === 401) return; // the login screen is up
    if (e.status === 404) {
      // A daemon without browser sessions: any call tells whether we are in.
      try { await api('GET', '/api/v1/version'); } catch (e2) {
        if (e2.status !== 401) main.replaceChildren(h('p', { class: 'empty err' }, e2.message));
        return;
      }
    } else {
      main.replaceChildren(h('p', { class: 'empty err' }, e.message));
      return;
    }
  }
  start();
}

boot();
