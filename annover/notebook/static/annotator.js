// annover's notebook annotator: a view of the Python session's state (`view`), which
// sends each click or key as a command ({action, label, index, seq, page}) for Python to apply.
// Commands are custom messages (model.send): ipywidgets keeps one state message in flight and
// merges a trait set meanwhile into one waiting message, so a `command` trait set by a key while
// another waited replaced it and that answer was lost. Python applies a page's commands in order,
// each once (by seq), and the view says the last it applied (`acked[page]`); the page sends the
// ones not acknowledged again after RESEND ms. The model needs get, on("change:view") and send:
// anywidget's, or a shim; a model without send gets each command as the `command` trait
// (set and save_changes), as before.
// A local image is not in the view: the page asks for it once ({action: "image", key}, a custom
// message: a `command` sent while another is on its way would replace it) and keeps it (per model,
// so every view of the widget shares it); the next task's image is asked for ahead.

// images smaller than this (both sides, in pixels) are drawn this tall
const SMALL = 200;
// images kept per model (key -> {url} or {missing}); the oldest go past this many
const KEEP = 8;
// an image asked for and not come after this many ms is asked for again
const RETRY = 15000;
// commands not acknowledged this many ms after they went are sent again (the wait doubles, up to RESEND_MAX)
const RESEND = 3000;
const RESEND_MAX = 30000;
// a widget narrower than this (its content, in pixels) puts the task key over the status line
const NARROW = 520;
// past this many labels back/skip/next go above them (narrow: past NAV_FIRST_NARROW): they stay in sight
// under the task, not a screen of buttons below it
const NAV_FIRST = 20;
const NAV_FIRST_NARROW = 6;
// a widget not in the page yet is looked for this many times, 50 ms apart, to take the focus
const FOCUS_TRIES = 200;
const PENDING = Object.freeze({ pending: true });
const stores = new WeakMap();

function store(model) {
  if (!stores.has(model)) stores.set(model, new Map());
  return stores.get(model);
}

// An image the view carries (the one asked for) into the model's store: its bytes (a binary buffer
// over the widget's comm) as a blob URL, or the data URL a page without buffers gets.
function keep(images, image, shown) {
  if (!image || !image.key) return;
  const old = images.get(image.key);
  if (old && old.url) return;  // the same image twice (two views asked at once): the first is kept
  let entry = { missing: image.missing || "image cannot be shown" };
  if (image.data) entry = { url: URL.createObjectURL(new Blob([image.data], { type: image.mime })), blob: true };
  else if (image.src) entry = { url: image.src };
  images.set(image.key, entry);
  for (const [k, e] of images) {
    if (images.size <= KEEP) break;
    if (shown.includes(k) || e === PENDING) continue;
    if (e.blob) URL.revokeObjectURL(e.url);
    images.delete(k);
  }
}

const SCROLL_KEYS = new Set(["ArrowDown", "ArrowUp", "PageDown", "PageUp"]);
const CONTROL_KEYS = { ArrowLeft: "back", ArrowRight: "forward", s: "skip", u: "undo", Enter: "submit" };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null) node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

// Names (labels, annotators) in a line of text, each set apart (<bdi>): a right-to-left one does not
// draw its neighbours into it ("1 شكوى · 2 Positive" read "1 2 · شكوى Positive", whose answer was whose lost).
function names(list) {
  return list.length ? list.flatMap((n, i) => [i ? ", " : "", el("bdi", {}, String(n))]) : ["(nothing)"];
}

// The shortcut a key press means: its character (Shift or Caps Lock make no difference); when that
// is no shortcut's, the key at the same place on a US keyboard: a Hebrew, Arabic, Greek or Cyrillic
// layout's letter (ש is a, ы is s) and AZERTY's unshifted digit row (& is 1) act as on QWERTY.
function shortcut(ev) {
  const key = ev.key.length === 1 ? ev.key.toLowerCase() : ev.key;
  if (key.length !== 1 || /^[0-9a-z]$/.test(key)) return key;
  const at = /^(?:Digit([0-9])|Key([A-Z]))$/.exec(ev.code || "");
  if (!at) return key;
  if (at[1] !== undefined) return at[1];
  return /\p{L}/u.test(key) ? at[2].toLowerCase() : key;  // a letter of another script, not punctuation
}

