// app-more.js: the phone app's other screens: add, library, channels,
// shares, settings. Each view function fills main and returns
// {update(kind), destroy()}; app.js routes to them.

import { api, h, bytes, clock } from './api.js';
import { state, icon, toast, act, copyText, confirmDialog, setBadge } from './app.js';

const section = (id, title, ...kids) => h('section', { class: 'card', 'aria-labelledby': id }, h('h3', { id }, title), ...kids);
const field = (id, label, input) => [h('label', { for: id }, label), input];
const when = (d) => (d ? new Date(d).toLocaleString() : '');

// ---- add

export function addView(main) {
  const link = h('textarea', { id: 'add-link', rows: 3, placeholder: 'magnet:?xt=urn:btih:…, a channel link, or https://…/file.torrent', autocomplete: 'off', spellcheck: false });
  const file = h('input', { type: 'file', id: 'add-file', accept: '.torrent,application/x-bittorrent' });
  const paused = h('input', { type: 'checkbox', id: 'add-paused' });
  const dir = h('input', { id: 'add-dir', placeholder: 'Default download folder', autocomplete: 'off' });
  const submit = h('button', { type: 'submit', class: 'primary', id: 'add-submit' }, icon('add'), 'Add');
  const msg = h('p', { class: 'err', role: 'alert' });
  api('GET', '/api/v1/settings').then((s) => { if (s.downloadDir) dir.placeholder = s.downloadDir; }).catch(() => {});
  const form = h('form', {
    class: 'card',
    onsubmit: async (ev) => {
      ev.preventDefault();
      msg.textContent = '';
      const text = link.value.trim();
      let body;
      if (file.files.length) {
        body = new FormData();
        body.append('torrent', file.files[0]);
        if (dir.value.trim()) body.append('dir', dir.value.trim());
        if (paused.checked) body.append('paused', 'true');
      } else if (text) {
        body = /^https?:\/\//i.test(text) ? { url: text } : { magnet: text };
        if (dir.value.trim()) body.dir = dir.value.trim();
        if (paused.checked && !/xs=urn:btpk:/i.test(text)) body.paused = true;
      } else {
        msg.textContent = 'Paste a link or choose a .torrent file.';
        link.focus();
        return;
      }
      submit.disabled = true;
      try {
        const r = await api('POST', '/api/v1/torrents', body);
        link.value = '';
        file.value = '';
        if (r.subscription) {
          toast('Subscribed to ' + (r.name || 'the channel'));
          location.hash = '#channels';
        } else {
          toast(r.existed ? 'Already there: ' + r.name : 'Added ' + (r.name || ''));
          if (r.id) state.torrents.set(r.id, { ...(state.torrents.get(r.id) || {}), ...r });
          location.hash = '#torrents';
        }
      } catch (e) {
        msg.textContent = e.message;
      } finally {
        submit.disabled = false;
      }
    },
  },
  ...field('add-link', 'Magnet link, channel link or URL', link),
  ...field('add-file', 'Or a .torrent file', file),
  ...field('add-dir', 'Download folder', dir),
  h('label', { class: 'check', for: 'add-paused' }, paused, 'Add paused'),
  h('div', { class: 'actions' }, submit), msg);
  main.replaceChildren(h('h2', null, 'Add'), form);
  link.focus();
  return {};
}

// ---- library

const LIB_KINDS = [['video', 'Videos'], ['audio', 'Music'], ['photo', 'Photos'], ['document', 'Documents']];

function thumb(it) {
  const img = h('img', { alt: '', loading: 'lazy', decoding: 'async' });
  img.addEventListener('error', () => img.replaceWith(h('span', { class: 'ph' }, icon('photo'))), { once: true });
  img.src = '/api/v1/library/thumb/' + it.torrent + '/' + it.index + '?size=small';
  return img;
}

function itemMeta(it) {
  const bits = [bytes(it.size)];
  if (it.duration) bits.push(clock(it.duration / 1e9));
  if (it.width) bits.push(it.width + '×' + it.height);
  if (!it.complete) bits.push('downloading');
  return bits.join(' · ');
}

