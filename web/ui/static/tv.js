// Hearth TV: the 10-foot app at /tv, driven by a remote's arrow keys,
// Enter and Back (Escape, Backspace, BrowserBack, the browser's history).
// Screens are the .scr elements of tv.html; one is shown at a time, kept
// on a stack that mirrors the browser history. Live data come from the
// event stream; nodes are created once and their text updated after.
import { api, events, onUnauthorized, pairScreen, bytes, rate, eta, clock } from "./api.js";
import { move, focus, first, lines, near } from "./tv-nav.js";
import { player, slides } from "./tv-player.js";

const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

const BACK = new Set(["Escape", "Backspace", "BrowserBack", "GoBack", "XF86Back"]);
const GLYPH = { video: "▶", audio: "♪", photo: "▣", document: "≡", other: "•" };
const KIND = { videos: ["video", "Videos"], music: ["audio", "Music"], photos: ["photo", "Photos"] };

// ---- screens ----
// (No optional chaining or ?? here: TV browsers are often old Chromiums.)
const call = (s, name, arg) => s[name] && s[name](arg);
const screens = {}; // name → {el, enter(arg), key(k) → handled, leave(), resume()}
const stack = []; // [{name, last}] — last: the element focused when we left it

function showOnly(name) {
  for (const s of document.querySelectorAll(".scr")) s.classList.toggle("on", s.id === name);
}

function open(name, arg) {
  const top = stack[stack.length - 1];
  if (top) {
    top.last = document.activeElement;
    top.key = top.last && top.last.dataset.key;
    top.line = top.last && top.last.closest(".line,.grid");
    call(screens[top.name], "leave");
  }
  stack.push({ name });
  history.pushState({ d: stack.length }, "");
  showOnly(name);
  call(screens[name], "enter", arg);
  if (!screens[name].el.contains(document.activeElement)) first(screens[name].el);
}

// pop closes screens until depth remain (on a history step back).
function pop(depth) {
  let changed = false;
  while (stack.length > Math.max(1, depth)) {
    const s = stack.pop();
    call(screens[s.name], "leave");
    changed = true;
  }
  if (!changed) return;
  const top = stack[stack.length - 1];
  showOnly(top.name);
  call(screens[top.name], "resume");
  // A live update may have replaced the card we left from: find its
  // successor by key in the same line.
  let last = top.last;
  if (last && !last.isConnected && top.key) {
    const line = top.line && top.line.isConnected ? top.line : screens[top.name].el;
    last = Array.from(line.querySelectorAll("[data-key]")).find((n) => n.dataset.key === top.key);
  }
  if (last && last.isConnected && last.offsetParent !== null) focus(last);
  else first(screens[top.name].el);
}

function back() {
  if (stack.length > 1) history.back();
}

window.addEventListener("popstate", (e) => pop((e.state && e.state.d) || 1));

// Remotes that give no key name (older TV browsers) still give key codes;
// Back is 461 on webOS and 10009 on Tizen.
const CODES = {
  8: "Backspace", 13: "Enter", 27: "Escape", 32: " ", 37: "ArrowLeft", 38: "ArrowUp", 39: "ArrowRight", 40: "ArrowDown",
  19: "MediaPause", 412: "MediaRewind", 413: "MediaStop", 415: "MediaPlay", 417: "MediaFastForward",
  176: "MediaTrackNext", 177: "MediaTrackPrevious", 179: "MediaPlayPause", 461: "GoBack", 10009: "GoBack",
};
const keyOf = (e) => (e.keyCode === 461 || e.keyCode === 10009 || !e.key || e.key === "Unidentified" ? CODES[e.keyCode] || "" : e.key);

document.addEventListener("keydown", (e) => {
  const k = keyOf(e);
  const top = stack[stack.length - 1];
  if (!top) return;
  const t = e.target;
  const typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA");
  if (typing && (k === "ArrowLeft" || k === "ArrowRight" || k === "Backspace" || k === " ")) return;
  const s = screens[top.name];
  if (s.key && s.key(k)) {
    e.preventDefault();
    return;
  }
  if (BACK.has(k)) {
    e.preventDefault();
    back();
  } else if (k.startsWith("Arrow")) {
    e.preventDefault();
    move(s.el, k);
  } else if (k === "Enter") {
    const a = document.activeElement;
    if (a && a.classList.contains("f") && a.tagName !== "INPUT") {
      e.preventDefault();
      a.click();
    }
  }
});

