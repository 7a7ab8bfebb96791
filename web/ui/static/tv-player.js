// The TV player (video and audio, full screen) and the photo slideshow.
// Each returns a screen for tv.js: {el, enter(arg), leave(), key(k)}; key
// gets the key's name and answers true for the keys it used, so the rest
// (Back) reach tv.js.
import { api, clock } from "./api.js";
import { focus } from "./tv-nav.js";

const $ = (id) => document.getElementById(id);
const TOGGLE = new Set(["Enter", " ", "MediaPlayPause", "MediaPlay", "MediaPause"]);

// osd shows an on-screen display and hides it again after a while
// unless keep() says it must stay (paused).
function osd(box, keep) {
  let t = 0;
  return () => {
    box.classList.remove("hide");
    clearTimeout(t);
    t = setTimeout(() => { if (!keep()) box.classList.add("hide"); }, 5000);
  };
}

export function player(root, { back }) {
  const v = $("video"), bar = $("pl-bar"), fill = bar.firstElementChild;
  let items = [], i = 0, from = 0, tick = 0, sent = -1;
  const show = osd($("osd"), () => v.paused);

  const total = () => (isFinite(v.duration) ? v.duration : (items[i] && items[i].duration / 1e9) || 0);
  function paint() {
    const d = total(), p = v.currentTime || 0;
    fill.style.width = d ? Math.min(100, (p / d) * 100).toFixed(2) + "%" : "0";
    bar.setAttribute("aria-valuemax", String(Math.round(d)));
    bar.setAttribute("aria-valuenow", String(Math.round(p)));
    bar.setAttribute("aria-valuetext", `${clock(p)} of ${clock(d)}`);
    $("pl-time").textContent = `${clock(p)} / ${clock(d)}`;
    $("pl-state").textContent = v.error ? "Cannot play this file" : v.paused ? "Paused" : v.readyState < 3 ? "Loading" : "Playing";
    root.dataset.state = v.paused ? "paused" : "playing";
  }
  // report saves the position for "Continue watching" (an old daemon
  // without it answers 404: ignored).
  function report() {
    const it = items[i], p = Math.floor(v.currentTime || 0);
    if (!it || p === sent || !p) return;
    sent = p;
    api("PUT", `/api/v1/library/progress/${it.torrent}/${it.index}`, { position: p, duration: Math.round(total()) }).catch(() => {});
  }
  function load(n, at) {
    report();
    i = (n + items.length) % items.length;
    const it = items[i];
    sent = -1;
    from = at || 0;
    $("pl-title").textContent = it.name;
    root.dataset.kind = it.kind; // audio: a note instead of a black screen
    v.src = `/stream/${it.torrent}/${it.index}`;
    v.play().catch(() => {}); // refused autoplay: Enter plays
    paint();
    show();
  }
  function seek(d) {
    const t = Math.max(0, Math.min((v.currentTime || 0) + d, Math.max(0, total() - 1)));
    v.currentTime = t;
    paint();
  }
  v.addEventListener("loadedmetadata", () => { if (from) v.currentTime = from; from = 0; paint(); });
  for (const ev of ["timeupdate", "play", "playing", "waiting", "seeked", "error"]) v.addEventListener(ev, paint);
  v.addEventListener("pause", () => { paint(); report(); show(); });
  v.addEventListener("ended", () => { report(); if (i < items.length - 1) load(i + 1); });

  return {
    el: root,
    enter(arg) {
      items = arg.items;
      load(arg.start || 0, arg.from);
      focus(bar);
      clearInterval(tick);
      tick = setInterval(() => { if (!v.paused) report(); }, 10000);
    },
    leave() {
      report();
      clearInterval(tick);
      v.pause();
      v.removeAttribute("src");
      v.load();
    },
    key(k) {
      show();
      if (TOGGLE.has(k)) {
        if (v.paused) v.play().catch(() => {});
        else v.pause();
      } else if (k === "ArrowLeft" || k === "ArrowRight") seek(k === "ArrowLeft" ? -10 : 10);
      else if (k === "ArrowUp" || k === "ArrowDown") seek(k === "ArrowUp" ? -60 : 60);
      else if (k === "MediaRewind" || k === "MediaFastForward") seek(k === "MediaRewind" ? -30 : 30);
      else if (k === "MediaTrackNext" || k === "MediaTrackPrevious") load(i + (k === "MediaTrackNext" ? 1 : -1));
      else if (k === "MediaStop") back();
      else return false;
      if (document.activeElement !== bar) focus(bar);
      return true;
    },
  };
}

export function slides(root, { back }) {
  const img = $("slide"), mark = $("sl-focus");
  let items = [], i = 0, playing = true, timer = 0;
  const show = osd($("sl-osd"), () => !playing);

  function paint() {
    const it = items[i];
    $("sl-title").textContent = it.name;
    $("sl-pos").textContent = `${i + 1} of ${items.length}`;
    $("sl-state").textContent = playing ? "Slideshow" : "Paused";
    mark.setAttribute("aria-label", `${it.name}, ${i + 1} of ${items.length}`);
    root.dataset.state = playing ? "playing" : "paused";
    root.dataset.index = String(i);
  }
  function go(n) {
    i = (n + items.length) % items.length;
    const it = items[i];
    // A large (1280 px) thumbnail, not the 12 MP photo: the TV decodes
    // less and the daemon sends less. The photo itself when there is no
    // large one (a router makes none, a file it cannot thumbnail). The
    // next one is fetched ahead so that it shows at once.
    const large = `/api/v1/library/thumb/${it.torrent}/${it.index}?size=large`;
    img.onerror = () => {
      img.onerror = null;
      if (items[i] === it) img.src = `/stream/${it.torrent}/${it.index}`;
    };
    img.src = large;
    img.alt = it.name;
    const nx = items[(i + 1) % items.length];
    if (nx !== it) {
      const pre = new Image();
      pre.onerror = () => { pre.onerror = null; pre.src = `/stream/${nx.torrent}/${nx.index}`; };
      pre.src = `/api/v1/library/thumb/${nx.torrent}/${nx.index}?size=large`;
    }
    paint();
    schedule();
  }
  // schedule arms the next photo; the bar under the caption fills up
  // until it comes.
  function schedule() {
    clearTimeout(timer);
    const fill = mark.firstElementChild;
    fill.style.transition = "none";
    fill.style.width = "0";
    if (playing && items.length > 1) {
      timer = setTimeout(() => go(i + 1), 5000);
      void fill.offsetWidth; // restart the transition from 0
      fill.style.transition = "width 5s linear";
      fill.style.width = "100%";
    }
  }

  return {
    el: root,
    enter(arg) {
      items = arg.items;
      playing = true;
      go(arg.start || 0);
      focus(mark);
      show();
    },
    leave() {
      clearTimeout(timer);
      img.onerror = null;
      img.removeAttribute("src");
    },
    key(k) {
      show();
      if (TOGGLE.has(k)) {
        playing = !playing;
        paint();
        schedule();
      } else if (k === "ArrowLeft" || k === "MediaTrackPrevious" || k === "MediaRewind") go(i - 1);
      else if (k === "ArrowRight" || k === "MediaTrackNext" || k === "MediaFastForward") go(i + 1);
      else if (k === "ArrowUp" || k === "ArrowDown") { /* nothing above or below */ }
      else if (k === "MediaStop") back();
      else return false;
      if (document.activeElement !== mark) focus(mark);
      return true;
    },
  };
}