// This page's commands to Python, in order, each until the view acknowledges it. `page` tells this
// page's sequence numbers from another view's of the same widget (the cell shown twice).
function outbox(model) {
  const page = Math.random().toString(36).slice(2, 10) + Date.now().toString(36);
  const waiting = [];  // sent, not acknowledged yet
  let seq = 0, timer = null, wait = RESEND;
  const stop = () => { if (timer !== null) clearTimeout(timer); timer = null; };
  const again = () => {
    timer = null;
    if (!waiting.length) return;
    for (const m of waiting) model.send(m);  // Python skips the ones it has applied
    wait = Math.min(wait * 2, RESEND_MAX);
    timer = setTimeout(again, wait);
  };
  const send = (action, extra = {}) => {
    seq += 1;
    if (typeof model.send !== "function") {  // a model without custom messages: the command trait
      model.set("command", { ...extra, action, seq });
      model.save_changes();
      return seq;
    }
    const msg = { ...extra, action, seq, page };
    waiting.push(msg);
    model.send(msg);
    if (timer === null) { wait = RESEND; timer = setTimeout(again, wait); }
    return seq;
  };
  // the view says the last command of this page Python applied: those up to it are done
  const acked = (view) => {
    const n = Number(((view && view.acked) || {})[page] || 0);
    if (!waiting.length || waiting[0].seq > n) return;
    while (waiting.length && waiting[0].seq <= n) waiting.shift();
    stop();  // Python answers: the rest are given a full wait again
    if (waiting.length) { wait = RESEND; timer = setTimeout(again, wait); }
  };
  // whether command `n` is still waiting for Python (a save taking seconds: the page says it is under way)
  const waits = (n) => waiting.some((m) => m.seq === n);
  return { send, acked, stop, waits };
}

// The widget takes the keyboard focus once it is in the page: anywidget may render into an element
// not attached yet (Voilà does), where focus() does nothing, so keys did nothing until a click. Not
// taken from a person typing somewhere else (an editor, a text field) meanwhile.
function focusWhenShown(box, tries = 0) {
  if (!box.isConnected) {
    if (tries < FOCUS_TRIES) setTimeout(() => focusWhenShown(box, tries + 1), 50);
    return;
  }
  const a = document.activeElement;
  if (a && a !== document.body && (a.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName))) return;
  box.focus({ preventScroll: true });
}

// A conversation (task data that is a list of {role, content} messages, which Python gives as
// [{who, text}]): each message under its speaker. Text nodes only: markup in a message is shown as
// written, never parsed. A .annover-text, so ↓ and PageDown scroll it.
function chat(messages) {
  return el("div", { class: "annover-text annover-chat" }, ...messages.map((m) =>
    el("div", { class: "annover-message", "data-who": String(m.who) },
      el("div", { class: "annover-speaker" }, String(m.who)),
      el("div", { class: "annover-says", dir: "auto" }, String(m.text ?? "")))));
}

// A text task's box: its text (dir="auto": a right-to-left one reads so), or its chat.
function textBox(task) {
  return Array.isArray(task.messages) ? chat(task.messages)
    : el("div", { class: "annover-text", dir: "auto" }, String(task.value ?? ""));
}

// The height of every text box of the session: the tallest of the batch's texts Python names as the
// likely tallest (`tall`, the longest ones and the ones of most lines), each as tall as the CSS lets it be
// (a text 260 px, a chat 360 px: longer ones scroll), measured at the box's width, and never less than
// a text shown at that width: the label buttons under it do not move from one task to the next, and a
// batch of short texts keeps a short box.
function fitText(box, tall, sized) {
  const t = box.querySelector(".annover-text");
  if (!t) return;
  t.style.height = "";
  t.style.maxHeight = "";
  const width = t.getBoundingClientRect().width;
  if (!width) return;
  if (sized.width !== width) {
    const probe = el("div", { style: `position:absolute;visibility:hidden;left:0;top:0;width:${width}px` },
      ...tall.map(textBox));
    t.parentElement.append(probe);
    sized.width = width;
    sized.height = Math.max(0, ...[...probe.children].map((c) => c.getBoundingClientRect().height));
    probe.remove();
  }
  sized.height = Math.max(sized.height, t.getBoundingClientRect().height);
  t.style.height = `${sized.height}px`;
  t.style.maxHeight = "none";
}