// ---- cards ----
function card(label, glyph, title, sub) {
  const b = el("button", "f card");
  b.setAttribute("aria-label", label);
  const art = el("span", "art", glyph);
  art.setAttribute("aria-hidden", "true");
  b.append(art, el("span", "t", title), el("span", "sub", sub || ""));
  return b;
}

function thumb(art, it) {
  if (it.kind !== "photo") return;
  const img = new Image();
  img.alt = "";
  img.onload = () => art.replaceChildren(img);
  img.src = `/api/v1/library/thumb/${it.torrent}/${it.index}?size=small`;
}

function itemCard(it, list, from) {
  const what = { video: "Play", audio: "Play", photo: "Show" }[it.kind] || "Open";
  const sub = it.duration ? clock(it.duration / 1e9) : it.size ? bytes(it.size) : "";
  const c = card(`${what} ${it.name}`, GLYPH[it.kind] || GLYPH.other, it.name, sub);
  c.dataset.key = `${it.torrent}/${it.index}`;
  thumb(c.firstChild, it);
  c.addEventListener("click", () => play(it, list, from));
  return c;
}

// play opens an item: photos in the slideshow, video and audio in the player.
function play(it, list, from) {
  if (it.kind === "photo") {
    const photos = (list || [it]).filter((x) => x.kind === "photo");
    open("slides", { items: photos, start: Math.max(0, photos.indexOf(it)) });
  } else if (it.kind === "video" || it.kind === "audio") {
    const media = (list || [it]).filter((x) => x.kind === "video" || x.kind === "audio");
    open("player", { items: media, start: Math.max(0, media.indexOf(it)), from });
  }
}

// fill replaces a strip's cards; an empty strip hides its section. A
// focused card keeps the focus through the swap (same data-key).
function fill(section, cards) {
  const strip = section.querySelector(".strip");
  const a = document.activeElement;
  const had = strip.contains(a) ? a.dataset.key : null;
  strip.replaceChildren(...cards);
  section.hidden = cards.length === 0;
  if (had !== null) {
    const n = cards.find((c) => c.dataset.key === had) || cards[0];
    if (n) focus(n);
    else first($("home"));
  }
}

async function get(path, fallback) {
  try {
    return await api("GET", path);
  } catch (err) {
    if (err.status === 404 || err.status === 503) return fallback;
    throw err;
  }
}

// ---- home ----
const torrents = new Map(); // id → torrent, live
const dlCards = new Map(); // id → home card
const dlRows = new Map(); // id → downloads screen row

const active = (t) => t.progress < 1 || t.state === "downloading" || t.state === "metadata" || t.state === "checking";

async function loadHome() {
  const [cont, chans, subs, ...kinds] = await Promise.all([
    get("/api/v1/library/continue?limit=20", { items: [] }),
    get("/api/v1/channels", { channels: [] }),
    get("/api/v1/subscriptions", { subscriptions: [] }),
    ...["video", "audio", "photo"].map((k) => get(`/api/v1/library?kind=${k}&limit=24`, { items: [] })),
  ]);
  const ci = cont.items || [];
  fill($("r-continue"), ci.map((it) => {
    // Here duration is the player's, in seconds (library items: ns).
    const c = itemCard(Object.assign({}, it, { duration: it.duration * 1e9 }), null, it.position);
    c.setAttribute("aria-label", `Continue ${it.name}`);
    c.lastChild.textContent = `${clock(it.position)} of ${clock(it.duration)}`;
    return c;
  }));
  channelRow(chans.channels || [], subs.subscriptions || []);
  ["video", "audio", "photo"].forEach((k, i) => {
    const items = kinds[i].items || [];
    fill($("r-" + k), items.map((it) => itemCard(it, items)));
  });
  emptyNote();
}