export function libraryView(main, kind, params) {
  if (!LIB_KINDS.some((k) => k[0] === kind)) kind = 'video';
  const channel = params.get('channel') || '';
  let q = params.get('q') || '', cursor = '', items = [], seq = 0, timer = 0;
  const seg = h('div', { class: 'seg', role: 'group', 'aria-label': 'Kind' },
    LIB_KINDS.map(([k, label]) => h('button', {
      type: 'button', 'aria-pressed': String(k === kind),
      onclick: () => location.replace('#library/' + k + (channel ? '?channel=' + encodeURIComponent(channel) : '')),
    }, label)));
  const search = h('input', { type: 'search', id: 'lib-q', value: q, placeholder: 'Search by name', 'aria-label': 'Search the library', autocomplete: 'off' });
  const list = h('ul', { class: kind === 'photo' ? 'thumbs' : 'items', id: 'lib-items' });
  const more = h('button', { type: 'button', id: 'lib-more', hidden: true }, 'Show more');
  const empty = h('p', { class: 'empty' }, 'Loading…');
  const cont = h('div', { id: 'lib-continue' });

  const render = (page, append) => {
    if (!append) { list.replaceChildren(); items = []; }
    items = items.concat(page.items || []);
    if (kind === 'photo') state.photos = items;
    for (const it of page.items || []) {
      if (kind === 'photo') {
        list.append(h('li', null, h('button', {
          type: 'button', class: 'open', 'aria-label': it.name,
          onclick: () => { location.hash = '#photo/' + it.torrent + '/' + it.index; },
        }, thumb(it))));
      } else {
        const kid = [icon(kind), h('span', null, h('span', { class: 'name' }, it.name), h('span', { class: 'fmeta' }, itemMeta(it)))];
        const a = kind === 'document'
          ? h('a', { href: '/stream/' + it.torrent + '/' + it.index, target: '_blank', rel: 'noopener' }, kid)
          : h('a', { href: '#play/' + it.torrent + '/' + it.index }, kid);
        list.append(h('li', { class: 'item' }, a));
      }
    }
    cursor = page.next || '';
    more.hidden = !cursor;
    empty.hidden = items.length > 0;
    empty.textContent = q ? 'Nothing matches "' + q + '".' : 'Nothing here yet.';
  };
  const load = async (append) => {
    const my = ++seq;
    const p = new URLSearchParams({ kind, limit: kind === 'photo' ? '60' : '40' });
    if (q) p.set('q', q);
    if (channel) p.set('channel', channel);
    if (append && cursor) p.set('cursor', cursor);
    try {
      const page = await api('GET', '/api/v1/library?' + p);
      if (my === seq) render(page, append);
    } catch (e) {
      if (my === seq) { empty.hidden = false; empty.textContent = e.status === 404 ? 'This device has no media library.' : e.message; }
    }
  };
  const loadContinue = async () => {
    if (kind !== 'video' && kind !== 'audio') return;
    try {
      const c = await api('GET', '/api/v1/library/continue?limit=10');
      const its = (c.items || []).filter((it) => it.kind === kind);
      cont.replaceChildren(...(its.length ? [h('h3', null, 'Continue'), h('ul', { class: 'items' }, its.map((it) => h('li', { class: 'item' },
        h('a', { href: '#play/' + it.torrent + '/' + it.index, 'aria-label': 'Continue ' + it.name + ' at ' + clock(it.position) },
          icon('play'), h('span', null, h('span', { class: 'name' }, it.name), h('span', { class: 'fmeta' }, clock(it.position) + ' of ' + clock(it.duration)))))))] : []));
    } catch { /* an older daemon */ }
  };
  search.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(() => { q = search.value.trim(); load(false); }, 250); });
  more.addEventListener('click', () => load(true));
  main.replaceChildren(h('h2', null, channel ? 'Library: ' + channel : 'Library'), seg,
    h('div', { class: 'row' }, h('div', { class: 'grow' }, search)), cont, list, empty, more);
  load(false);
  loadContinue();
  // The index changes often while files download: refresh at most every
  // 3 s, and not under a user who has paged further down.
  let later = 0;
  return {
    update: (k) => {
      if (k !== 'library' || later || items.length > (kind === 'photo' ? 60 : 40)) return;
      later = setTimeout(() => { later = 0; load(false); loadContinue(); }, 3000);
    },
    destroy: () => { clearTimeout(timer); clearTimeout(later); },
  };
}

// ---- channels