function render({ model, el: root }) {
  // keys act while the widget has focus; JupyterLab reads the attribute as "leave these keys
  // alone" (its command-mode a, b, s, 1... would otherwise fire too)
  const box = el("div", { class: "annover-annotator", tabindex: "0", "data-lm-suppress-shortcuts": "true" });
  root.append(box);

  const out = outbox(model);
  const send = out.send;

  // ↓ ↑ PageDown PageUp scroll a long text (or JSON) inside the widget, the focus staying on it;
  // at its end, or with nothing to scroll, the page scrolls as before
  const scroll = (ev) => {
    const t = box.querySelector(".annover-text");
    if (!t || t.scrollHeight <= t.clientHeight) return;
    const line = parseFloat(getComputedStyle(t).lineHeight) || 20;
    const page = Math.max(t.clientHeight - line, line);
    const by = { ArrowDown: 2 * line, ArrowUp: -2 * line, PageDown: page, PageUp: -page }[ev.key];
    const before = t.scrollTop;
    t.scrollTop = before + by;
    if (t.scrollTop !== before) ev.preventDefault();
  };

  // "/" finds a label by name (past the 33rd a label has no key, and 60 names are many to look over):
  // the letters typed narrow the buttons to the labels holding them, Enter chooses the first left (as
  // its key would), Esc closes; keys typed there are the name, never shortcuts
  let find = null;  // what is typed, while the finder is open
  const finder = el("input", { class: "annover-find-input", type: "text", "aria-label": "find a label",
    placeholder: "part of a label's name: Enter chooses the first, Esc closes" });
  const found = () => ((model.get("view") || {}).labels || [])
    .filter((l) => find === null || l.name.toLowerCase().includes(find.trim().toLowerCase()));
  const closeFinder = () => { find = null; finder.value = ""; draw(); box.focus({ preventScroll: true }); };
  const openFinder = () => { find = ""; draw(); finder.focus({ preventScroll: true }); };
  // the buttons narrowed in place: the field stays (a redraw would take it out, ending an IME's composition)
  finder.addEventListener("input", () => {
    find = finder.value;
    const old = box.querySelector(".annover-labels");
    if (old) old.replaceWith(buttons(model.get("view") || {}));
  });
  finder.addEventListener("keydown", (ev) => {
    ev.stopPropagation();
    if (ev.key !== "Enter" && ev.key !== "Escape") return;
    ev.preventDefault();
    const first = ev.key === "Enter" && !ev.repeat ? found()[0] : null;
    closeFinder();
    if (first) send("choose", { label: first.name });
  });
  const choose = (name) => { if (find !== null) closeFinder(); send("choose", { label: name }); };
  const buttons = (v) => {
    const shown = v.task ? found() : (v.labels || []);
    return el("div", { class: "annover-labels" },
      ...shown.map((l) => el("button", {
        class: "annover-label" + (l.selected ? " selected" : ""), "data-label": l.name,
        title: l.key ? `key ${l.key}` : "no key: / finds it, or click it", disabled: v.task ? null : "disabled",
        onclick: () => choose(l.name),
      }, ...(l.key ? [el("kbd", {}, l.key), " "] : []), l.name)),  // past the 33rd label: no key, no empty box
      shown.length ? null : el("span", { class: "annover-none" }, `no label holds “${find}”`));
  };

  const onKey = (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (SCROLL_KEYS.has(ev.key)) return scroll(ev);
    const view = model.get("view") || {};
    const key = shortcut(ev);
    if (key === "/" && view.task) {
      ev.preventDefault();
      ev.stopPropagation();
      return openFinder();
    }
    const label = (view.labels || []).find((l) => l.key === key);
    const action = CONTROL_KEYS[key];
    // Enter on a button reached with Tab presses that button (not "accept the pre-selected label")
    if (key === "Enter" && ev.target !== box) return;
    // a key held down repeats: → and ← may run on, an answer, skip or undo is one per press
    // (held, "1" answered a task every 30 ms, tasks the person never saw)
    if (ev.repeat && (label || action === "skip" || action === "undo" || action === "submit")) {
      ev.preventDefault();
      return;
    }
    if (label) send("choose", { label: label.name });
    // single choice: Enter accepts what is pre-selected (the model's suggestion, or the task's answer);
    // with nothing selected it does nothing, as before (no "no label chosen" for a stray Enter)
    else if (action === "submit" && !view.multiple && !(view.labels || []).some((l) => l.selected)) return;
    // past the last task, → goes to the first one not answered (the ones left, with only="unlabeled")
    else if (action === "forward" && !view.task && Number.isInteger(view.open)) send("goto", { index: view.open });
    else if (action) send(action);
    else return;
    ev.preventDefault();
    ev.stopPropagation();
  };
  box.addEventListener("keydown", onKey);

  const images = store(model);
  const ask = (key) => {
    if (!key || images.has(key)) return;
    images.set(key, PENDING);
    if (typeof model.send === "function") model.send({ action: "image", key });
    else send("image", { key });
    setTimeout(() => {
      if (images.get(key) !== PENDING) return;
      images.delete(key);
      if (box.isConnected) draw();
    }, RETRY);
  };

  const sized = { width: -1, height: 0 };  // the text boxes' height (fitText), at this width
  let narrow = false;  // the page sets it (a ResizeObserver), the widget drawn again when it changes
  let saving = null;  // the seq of the save command under way (the page says so until Python has answered it)
  const navFirst = (v) => (v.labels || []).length > (narrow ? NAV_FIRST_NARROW : NAV_FIRST);

  const draw = () => {
    const v = model.get("view") || {};
    out.acked(v);
    keep(images, v.image, [v.task && v.task.load, v.next]);
    const p = v.progress || { position: 0, total: 0, labeled: 0, skipped: 0 };
    const answered = p.labeled + p.skipped;
    const task = v.task;
    // past the last task the counter says so ("3 / 3" read as being on the last task)
    const count = task ? `${p.position + 1} / ${p.total}`
      : `${answered >= p.total ? "done" : "past the end"} · ${answered} of ${p.total} answered`;
    const stored = task && task.load ? images.get(task.load) : null;
    const image = stored && stored !== PENDING
      ? { src: stored.url || null, missing: stored.missing } : { src: task && task.src, missing: task && task.missing };
    const content = !task
      ? (answered < p.total
        ? el("div", { class: "annover-done" }, `${p.total - answered} of ${p.total} tasks not answered yet. `,
            Number.isInteger(v.open) ? el("button", { class: "annover-open", title: "key →",
              onclick: () => send("goto", { index: v.open }) }, `go to the first (task ${v.open + 1}) `, el("kbd", {}, "→"))
              : null, " ", el("b", {}, "save version"), " (or ", el("code", {}, ".save(message=...)"),
            ") makes a version of what is answered.")
        : el("div", { class: "annover-done" }, `All ${p.total} tasks answered. `, el("b", {}, "save version"),
            " (or ", el("code", {}, ".save(message=...)"), ") makes a version."))
      : task.kind === "image"
        ? (image.src  // a file the browser cannot decode, or a URL it cannot fetch: the placeholder too
          ? el("img", { class: "annover-image", src: image.src, alt: task.value, onerror: (ev) => ev.target.replaceWith(
              el("div", { class: "annover-missing" }, `image cannot be shown: ${task.value}`)),
              // a thumbnail (MNIST's 28 px, CIFAR's 32 px) drawn larger, its pixels kept sharp
              onload: (ev) => ev.target.classList.toggle("annover-small",
                ev.target.naturalWidth < SMALL && ev.target.naturalHeight < SMALL) })
          : task.load && (!stored || stored === PENDING)
            ? el("div", { class: "annover-loading" }, `loading ${String(task.value).split("/").pop()}…`)
            : el("div", { class: "annover-missing" }, image.missing || `image not found: ${task.value}`))
        : textBox(task);
    const pred = task && task.prediction
      ? el("div", { class: "annover-prediction" }, `model ${task.prediction.model_version} suggests `,
          el("b", {}, ...names(task.prediction.labels)),
          task.prediction.score === null || task.prediction.score === undefined
            ? "" : ` (score ${Number(task.prediction.score).toFixed(2)})`)
      : null;
    // only="disagreement": the answers the reviewer decides between
    const others = task && task.others && task.others.length
      ? el("div", { class: "annover-others" }, "answers: ", ...task.others.flatMap((o, i) => [i ? " · " : "",
          el("bdi", {}, String(o.annotator)), " ", el("b", {}, ...names(o.labels))]))
      : null;
    const labels = buttons(v);
    const finding = task && find !== null ? el("div", { class: "annover-find" }, el("kbd", {}, "/"), " ", finder) : null;
    const nav = el("div", { class: "annover-nav" },
      el("button", { class: "annover-back", onclick: () => send("back"), title: "key ←" }, el("kbd", {}, "←"), " back"),
      v.multiple ? el("button", { class: "annover-submit", onclick: () => send("submit"), title: "key Enter",
        disabled: task ? null : "disabled" }, el("kbd", {}, "⏎"), " submit") : null,
      el("button", { class: "annover-skip", onclick: () => send("skip"), title: "key s",
        disabled: task ? null : "disabled" }, el("kbd", {}, "s"), " skip"),
      el("button", { class: "annover-undo", onclick: () => send("undo"), title: "key u" }, el("kbd", {}, "u"), " undo"),
      (v.labels || []).some((l) => !l.key) ? el("button", { class: "annover-find-open", onclick: openFinder,
        title: "key /", disabled: task ? null : "disabled" }, el("kbd", {}, "/"), " find a label") : null,
      el("button", { class: "annover-forward", onclick: () => send("forward"), title: "key →" }, "next ", el("kbd", {}, "→")),
      // no key: a version is made on purpose (Voilà has no cell for .save(), hence the button)
      el("button", { class: "annover-save", onclick: () => { saving = send("save"); draw(); },
        disabled: saving !== null ? "disabled" : null,
        title: "make a version of the answers, as .save(message=...) does" },
        saving !== null ? "saving…" : "save version"));
    // the person's own answer in the version (Label Studio, an earlier session): a new answer replaces it;
    // each label a name set apart ({names}: <bdi> on the line, U+2068..U+2069 in its tooltip), or two
    // right-to-left ones read in reversed order ("א, ב chosen" drawn "ב ,א chosen")
    const was = task && task.earlier ? (task.earlier.skipped ? "skip" : { names: task.earlier.labels }) : null;
    const kept = !task ? [""]
      : task.answer ? [...(task.answer.skipped ? ["skipped"] : ["answered: ", { names: task.answer.labels, none: "" }]),
        ...(was ? [" · replaces your earlier ", was] : [])]
      : was ? (task.earlier.skipped ? ["skipped before"] : ["answered before: ", was]).concat(" · a new answer replaces it")
      : ["not answered"];
    // multi-label: labels toggled and not answered yet say so, and what answers with them
    const pending = task && Array.isArray(v.pending) ? v.pending : null;
    const chosen = pending ? { names: pending } : null;
    const state = !pending ? kept
      : !pending.length ? [...kept, " · nothing chosen — toggle a label, then Enter (⏎ submit)"]
      : task.answer ? [...kept, " · ", chosen, " chosen, not kept yet — press Enter (⏎ submit) to answer with them"]
      : [...(was ? ["answered before: ", was, " · "] : []), chosen,
        " chosen, not answered yet — press Enter (⏎ submit) to answer with them"];
    const stateTitle = state.map((p) => typeof p === "string" ? p
      : p.names.length ? p.names.map((n) => `\u2068${n}\u2069`).join(", ") : p.none ?? "(nothing)").join("");
    const stateNodes = state.flatMap((p) => typeof p === "string" ? [p]
      : p.names.length ? names(p.names) : [p.none ?? "(nothing)"]);
    // two lines, each one line high whatever it says (cut with …, whole in its tooltip): a count
    // or a message grown longer does not wrap and push the task and the buttons down
    const line = (cls, text) => el("span", { class: cls, title: text }, text);
    // a save takes seconds (a new labeling config is checked): said at once, not a button that seems dead
    const saved = saving !== null ? "saving a version… (the answers are in the journal)"
      : (v.saved && v.saved.text) || "";
    const head = el("div", { class: "annover-head" },
      el("div", { class: "annover-row" }, line("annover-count" + (task ? "" : " end"), count),
        el("progress", { max: String(p.total || 1), value: String(answered) }),
        line("annover-stats", `${p.labeled} labeled · ${p.skipped} skipped`)),
      el("div", { class: "annover-row" }, line("annover-who", v.annotator || ""),
        line("annover-saved" + (saving === null && v.saved && v.saved.ok ? " ok" : ""), saved)));
    const name = task ? `task ${task.key}`
      + (task.kind === "image" && task.value ? ` · ${String(task.value).split("/").pop()}` : "") : "";
    box.replaceChildren(...[head,
      // each cut to fit (the task to a line, the state to two): the whole in its tooltip
      el("div", { class: "annover-key" }, el("span", { class: "annover-task", title: name }, name),
        el("span", { class: "annover-state" + (pending ? " pending" : ""), title: stateTitle }, ...stateNodes)),
      // an image task's box is as tall as the tallest image drawn: the buttons stay where they are
      // from one image to the next (a wide one, a thumbnail, a placeholder), for a click not to miss
      el("div", { class: "annover-content" + (task && task.kind === "image" ? " annover-frame" : "") }, content),
      // many labels: back/skip/next under the task, then the labels (the field finding one over them)
      ...(navFirst(v) ? [others, pred, nav, finding, labels] : [others, pred, finding, labels, nav]),
      v.error ? el("div", { class: "annover-error" }, v.error) : null,
      v.notice ? el("div", { class: "annover-notice" }, v.notice) : null].filter((c) => c !== null));
    fitText(box, model.get("tall") || [], sized);
    if (finding) finder.focus({ preventScroll: true });  // drawn again (an answer came): still typing there
    // this task's image first; the next one's once this one is here
    if (task && task.load && !images.has(task.load)) ask(task.load);
    else if (v.next && (!task || !task.load || images.get(task.load) !== PENDING)) ask(v.next);
  };

  // a view from Python: the save under way is done once Python has answered its command (a view for a
  // command before it leaves it under way; a model without custom messages answers each in turn)
  const onView = () => {
    out.acked(model.get("view"));
    if (saving !== null && !out.waits(saving)) saving = null;
    draw();
  };
  model.on("change:view", onView);
  const remeasure = () => { sized.width = -1; draw(); };
  model.on("change:tall", remeasure);
  draw();
  // a class, not a container query: a container's size ignores its content, so in a row (an HBox) it shrank
  const resized = typeof ResizeObserver === "function" ? new ResizeObserver(([e]) => {
    if (!e.contentRect.width) return;  // not shown (a hidden tab)
    const now = e.contentRect.width < NARROW;
    box.classList.toggle("annover-narrow", now);
    if (now !== narrow) {
      narrow = now;
      draw();
    } else fitText(box, model.get("tall") || [], sized);  // another width: the texts measured at it
  }) : null;
  if (resized) resized.observe(box);
  focusWhenShown(box);
  box.addEventListener("click", (ev) => { if (ev.target !== finder) box.focus({ preventScroll: true }); });
  return () => {
    out.stop();
    if (resized) resized.disconnect();
    box.removeEventListener("keydown", onKey);
    if (model.off) model.off("change:view", onView);
    if (model.off) model.off("change:tall", remeasure);
  };
}

export default { render };