function channelRow(owned, subs) {
  const cards = [];
  for (const ch of owned) {
    const c = card(`Channel ${ch.name}, yours, ${ch.items || 0} items`, "◉", ch.name, `yours · ${ch.items || 0} items`);
    c.dataset.key = "c:" + ch.name;
    c.addEventListener("click", () => open("grid", { channel: ch.name, torrent: ch.torrentId }));
    cards.push(c);
  }
  for (const s of subs) {
    const n = s.newItems || 0;
    const name = s.name || "Channel";
    const c = card(`Channel ${name}${n ? `, ${n} new` : ""}`, "◎", name, `${s.items || 0} items · ${s.state}`);
    if (n) c.append(el("span", "badge", String(n)));
    c.dataset.key = "s:" + s.id;
    c.addEventListener("click", () => open("grid", { channel: name, torrent: s.torrentId, sub: s.id }));
    cards.push(c);
  }
  fill($("r-channels"), cards);
  // A channel's card shows its first photo, when it has one.
  [...owned, ...subs].forEach((ch, i) => {
    if (!ch.torrentId) return;
    get(`/api/v1/library?torrent=${ch.torrentId}&kind=photo&limit=1`, { items: [] })
      .then((d) => { if (d.items && d.items[0]) thumb(cards[i].firstChild, d.items[0]); }, () => {});
  });
}

function emptyNote() {
  const any = Array.from($("home").querySelectorAll("section")).some((s) => !s.hidden);
  $("empty").hidden = any;
}

function progressText(t) {
  const pct = Math.floor((t.progress || 0) * 100) + " %";
  if (t.state === "stopped") return `${pct} · paused`;
  if (t.state === "error") return `${pct} · ${t.error || "error"}`;
  if (t.state === "downloading") return `${pct} · ${rate(t.downRate || 0)}${t.eta > 0 ? " · " + eta(t.eta) : ""}`;
  return `${pct} · ${t.state}`;
}

// setBar updates a progress bar and the text beside it in place.
function setBar(node, t) {
  node.querySelector(".bar i").style.width = ((t.progress || 0) * 100).toFixed(1) + "%";
  node.querySelector(".sub").textContent = progressText(t);
}

function dlCard(t) {
  const c = card(`Download ${t.name}`, "↓", t.name, "");
  const bar = el("span", "bar");
  bar.append(el("i"));
  c.insertBefore(bar, c.lastChild);
  c.addEventListener("click", () => open("downloads", t.id));
  return c;
}

function dlRow(t) {
  const row = el("div", "dl line");
  row.dataset.id = t.id;
  const info = el("div", "info");
  const bar = el("span", "bar");
  bar.append(el("i"));
  info.append(el("div", "t", t.name), bar, el("div", "sub"));
  const b = el("button", "f pill");
  b.addEventListener("click", () => toggle(t.id, b));
  row.append(info, b);
  return row;
}

function setButton(b, t) {
  const paused = t.state === "stopped" || t.state === "error";
  b.textContent = paused ? "Resume" : "Pause";
  b.setAttribute("aria-label", `${paused ? "Resume" : "Pause"} ${t.name}`);
  b.dataset.state = paused ? "paused" : "running";
}

async function toggle(id, b) {
  const t = torrents.get(id);
  if (!t) return;
  const paused = b.dataset.state === "paused";
  try {
    const nt = await api("POST", `/api/v1/torrents/${id}/${paused ? "resume" : "pause"}`);
    update([nt], [], false);
  } catch (err) {
    status(err.message);
  }
}