export function channelsView(main) {
  const mine = h('ul', { class: 'list', id: 'ch-mine' });
  const subs = h('ul', { class: 'list', id: 'ch-subs' });
  const newName = h('input', { id: 'ch-new', placeholder: 'Family photos', autocomplete: 'off' });
  const subLink = h('input', { id: 'ch-link', placeholder: 'magnet:?xs=urn:btpk:…', autocomplete: 'off', spellcheck: false });
  const open = new Set(); // channels whose "add items" form is open

  const channelRow = (c) => {
    const path = '/api/v1/channels/' + encodeURIComponent(c.name);
    const items = h('input', { id: 'ch-items-' + c.publicKey.slice(0, 8), placeholder: '/srv/photos/2026/beach.jpg', autocomplete: 'off', 'aria-label': 'Files or folders on the device for ' + c.name + ' (one per line or comma separated)' });
    const addForm = h('form', {
      class: 'row', hidden: !open.has(c.name),
      onsubmit: async (ev) => {
        ev.preventDefault();
        const paths = items.value.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
        if (!paths.length) return;
        const r = await act(ev.submitter, () => api('POST', path + '/items', { paths }));
        if (r) { toast('Added ' + (r.added || []).length + ' item(s); publish to send them'); items.value = ''; load(); }
      },
    }, h('div', { class: 'grow' }, items), h('button', { type: 'submit' }, 'Add'));
    // items and bytes describe the last published version.
    const status = c.version ? ['version ' + c.version, c.items + ' items', bytes(c.bytes)] : ['not published yet'];
    if (c.changed) status.push('changes not published');
    return h('li', { class: 'card' },
      h('div', { class: 'name' }, c.name),
      h('div', { class: 'meta' }, status.join(' · ')),
      c.error ? h('p', { class: 'err' }, c.error) : null,
      h('div', { class: 'actions' },
        h('button', {
          type: 'button', 'aria-label': 'Add items to ' + c.name, 'aria-expanded': String(open.has(c.name)),
          onclick: (ev) => { if (open.has(c.name)) open.delete(c.name); else open.add(c.name); addForm.hidden = !open.has(c.name); ev.currentTarget.setAttribute('aria-expanded', String(!addForm.hidden)); if (!addForm.hidden) items.focus(); },
        }, 'Add items'),
        h('button', { type: 'button', class: c.changed || !c.version ? 'primary' : '', 'aria-label': 'Publish ' + c.name, onclick: (ev) => act(ev.currentTarget, () => api('POST', path + '/publish'), 'Published').then((r) => r && load()) }, 'Publish'),
        h('button', { type: 'button', 'aria-label': 'Copy the link of ' + c.name, onclick: () => copyText(c.link) }, 'Copy link'),
        h('button', {
          type: 'button', 'aria-label': 'Share ' + c.name + ' as a web page',
          onclick: (ev) => act(ev.currentTarget, () => api('POST', '/api/v1/shares', { channel: c.name, label: c.name }), 'Share created').then((r) => { if (r) location.hash = '#shares'; }),
        }, 'Share'),
        h('a', { class: 'button', href: '#library/photo?channel=' + encodeURIComponent(c.name), 'aria-label': 'Browse ' + c.name }, 'Browse')),
      h('input', { class: 'link', readOnly: true, value: c.link, 'aria-label': 'Link of ' + c.name }),
      addForm);
  };
  const subRow = (s) => {
    const path = '/api/v1/subscriptions/' + encodeURIComponent(s.id);
    const status = [s.state, s.version ? 'version ' + s.version : '', s.items ? s.items + ' items' : '', s.bytes ? bytes(s.done) + ' of ' + bytes(s.bytes) : ''].filter(Boolean);
    return h('li', { class: 'card' },
      h('div', { class: 'row' }, h('span', { class: 'name grow' }, s.name || s.publicKey.slice(0, 16)),
        s.newItems ? h('span', { class: 'badge', 'aria-label': s.newItems + ' new items' }, String(s.newItems)) : null),
      h('div', { class: 'meta' }, status.join(' · ')),
      s.newItems && s.newPaths ? h('ul', { class: 'meta' }, s.newPaths.slice(0, 5).map((p) => h('li', null, p))) : null,
      s.error ? h('p', { class: 'err' }, s.error) : null,
      h('div', { class: 'actions' },
        h('a', { class: 'button', href: '#library/photo?channel=' + encodeURIComponent(s.name), 'aria-label': 'Browse ' + s.name }, 'Browse'),
        s.newItems ? h('button', { type: 'button', 'aria-label': 'Mark ' + s.name + ' as seen', onclick: (ev) => act(ev.currentTarget, () => api('POST', path + '/seen')).then((r) => r && load()) }, 'Mark seen') : null,
        h('button', { type: 'button', 'aria-label': 'Check ' + s.name + ' for a new version', onclick: (ev) => act(ev.currentTarget, () => api('POST', path + '/check'), 'Checking') }, 'Check now'),
        h('button', {
          type: 'button', class: 'danger', 'aria-label': 'Unsubscribe from ' + s.name,
          onclick: async (ev) => {
            const ok = await confirmDialog('Unsubscribe?', 'You stop following "' + s.name + '".', 'Unsubscribe', 'Also delete its downloaded files');
            if (ok && await act(ev.target, () => api('DELETE', path + (ok.checked ? '?delete_data=true' : '')), 'Unsubscribed')) load();
          },
        }, 'Unsubscribe')));
  };
  let seq = 0, again = 0, gone = false;
  const load = async () => {
    const my = ++seq; // an event and an action may load at once: keep the newest
    try {
      const [c, s] = await Promise.all([api('GET', '/api/v1/channels'), api('GET', '/api/v1/subscriptions')]);
      if (my !== seq) return;
      mine.replaceChildren(...(c.channels || []).map(channelRow));
      if (!(c.channels || []).length) mine.append(h('li', { class: 'muted' }, 'No channels yet.'));
      const ss = s.subscriptions || [];
      subs.replaceChildren(...ss.map(subRow));
      if (!ss.length) subs.append(h('li', { class: 'muted' }, 'Not following any channel.'));
      setBadge('channels', ss.reduce((n, x) => n + (x.newItems || 0), 0));
      // The channels event does not cover every step of a subscription
      // (fetching → downloading → synced): look again while one is busy.
      clearTimeout(again);
      if (!gone && ss.some((x) => ['waiting', 'looking', 'fetching', 'downloading'].includes(x.state))) again = setTimeout(load, 3000);
    } catch (e) {
      mine.replaceChildren(h('li', { class: 'err' }, e.status === 404 || e.status === 503 ? 'This device has no channels.' : e.message));
    }
  };
  main.replaceChildren(h('h2', null, 'Channels'),
    section('ch-mine-h', 'My channels', mine,
      h('form', {
        class: 'row',
        onsubmit: async (ev) => {
          ev.preventDefault();
          const name = newName.value.trim();
          if (name && await act(ev.submitter, () => api('POST', '/api/v1/channels', { name }), 'Channel created')) { newName.value = ''; open.add(name); load(); }
        },
      }, h('div', { class: 'grow' }, h('label', { for: 'ch-new' }, 'New channel'), newName), h('button', { type: 'submit', class: 'primary' }, 'Create'))),
    section('ch-subs-h', 'Following', subs,
      h('form', {
        class: 'row',
        onsubmit: async (ev) => {
          ev.preventDefault();
          const link = subLink.value.trim();
          if (link && await act(ev.submitter, () => api('POST', '/api/v1/subscriptions', { link }), 'Subscribed')) { subLink.value = ''; load(); }
        },
      }, h('div', { class: 'grow' }, h('label', { for: 'ch-link' }, 'Follow a channel by its link'), subLink), h('button', { type: 'submit', class: 'primary' }, 'Subscribe'))));
  load();
  return {
    update: (k) => { if (k === 'channels') load(); },
    destroy: () => { gone = true; clearTimeout(again); },
  };
}

