// The page's views: a function of the state that updates the DOM, and turns
// what the person does into intents for the one dispatcher (main.js).
//
// Safety: everything a peer controls (texts, names, file names) goes in with
// textContent or as an attribute value, never as HTML. Pictures are shown
// from verified bytes through blob: URLs typed with the declared image MIME.
// Memory: an <img> gets its URL only while near the screen
// (IntersectionObserver); the URL is revoked when it scrolls away or the item
// goes, so a room with 300 pictures keeps only the visible ones decoded.

import { IMAGE_MIMES, sniffMime, safeFileName } from "./protocol.js";
import { presenceLine, seenByLine } from "./state.js";
import { humanSize } from "./media.js";
import { t } from "./i18n.js";

const PREVIEW_MIMES = ["image/png", "image/jpeg", "image/webp"];
/** How far outside the screen pictures are already loaded, in px. */
const LOAD_MARGIN = "600px 0px";

const $ = (id) => document.getElementById(id);

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text != null) e.textContent = text;
  return e;
}

function timeOf(ts) {
  if (!ts) return "";
  // In the page's language ("14:05" in Spanish), not the browser's default.
  const lang = typeof document !== "undefined" && document.documentElement.lang ? [document.documentElement.lang] : [];
  return new Date(ts).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
}

function statusLine(item) {
  switch (item.status) {
    case "sending":
      return item.kind === "image" ? t("web-sending-percent", { percent: Math.round((item.progress || 0) * 100) }) : t("image-waiting-to-send");
    case "streaming":
      return t("web-streaming", { percent: Math.round((item.progress || 0) * 100), size: humanSize(item.size || 0) });
    case "verifying":
      return t("web-checking");
    case "failed":
      return item.error || t("web-failed");
    default:
      return "";
  }
}