// update applies a torrents event: text of existing nodes changes, nodes
// come and go only when torrents do.
function update(list, removed, full) {
  const seen = new Set();
  for (const t of list) {
    torrents.set(t.id, t);
    seen.add(t.id);
  }
  if (full) for (const id of torrents.keys()) if (!seen.has(id)) removed.push(id);
  for (const id of removed) {
    torrents.delete(id);
    drop(dlCards, id);
    drop(dlRows, id);
  }
  const strip = $("r-downloads").querySelector(".strip");
  for (const t of list) {
    let c = dlCards.get(t.id);
    if (active(t)) {
      if (!c) {
        c = dlCard(t);
        dlCards.set(t.id, c);
        strip.append(c);
      }
      c.querySelector(".t").textContent = t.name;
      setBar(c, t);
    } else if (c) {
      drop(dlCards, t.id);
    }
    let r = dlRows.get(t.id);
    if (!r) {
      r = dlRow(t);
      dlRows.set(t.id, r);
      $("dl-items").append(r);
    }
    r.querySelector(".t").textContent = t.name;
    setBar(r, t);
    setButton(r.querySelector("button"), t);
  }
  $("r-downloads").hidden = dlCards.size === 0;
  $("dl-empty").hidden = dlRows.size > 0;
  let down = 0;
  for (const t of torrents.values()) down += t.downRate || 0;
  $("dl-sub").textContent = `${torrents.size} torrents · ${rate(down)}`;
  emptyNote();
}

// drop removes a node; focus moves to a neighbour if it had it, or to
// the line now in its place.
function drop(map, id) {
  const n = map.get(id);
  if (!n) return;
  map.delete(id);
  const had = n.contains(document.activeElement);
  const scr = n.closest(".scr");
  const li = had ? lines(scr).indexOf(n.closest(".line,.grid")) : -1;
  const next = n.nextElementSibling || n.previousElementSibling;
  n.remove();
  if (!had) return;
  const f = next && (next.classList.contains("f") ? next : next.querySelector(".f"));
  if (f) focus(f);
  else near(scr, li);
}

function status(text) {
  $("status").textContent = text;
}

screens.home = {
  el: $("home"),
  resume() { loadHome().catch((err) => status(err.message)); },
};
for (const b of $("home").querySelectorAll("[data-go]")) {
  b.addEventListener("click", () => {
    const g = b.dataset.go;
    open(KIND[g] ? "grid" : g, KIND[g] ? { kind: g } : undefined);
  });
}

// shown hides BEP 47 padding files (channel torrents have them; the
// library indexes them as "other").
const shown = (it) => !/^\.pad\//.test(it.path || "");

// ---- library grid (a kind, or a channel's items) ----
let gridQuery = "", gridNext = "", gridItems = [];

screens.grid = {
  el: $("grid"),
  async enter(arg) {
    const items = $("grid-items");
    items.replaceChildren();
    gridItems = [];
    $("grid-empty").hidden = true;
    $("grid-show").hidden = true;
    if (arg.kind) {
      const [k, title] = KIND[arg.kind];
      $("grid-title").textContent = title;
      $("grid-sub").textContent = "";
      gridQuery = `kind=${k}`;
    } else {
      $("grid-title").textContent = arg.channel;
      $("grid-sub").textContent = "Channel";
      gridQuery = arg.torrent ? `torrent=${arg.torrent}` : `channel=${encodeURIComponent(arg.channel)}`;
      if (arg.sub) api("POST", `/api/v1/subscriptions/${encodeURIComponent(arg.sub)}/seen`).catch(() => {});
    }
    gridNext = "";
    gridGen++;
    gridLoad = null;
    await more();
    $("grid-empty").hidden = gridItems.length > 0;
    $("grid-show").hidden = !gridItems.some((x) => x.kind === "photo");
    if (stack[stack.length - 1].name === "grid") first($("grid"));
  },
  key(k) {
    // Near the end of what is loaded, ask for the next page; Down on the
    // last loaded row waits for it and then moves.
    const its = $("grid-items").children, a = document.activeElement;
    const i = Array.prototype.indexOf.call(its, a);
    if (!k.startsWith("Arrow") || !gridNext || i < 0 || i <= its.length - 10) return false;
    const next = more();
    if (k !== "ArrowDown" || a.offsetTop !== its[its.length - 1].offsetTop) return false;
    next.then(() => { if (document.activeElement === a) move($("grid"), "ArrowDown"); });
    return true;
  },
};

