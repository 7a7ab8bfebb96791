// Spatial focus for a TV remote: arrow keys move between controls laid
// out in "lines" — elements with class "line" (a horizontal strip of
// controls: Left/Right move along it) or "grid" (cards that wrap: Up/Down
// move by the grid's column count). Up/Down between lines come back to the
// control last focused in that line. The controls are the elements with
// class "f" inside a line; hidden or disabled ones are skipped.

const memory = new WeakMap(); // line → index of the control last focused

function shown(el) {
  return el.offsetParent !== null && !el.disabled && !el.hidden;
}

export function lines(scr) {
  return Array.from(scr.querySelectorAll(".line,.grid")).filter((l) => shown(l) && items(l).length);
}

function items(line) {
  return Array.from(line.querySelectorAll(".f")).filter(shown);
}

// focus puts the focus on el and scrolls its line (with the heading above
// it) and el itself into view.
export function focus(el) {
  if (!el) return;
  el.focus({ preventScroll: true });
  const line = el.closest(".line,.grid");
  if (line) {
    const its = items(line);
    memory.set(line, its.indexOf(el));
    const scr = line.closest(".scr");
    // The first line brings the screen's heading back into view.
    if (scr && lines(scr)[0] === line) scr.scrollTop = 0;
    else (line.closest("section") || line).scrollIntoView({ block: "nearest", inline: "nearest" });
  }
  el.scrollIntoView({ block: "nearest", inline: "nearest" });
}

// first focuses the remembered or first control of scr's first line.
export function first(scr) {
  const ls = lines(scr);
  if (ls.length) enterLine(ls[0]);
}

// near focuses line i of scr, or the last line if there are fewer (after
// the focused control's line went away).
export function near(scr, i) {
  const ls = lines(scr);
  if (ls.length) enterLine(ls[Math.max(0, Math.min(i, ls.length - 1))]);
}

function enterLine(line) {
  const its = items(line);
  const i = Math.min(memory.get(line) || 0, its.length - 1);
  focus(its[Math.max(0, i)]);
}

// columns counts a grid's cards on its first visual row.
function columns(its) {
  let n = 0;
  while (n < its.length && its[n].offsetTop === its[0].offsetTop) n++;
  return Math.max(1, n);
}

// move handles one arrow key for screen scr; it reports whether focus moved
// (or stayed on purpose at an edge).
export function move(scr, key) {
  const cur = document.activeElement;
  const ls = lines(scr);
  if (!ls.length) return false;
  const line = cur && scr.contains(cur) ? cur.closest(".line,.grid") : null;
  if (!line || ls.indexOf(line) < 0) {
    enterLine(ls[0]);
    return true;
  }
  const its = items(line);
  const i = its.indexOf(cur);
  const li = ls.indexOf(line);
  if (key === "ArrowLeft" || key === "ArrowRight") {
    const j = i + (key === "ArrowLeft" ? -1 : 1);
    if (j >= 0 && j < its.length) focus(its[j]);
    return true;
  }
  const down = key === "ArrowDown";
  if (line.classList.contains("grid")) {
    const cols = columns(its);
    const row = Math.floor(i / cols), rows = Math.ceil(its.length / cols);
    if (down && row < rows - 1) {
      focus(its[Math.min(i + cols, its.length - 1)]);
      return true;
    }
    if (!down && row > 0) {
      focus(its[i - cols]);
      return true;
    }
  }
  const next = ls[li + (down ? 1 : -1)];
  if (next) enterLine(next);
  return true;
}