// ---- shares

const EXPIRY = [['7d', '1 week'], ['1d', '1 day'], ['30d', '30 days'], ['', 'Never']];

export function sharesView(main) {
  const list = h('ul', { class: 'list', id: 'sh-list' });
  const src = h('select', { id: 'sh-src' });
  const label = h('input', { id: 'sh-label', placeholder: 'Holiday photos', autocomplete: 'off' });
  const exp = h('select', { id: 'sh-exp' }, EXPIRY.map(([v, t]) => h('option', { value: v }, t)));
  const fillSources = async () => {
    const opts = [...state.torrents.values()].map((t) => h('option', { value: 't' + t.id }, 'Torrent: ' + t.name));
    try {
      const c = await api('GET', '/api/v1/channels');
      for (const ch of c.channels || []) opts.push(h('option', { value: 'c' + ch.name }, 'Channel: ' + ch.name));
    } catch { /* no channels */ }
    src.replaceChildren(...opts);
    if (!opts.length) src.append(h('option', { value: '' }, 'Nothing to share yet'));
  };
  const row = (s) => {
    const first = (s.links || [])[0];
    const qr = h('img', { class: 'qr', alt: 'QR code of the link to ' + (s.label || s.id), hidden: true });
    const what = s.channel ? 'Channel ' + s.channel : 'Torrent ' + ((state.torrents.get(s.torrentId) || {}).name || s.torrentId);
    const bits = [s.status, what, s.downloads + ' downloads' + (s.maxDownloads ? ' of ' + s.maxDownloads : '')];
    if (s.expiresAt) bits.push('until ' + when(s.expiresAt));
    const active = s.status === 'active';
    return h('li', { class: 'card' },
      h('div', { class: 'name' }, s.label || what),
      h('div', { class: 'meta' }, bits.join(' · ')),
      first ? h('input', { class: 'link', readOnly: true, value: first.url, 'aria-label': 'Link of ' + (s.label || what) }) : null,
      qr,
      h('div', { class: 'actions' },
        active && first ? h('button', { type: 'button', 'aria-label': 'Copy the link of ' + (s.label || what), onclick: () => copyText(first.url) }, 'Copy link') : null,
        active ? h('button', {
          type: 'button', 'aria-expanded': 'false', 'aria-label': 'QR code of ' + (s.label || what),
          onclick: (ev) => { if (!qr.src) qr.src = '/api/v1/shares/' + encodeURIComponent(s.id) + '/qr.png?size=256'; qr.hidden = !qr.hidden; ev.currentTarget.setAttribute('aria-expanded', String(!qr.hidden)); },
        }, 'QR code') : null,
        active && navigator.share && first ? h('button', { type: 'button', 'aria-label': 'Send ' + (s.label || what), onclick: () => navigator.share({ title: s.label || what, url: first.url }).catch(() => {}) }, 'Send') : null,
        active ? h('button', {
          type: 'button', class: 'danger', 'aria-label': 'Revoke ' + (s.label || what),
          onclick: async (ev) => {
            const ok = await confirmDialog('Revoke this link?', 'Anyone who has it can no longer open it.', 'Revoke');
            if (ok && await act(ev.target, () => api('DELETE', '/api/v1/shares/' + encodeURIComponent(s.id)), 'Revoked')) load();
          },
        }, 'Revoke') : null));
  };
  let seq = 0;
  const load = async () => {
    const my = ++seq;
    try {
      const r = await api('GET', '/api/v1/shares');
      if (my !== seq) return;
      const ss = r.shares || [];
      list.replaceChildren(...(ss.length ? ss.map(row) : [h('li', { class: 'muted' }, 'No shares yet.')]));
    } catch (e) {
      list.replaceChildren(h('li', { class: 'err' }, e.status === 503 ? 'This device has no share links.' : e.message));
    }
  };
  main.replaceChildren(h('h2', null, 'Shares'),
    h('p', { class: 'muted' }, 'A share is a web page with a link that people without Hearth can open.'),
    h('form', {
      class: 'card',
      onsubmit: async (ev) => {
        ev.preventDefault();
        const v = src.value;
        if (!v) return;
        const body = v[0] === 't' ? { torrentId: Number(v.slice(1)) } : { channel: v.slice(1) };
        if (label.value.trim()) body.label = label.value.trim();
        if (exp.value) body.expiresIn = exp.value;
        if (await act(ev.submitter, () => api('POST', '/api/v1/shares', body), 'Share created')) { label.value = ''; load(); }
      },
    }, h('h3', null, 'New share'), ...field('sh-src', 'What', src), ...field('sh-label', 'Label', label), ...field('sh-exp', 'Expires', exp),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', id: 'sh-create' }, 'Create link'))),
    list);
  fillSources();
  load();
  return {};
}

// ---- settings

const num = (id, label, v) => [h('label', { for: id }, label), h('input', { type: 'number', id, min: 0, step: 1, inputmode: 'numeric', value: String(v ?? 0) })];

export function settingsView(main) {
  const pairs = h('ul', { class: 'list', id: 'set-pairs' });
  const devices = h('ul', { class: 'list', id: 'set-devices' });
  const about = h('dl', { class: 'facts', id: 'set-about' });
  const limits = h('form', { class: 'card', id: 'set-limits' }, h('p', { class: 'muted' }, 'Loading…'));
  const pwUser = h('input', { id: 'set-user', autocomplete: 'username', value: 'admin' });
  const pw1 = h('input', { type: 'password', id: 'set-pw1', autocomplete: 'new-password', minLength: 8 });
  const pw2 = h('input', { type: 'password', id: 'set-pw2', autocomplete: 'new-password', minLength: 8 });
  const g = (id) => limits.querySelector('#' + id);

  const loadLimits = async () => {
    let s;
    try { s = await api('GET', '/api/v1/settings'); } catch (e) { limits.replaceChildren(h('p', { class: 'err' }, e.message)); return; }
    const check = (id, label, v) => h('label', { class: 'check', for: id }, h('input', { type: 'checkbox', id, checked: !!v }), label);
    const time = (id, label, v) => [h('label', { for: id }, label), h('input', { type: 'time', id, value: v || '' })];
    limits.replaceChildren(h('h3', null, 'Speed limits'), h('p', { class: 'muted' }, 'kB/s; 0 means unlimited.'),
      h('div', { class: 'grid2' }, h('div', null, ...num('set-down', 'Download', s.downloadKBps)), h('div', null, ...num('set-up', 'Upload', s.uploadKBps))),
      h('h3', null, 'Alternative limits'),
      h('div', { class: 'grid2' }, h('div', null, ...num('set-adown', 'Download', s.altDownloadKBps)), h('div', null, ...num('set-aup', 'Upload', s.altUploadKBps))),
      check('set-alt', 'Use the alternative limits now', s.altEnabled),
      check('set-sched', 'Switch them on by schedule', s.altScheduled),
      h('div', { class: 'grid2' }, h('div', null, ...time('set-begin', 'From', s.altBegin)), h('div', null, ...time('set-end', 'To', s.altEnd))),
      h('label', { for: 'set-days' }, 'Days'), h('input', { id: 'set-days', value: s.altDays || '', placeholder: 'all, weekdays, weekend, mon,tue…', autocomplete: 'off' }),
      h('h3', null, 'Queue'),
      h('div', { class: 'grid2' }, h('div', null, ...num('set-maxd', 'Downloads at once', s.maxDownloads)), h('div', null, ...num('set-maxs', 'Seeding at once', s.maxSeeds))),
      h('label', { for: 'set-dir' }, 'Download folder'), h('input', { id: 'set-dir', value: s.downloadDir || '', autocomplete: 'off' }),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', id: 'set-save' }, 'Save')));
  };
  limits.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const n = (id) => Math.max(0, Math.round(Number(g(id).value) || 0));
    const body = {
      downloadKBps: n('set-down'), uploadKBps: n('set-up'), altDownloadKBps: n('set-adown'), altUploadKBps: n('set-aup'),
      altEnabled: g('set-alt').checked, altScheduled: g('set-sched').checked, maxDownloads: n('set-maxd'), maxSeeds: n('set-maxs'),
    };
    if (g('set-begin').value) body.altBegin = g('set-begin').value;
    if (g('set-end').value) body.altEnd = g('set-end').value;
    if (g('set-days').value.trim()) body.altDays = g('set-days').value.trim();
    if (g('set-dir').value.trim()) body.downloadDir = g('set-dir').value.trim();
    await act(ev.submitter, () => api('PATCH', '/api/v1/settings', body), 'Saved');
  });

  const loadPairs = async () => {
    try {
      const r = await api('GET', '/api/v1/pair');
      const reqs = r.requests || [];
      state.pending = reqs.length;
      setBadge('settings', reqs.length);
      pairs.replaceChildren(...(reqs.length ? reqs.map((p) => h('li', { class: 'card' },
        h('div', { class: 'row' }, h('span', { class: 'name grow' }, p.name || 'A device'), p.match ? h('span', { class: 'pair-match small', 'aria-label': 'Match number ' + p.match }, p.match) : null),
        h('div', { class: 'meta' }, (p.address ? 'from ' + p.address + ' · ' : '') + 'code ' + p.code + (p.approved ? ' · approved' : '')),
        h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'primary', 'aria-label': 'Approve ' + (p.name || 'the device') + (p.match ? ' showing ' + p.match : ''), disabled: p.approved, onclick: (ev) => act(ev.currentTarget, () => api('POST', '/api/v1/pair/' + encodeURIComponent(p.id) + '/approve'), 'Approved').then(loadAll) }, 'Approve'),
          h('button', { type: 'button', class: 'danger', 'aria-label': 'Deny ' + (p.name || 'the device'), onclick: (ev) => act(ev.currentTarget, () => api('DELETE', '/api/v1/pair/' + encodeURIComponent(p.id)), 'Denied').then(loadAll) }, 'Deny'))))
        : [h('li', { class: 'muted' }, 'No device is asking to pair. On a TV or another browser, choose "Pair this device".')]));
    } catch (e) {
      pairs.replaceChildren(h('li', { class: 'muted' }, e.status === 404 ? 'This device has no access control.' : e.message));
    }
  };
  const loadDevices = async () => {
    try {
      const r = await api('GET', '/api/v1/devices');
      const ds = r.devices || [];
      devices.replaceChildren(...(ds.length ? ds.map((d) => h('li', { class: 'row card' },
        h('span', { class: 'grow' }, h('span', { class: 'name' }, d.name), h('span', { class: 'fmeta' }, 'paired ' + when(d.created) + (d.lastUsed ? ' · used ' + when(d.lastUsed) : '') + (d.address ? ' · ' + d.address : ''))),
        h('button', {
          type: 'button', class: 'danger', 'aria-label': 'Revoke ' + d.name,
          onclick: async (ev) => {
            const ok = await confirmDialog('Revoke ' + d.name + '?', 'It will need to sign in or pair again.', 'Revoke');
            if (ok && await act(ev.target, () => api('DELETE', '/api/v1/devices/' + encodeURIComponent(d.id)), 'Revoked')) loadDevices();
          },
        }, 'Revoke'))) : [h('li', { class: 'muted' }, 'No paired devices.')]));
    } catch (e) {
      devices.replaceChildren(h('li', { class: 'muted' }, e.status === 404 ? 'This device has no access control.' : e.message));
    }
  };
  const loadAll = () => { loadPairs(); loadDevices(); };
  const loadAbout = async () => {
    try {
      const v = await api('GET', '/api/v1/version');
      about.replaceChildren(h('dt', null, 'Version'), h('dd', null, v.version + ' (' + v.commit + ')'),
        h('dt', null, 'System'), h('dd', null, v.os + '/' + v.arch), h('dt', null, 'Go'), h('dd', null, v.goVersion));
    } catch (e) { about.replaceChildren(h('dd', null, e.message)); }
  };

  main.replaceChildren(h('h2', null, 'Settings'),
    section('set-pair-h', 'Pairing requests', pairs,
      h('div', { class: 'actions' }, h('button', {
        type: 'button', id: 'set-window', onclick: (ev) => act(ev.currentTarget, () => api('PUT', '/api/v1/pair/window', { seconds: 120 }), 'For 2 minutes the next device that asks is accepted').then(loadAll),
      }, 'Accept the next device (2 min)'))),
    limits,
    section('set-dev-h', 'Paired devices', devices),
    section('set-pw-h', 'Password',
      h('form', {
        onsubmit: async (ev) => {
          ev.preventDefault();
          if (pw1.value !== pw2.value) { toast('The two passwords differ', true); return; }
          if (await act(ev.submitter, () => api('PUT', '/api/v1/password', { user: pwUser.value.trim(), password: pw1.value }), 'Password set')) { pw1.value = ''; pw2.value = ''; }
        },
      }, ...field('set-user', 'User name', pwUser), ...field('set-pw1', 'New password (8 characters or more)', pw1), ...field('set-pw2', 'Again', pw2),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Set password')))),
    section('set-about-h', 'About', about,
      state.trusted ? h('p', { class: 'muted' }, 'This browser runs on the device itself: it needs no sign-in.') : h('div', { class: 'actions' },
        state.you && (state.you.name || state.you.user) ? h('span', { class: 'grow muted' }, 'Signed in as ' + (state.you.name || state.you.user)) : null,
        h('button', {
          type: 'button', id: 'set-logout',
          onclick: async (ev) => { if (await act(ev.currentTarget, () => api('DELETE', '/api/v1/session'))) location.reload(); },
        }, 'Sign out'))));
  loadLimits();
  loadAll();
  loadAbout();
  return { update: (k) => { if (k === 'pairing') loadPairs(); } };
}