// more loads the grid's next page; a page asked for by an earlier grid
// (left since) is dropped.
let gridGen = 0, gridLoad = null;
function more() {
  if (gridLoad) return gridLoad;
  const gen = gridGen;
  const url = `/api/v1/library?${gridQuery}&limit=60${gridNext ? "&cursor=" + encodeURIComponent(gridNext) : ""}`;
  gridLoad = get(url, { items: [] }).then((d) => {
    if (gen !== gridGen) return;
    gridNext = d.next || "";
    const add = (d.items || []).filter(shown);
    gridItems.push(...add);
    $("grid-items").append(...add.map((it) => itemCard(it, gridItems)));
  }, (err) => {
    if (gen === gridGen) $("grid-sub").textContent = err.message;
  }).then(() => { gridLoad = null; });
  return gridLoad;
}

$("grid-show").addEventListener("click", () => {
  const photos = gridItems.filter((x) => x.kind === "photo");
  if (photos.length) open("slides", { items: photos, start: 0 });
});

// ---- downloads ----
screens.downloads = {
  el: $("downloads"),
  enter(id) {
    const r = id !== undefined && dlRows.get(id);
    if (r) focus(r.querySelector(".f"));
  },
};

// ---- settings ----
screens.settings = {
  el: $("settings"),
  async enter() {
    $("set-note").textContent = "";
    try {
      const v = await api("GET", "/api/v1/version");
      $("set-version").textContent = `${v.version} (${v.commit}, ${v.os}/${v.arch})`;
    } catch (err) {
      $("set-version").textContent = err.message;
    }
    const s = await get("/api/v1/session", null).catch(() => null);
    const you = s && s.you;
    $("set-you").textContent = you ? (you.name || you.user || you.kind) + (s.trusted ? " (on the device itself)" : "") : "—";
    $("set-device").textContent = location.host;
  },
};
$("signout").addEventListener("click", async () => {
  try {
    await api("DELETE", "/api/v1/session");
    location.reload();
  } catch (err) {
    $("set-note").textContent = err.status === 404 ? "Signing out is not supported by this Hearth." : err.message;
  }
});

// ---- player and slideshow ----
screens.player = player($("player"), { back });
screens.slides = slides($("slides"), { back });

// ---- pairing ----
// On 401 the TV shows api.js's pairing screen straight away (a remote has
// no keyboard for a password): the match number, big, for the owner to
// approve from a phone. The form's controls take Up/Down; Enter submits.
let pairing = false;
function showPair() {
  if (pairing) return;
  pairing = true;
  for (const s of stack.splice(0)) call(screens[s.name], "leave");
  stack.push({ name: "pair" });
  showOnly("pair");
  pairScreen($("pair-box"), { name: "TV", pair: true });
}
screens.pair = {
  el: $("pair"),
  key(k) {
    // Up/Down walk the form's controls in order; Left/Right stay in a field.
    if (k !== "ArrowUp" && k !== "ArrowDown") return BACK.has(k) || k.startsWith("Arrow");
    const cs = Array.from($("pair").querySelectorAll("input,button")).filter((c) => c.offsetParent !== null);
    const i = cs.indexOf(document.activeElement);
    const n = cs[Math.max(0, Math.min(cs.length - 1, i + (k === "ArrowDown" ? 1 : -1)))];
    if (n) n.focus();
    return true;
  },
};

// ---- start ----
async function start() {
  onUnauthorized(showPair);
  const s = await get("/api/v1/session", { you: null });
  if (pairing) return;
  stack.push({ name: "home" });
  history.replaceState({ d: 1 }, "");
  showOnly("home");
  await loadHome();
  first($("home"));
  events({
    torrents: (d) => update(d.torrents || [], d.removed || [], !!d.full),
    channels: () => Promise.all([get("/api/v1/channels", { channels: [] }), get("/api/v1/subscriptions", { subscriptions: [] })])
      .then(([c, s]) => channelRow(c.channels || [], s.subscriptions || [])),
    library: () => { if (stack.length === 1) loadHome().catch(() => {}); },
  });
  return s;
}

start().catch((err) => {
  if (err.status !== 401) {
    showOnly("boot");
    $("boot").lastChild.textContent = err.message;
  }
});