/** Builds the view over the page's static DOM; `dispatch(intent)` receives what the person asks for. */
export function createView(dispatch) {
  const nodes = new Map(); // item key → { li, rev, img? }
  const urls = new Map(); // item key → { url, source }
  const visible = new Set();
  const list = $("items");
  const timeline = $("timeline");
  let viewerUrl = null;
  let viewerKey = null;
  let last = null; // the state last rendered
  let lastAtBottom = true;

  const observer = new IntersectionObserver(
    (entries) => {
      for (const e of entries) {
        const key = e.target.dataset.key;
        if (e.isIntersecting) visible.add(key);
        else visible.delete(key);
        if (last) syncPicture(last.byKey.get(key));
      }
    },
    { root: timeline, rootMargin: LOAD_MARGIN },
  );

  function sourceOf(item) {
    if (item.status === "ready" || (item.mine && item.blob)) return item.blob ? { blob: item.blob, kind: "full" } : null;
    if (item.preview && item.preview.bytes) return { bytes: item.preview.bytes, kind: "preview" };
    if (item.preview instanceof Uint8Array) return { bytes: item.preview, kind: "preview" };
    return null;
  }

  function revoke(key) {
    const u = urls.get(key);
    if (u) URL.revokeObjectURL(u.url);
    urls.delete(key);
  }

  /** Gives a picture its blob: URL while visible, takes it away when not. */
  function syncPicture(item) {
    if (!item) return;
    const node = nodes.get(item.key);
    if (!node || !node.img) return;
    const src = visible.has(item.key) ? sourceOf(item) : null;
    const have = urls.get(item.key);
    if (src == null) {
      if (have) {
        node.img.removeAttribute("src");
        revoke(item.key);
      }
      return;
    }
    if (have && have.kind === src.kind) return;
    let blob;
    if (src.kind === "full") {
      // Typed with the declared image MIME (one of the five the relay allows), never guessed.
      if (!IMAGE_MIMES.includes(item.mime)) return;
      blob = src.blob.type === item.mime ? src.blob : new Blob([src.blob], { type: item.mime });
    } else {
      const mime = sniffMime(src.bytes);
      if (!PREVIEW_MIMES.includes(mime)) return;
      blob = new Blob([src.bytes], { type: mime });
    }
    const url = URL.createObjectURL(blob);
    node.img.src = url;
    if (have) URL.revokeObjectURL(have.url);
    urls.set(item.key, { url, kind: src.kind });
    node.img.classList.toggle("preview", src.kind === "preview");
  }

  function build(item) {
    const li = el("li", "item");
    li.dataset.key = item.key;
    const node = { li, rev: -1 };
    const meta = el("div", "meta");
    node.who = el("span", "who");
    node.when = el("time", "when");
    meta.append(node.who, node.when);
    li.append(meta);
    if (item.kind === "text") {
      node.body = el("p", "text");
      li.append(node.body);
    } else {
      const fig = el("figure", "picture");
      const frame = el("button", "frame");
      frame.type = "button";
      node.img = el("img");
      node.img.decoding = "async";
      node.img.alt = item.name; // the file name: screen readers, and tests
      if (item.width > 0 && item.height > 0) {
        frame.style.aspectRatio = `${item.width} / ${item.height}`;
        // Portrait pictures: narrower, so one fits on a phone's screen with room to spare.
        if (item.height > item.width) frame.style.width = `min(280px, 70vw, ${Math.round((300 * item.width) / item.height)}px)`;
      }
      node.bar = el("div", "progress");
      node.barFill = el("div", "fill");
      node.bar.append(node.barFill);
      frame.append(node.img, node.bar);
      frame.addEventListener("click", () => dispatch({ i: "open", key: item.key }));
      node.caption = el("figcaption", "caption");
      fig.append(frame, node.caption);
      li.append(fig);
      observer.observe(li);
    }
    node.status = el("div", "status");
    node.seen = el("div", "seen");
    li.append(node.status, node.seen);
    nodes.set(item.key, node);
    return node;
  }

  function update(node, item) {
    node.li.classList.toggle("mine", !!item.mine);
    node.li.classList.toggle("failed", item.status === "failed");
    node.who.textContent = item.mine ? t("web-you") : item.from ? item.from.name : "";
    node.when.textContent = timeOf(item.ts);
    if (item.kind === "text") node.body.textContent = item.text;
    else {
      node.caption.textContent = `${item.name} · ${humanSize(item.size || 0)}${item.note ? ` · ${item.note}` : ""}`;
      const busy = item.status === "streaming" || item.status === "sending";
      node.bar.hidden = !busy;
      node.barFill.style.width = `${Math.round((item.progress || 0) * 100)}%`;
      syncPicture(item);
    }
    node.status.textContent = statusLine(item);
    node.seen.textContent = item.mine ? seenByLine(item) : "";
    node.rev = item.rev;
  }

  function renderItems(state) {
    // Copies of our own items held back until they prove to be other items (state.js).
    const shown = state.items.filter((i) => !i.held);
    const keep = new Set(shown.map((i) => i.key));
    for (const [key, node] of nodes) {
      if (!keep.has(key)) {
        if (node.img) observer.unobserve(node.li);
        node.li.remove();
        revoke(key);
        visible.delete(key);
        nodes.delete(key);
      }
    }
    let cursor = list.firstChild;
    for (const item of shown) {
      const node = nodes.get(item.key) || build(item);
      if (node.rev !== item.rev) update(node, item);
      if (node.li !== cursor) list.insertBefore(node.li, cursor);
      else cursor = cursor.nextSibling;
    }
  }

  function renderViewer(state) {
    const viewer = $("viewer");
    const item = state.viewer ? state.byKey.get(state.viewer) : null;
    const blob = item && (item.status === "ready" || item.mine) ? item.blob : null;
    if (!item || !blob || !IMAGE_MIMES.includes(item.mime)) {
      viewer.hidden = true;
      if (viewerUrl) URL.revokeObjectURL(viewerUrl);
      viewerUrl = null;
      viewerKey = null;
      $("viewer-img").removeAttribute("src");
      return;
    }
    if (viewerKey === item.key) return;
    if (viewerUrl) URL.revokeObjectURL(viewerUrl);
    viewerUrl = URL.createObjectURL(new Blob([blob], { type: item.mime }));
    viewerKey = item.key;
    const img = $("viewer-img");
    img.src = viewerUrl;
    img.alt = item.name;
    const save = $("save");
    save.href = viewerUrl;
    save.download = safeFileName(item.name, item.mime);
    const file = typeof File === "function" ? new File([blob], safeFileName(item.name, item.mime), { type: item.mime }) : null;
    $("share").hidden = !(file && navigator.canShare && navigator.share && navigator.canShare({ files: [file] }));
    viewer.hidden = false;
  }

  function renderJoin(state) {
    const sheet = $("join");
    sheet.hidden = state.phase !== "form";
    if (sheet.hidden) return;
    $("join-token-row").hidden = !state.form.needToken;
    const err = $("join-error");
    err.textContent = state.form.error;
    err.hidden = !state.form.error;
  }

  function render(state) {
    const wasAtBottom = lastAtBottom;
    last = state;
    document.title = state.room ? `Snapwire · ${state.room}` : "Snapwire";
    $("room-name").textContent = state.room ? `# ${state.room}` : "Snapwire";
    $("presence").textContent = state.phase === "live" ? presenceLine(state) : state.phase === "form" ? "" : t("send-error-not-connected");
    const notice = $("notice");
    notice.textContent = state.notice;
    notice.hidden = !state.notice;
    notice.classList.toggle("offline", state.phase === "offline" || state.phase === "connecting");
    renderJoin(state);
    renderItems(state);
    $("empty").hidden = !(state.phase === "live" && state.items.length === 0 && state.historyLeft === 0);
    const hist = $("history");
    hist.hidden = !(state.historyLeft > 0);
    hist.textContent = state.historyLeft > 0 ? t("web-history-left", { count: state.historyLeft }) : "";
    const more = $("new-below");
    more.hidden = state.unseen === 0;
    more.textContent = `${t("timeline-new", { count: state.unseen })} ↓`;
    renderViewer(state);
    if (wasAtBottom) timeline.scrollTop = timeline.scrollHeight;
  }

  // Events → intents.
  timeline.addEventListener("scroll", () => {
    const atBottom = timeline.scrollHeight - timeline.scrollTop - timeline.clientHeight < 48;
    if (atBottom !== lastAtBottom) {
      lastAtBottom = atBottom;
      dispatch({ i: "scrolled", atBottom });
    }
  });
  // Turning the phone or resizing the window keeps the newest items in view.
  window.addEventListener("resize", () => {
    if (lastAtBottom) timeline.scrollTop = timeline.scrollHeight;
  });
  $("new-below").addEventListener("click", () => {
    timeline.scrollTop = timeline.scrollHeight;
    lastAtBottom = true;
    dispatch({ i: "scrolled", atBottom: true });
  });
  const message = $("message");
  const sendText = () => {
    const text = message.value;
    if (text.trim() === "") return;
    dispatch({ i: "send_text", text });
    message.value = "";
    message.style.height = "";
  };
  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    sendText();
  });
  message.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      sendText();
    }
  });
  message.addEventListener("input", () => {
    message.style.height = "";
    message.style.height = `${Math.min(message.scrollHeight, 140)}px`;
  });
  $("file").addEventListener("change", (e) => {
    const files = [...e.target.files];
    e.target.value = "";
    if (files.length) dispatch({ i: "send_files", files, smaller: $("smaller").checked });
  });
  document.addEventListener("paste", (e) => {
    const files = [...(e.clipboardData ? e.clipboardData.files : [])];
    if (files.length) {
      e.preventDefault();
      dispatch({ i: "send_files", files, smaller: $("smaller").checked });
    }
  });
  let dragDepth = 0;
  document.addEventListener("dragenter", (e) => {
    if (e.dataTransfer && [...e.dataTransfer.types].includes("Files")) {
      dragDepth += 1;
      $("drop-hint").hidden = false;
    }
  });
  document.addEventListener("dragleave", () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) $("drop-hint").hidden = true;
  });
  document.addEventListener("dragover", (e) => e.preventDefault());
  document.addEventListener("drop", (e) => {
    e.preventDefault();
    dragDepth = 0;
    $("drop-hint").hidden = true;
    const files = [...(e.dataTransfer ? e.dataTransfer.files : [])];
    if (files.length) dispatch({ i: "send_files", files, smaller: $("smaller").checked });
  });
  $("join-form").addEventListener("submit", (e) => {
    e.preventDefault();
    dispatch({ i: "join", name: $("join-name").value, room: $("join-room").value.trim(), token: $("join-token").value });
  });
  $("close-viewer").addEventListener("click", () => dispatch({ i: "close_viewer" }));
  $("share").addEventListener("click", () => dispatch({ i: "share", key: viewerKey }));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !$("viewer").hidden) dispatch({ i: "close_viewer" });
  });

  return {
    render,
    /** Fills the join form (remembered name, the link's room). */
    fillForm({ name, room, token }) {
      $("join-name").value = name || "";
      $("join-room").value = room || "lobby";
      $("join-token").value = token || "";
    },
  };
}
