// The page's entry: holds the state, and is the one dispatcher — intents from
// the view, events from the session and from background work all pass through
// `handle`/`dispatch`, which apply them to the state, run the effects, and
// schedule one render per frame.

import { initialState, apply } from "./state.js";
import { Session } from "./session.js";
import { createView } from "./view.js";
import { prepareFile, PrepareError, humanSize } from "./media.js";
import { hashBlob } from "./hasher.js";
import { nameProblem, roomProblem, IMAGE_MIMES, DEFAULT_ROOM } from "./protocol.js";
import * as settings from "./settings.js";
import { t, load, pickLanguage, setCatalogue, translateDocument } from "./i18n.js";

// The words first (the relay serves the app's catalogues), in the browser's language.
setCatalogue(await load(pickLanguage(navigator.languages)));
translateDocument(document);

const DEFAULT_MAX_IMAGE_BYTES = 50 * 1024 * 1024;
const DEFAULT_MAX_TEXT_BYTES = 16384;

const state = initialState();
const view = createView(dispatch);
const wsUrl = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws`;
const session = new Session({ createSocket: (url) => new WebSocket(url), url: wsUrl, onEvent: handle });

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    view.render(state);
  });
}

/** Events from the session and from background work. */
function handle(event) {
  for (const effect of apply(state, event)) run(effect);
  scheduleRender();
}

function run(effect) {
  switch (effect.do) {
    case "receipt":
      session.receipt(effect.seq);
      break;
    case "verify":
      verify(effect.key);
      break;
    default:
      break; // "forget": the view drops the item's node and URL when it renders
  }
}

async function verify(key) {
  const item = state.byKey.get(key);
  if (!item || !item.chunks) return;
  const type = IMAGE_MIMES.includes(item.mime) ? item.mime : "application/octet-stream";
  const blob = new Blob(item.chunks, { type });
  let ok = false;
  try {
    ok = (await hashBlob(blob)) === item.sha256;
  } catch (e) {
    handle({ t: "problem", message: `A picture could not be checked: ${e.message}` });
  }
  handle({ t: "verified", key, ok, blob });
}

/** Intents from the view. */
function dispatch(intent) {
  switch (intent.i) {
    case "join":
      join(intent);
      break;
    case "send_text":
      sendText(intent.text);
      break;
    case "send_files":
      sendFiles(intent.files, intent.smaller);
      break;
    case "share":
      share(intent.key);
      break;
    case "open":
      handle({ t: "open", key: intent.key });
      break;
    case "close_viewer":
      handle({ t: "close_viewer" });
      break;
    case "scrolled":
      handle({ t: "scrolled", atBottom: intent.atBottom });
      break;
    default:
      break;
  }
}

function join({ name, room, token }) {
  const trimmed = name.trim();
  const problem = nameProblem(trimmed) || roomProblem(room || DEFAULT_ROOM);
  if (problem) {
    state.form.error = problem;
    state.phase = "form";
    scheduleRender();
    return;
  }
  settings.set("name", trimmed);
  settings.set("room", room || DEFAULT_ROOM);
  if (token) settings.set("token", token);
  state.form.error = "";
  // The address bar keeps the room (a link to share), never a name or token.
  history.replaceState(null, "", `/?room=${encodeURIComponent(room || DEFAULT_ROOM)}`);
  joinedWith = { name: trimmed, room: room || DEFAULT_ROOM, client: settings.clientSecret(), token: token || settings.get("token") || null };
  session.start(joinedWith);
}

function sendText(text) {
  const max = (state.limits && state.limits.max_text_bytes) || DEFAULT_MAX_TEXT_BYTES;
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > max) {
    handle({ t: "problem", message: t("session-text-too-long", { bytes, limit: max }) });
    return;
  }
  const id = settings.nextItemId();
  handle({ t: "local_text", id, text, ts: Date.now() });
  session.sendText(id, text);
}

let preparing = Promise.resolve();

/** Prepares files one after another (each is read whole), then queues each to send. */
function sendFiles(files, smaller) {
  for (const file of files) {
    preparing = preparing.then(() => sendFile(file, smaller));
  }
}

async function sendFile(file, smaller) {
  const maxBytes = (state.limits && state.limits.max_image_bytes) || DEFAULT_MAX_IMAGE_BYTES;
  handle({ t: "problem", message: t("web-preparing", { name: file.name || t("image-default-name"), size: humanSize(file.size) }) });
  let p;
  try {
    p = await prepareFile(file, { smaller, maxBytes, hash: hashBlob });
  } catch (e) {
    handle({ t: "problem", message: e instanceof PrepareError ? e.message : `“${file.name}” could not be prepared: ${e.message}` });
    return;
  }
  handle({ t: "problem", message: "" });
  const id = settings.nextItemId();
  handle({ t: "local_image", id, ts: Date.now(), name: p.name, mime: p.mime, size: p.size, sha256: p.sha256, width: p.width, height: p.height, blob: p.blob, preview: p.preview, note: p.note });
  session.sendImage(id, { name: p.name, mime: p.mime, size: p.size, sha256: p.sha256, width: p.width, height: p.height }, p.preview, p.blob);
}

async function share(key) {
  const item = state.byKey.get(key);
  if (!item || !item.blob || !navigator.share) return;
  try {
    await navigator.share({ files: [new File([item.blob], item.name, { type: item.mime })], title: item.name });
  } catch (e) {
    if (e.name !== "AbortError") handle({ t: "problem", message: t("web-share-failed", { error: e.message }) });
  }
}

// Leaving the page closes the connection at once, so others see "left" now (and a
// page kept in the back-forward cache holds no socket); coming back joins again.
let joinedWith = null;
window.addEventListener("pagehide", () => session.stop());
window.addEventListener("pageshow", (e) => {
  if (e.persisted && joinedWith) session.start(joinedWith);
});

// Coming back online or to the page: try at once instead of waiting out the backoff.
window.addEventListener("online", () => session.nudge());
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") session.nudge();
});

// Start: `?room=R&name=N&token=T` joins at once; a remembered name is enough with a room link.
const params = new URLSearchParams(location.search);
const linkRoom = params.get("room");
const name = params.get("name") || settings.get("name") || "";
const room = linkRoom || settings.get("room") || DEFAULT_ROOM;
const token = params.get("token") || settings.get("token") || "";
view.fillForm({ name, room, token });
if ((linkRoom || params.get("name")) && name && !nameProblem(name) && !roomProblem(room)) {
  join({ name, room, token });
}
scheduleRender();
