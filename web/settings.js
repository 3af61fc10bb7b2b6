// What the page remembers in this browser (localStorage): the name, the last
// room, a token, the client secret (made once, so a phone keeps its identity)
// and a counter that keeps item ids unique across reloads. Private windows
// may refuse storage: then it lasts as long as the page.

const PREFIX = "snapwire.";
const memory = new Map();

export function get(key) {
  try {
    const v = localStorage.getItem(PREFIX + key);
    if (v != null) return v;
  } catch {
    // storage refused
  }
  return memory.get(key) ?? null;
}

export function set(key, value) {
  memory.set(key, value);
  try {
    localStorage.setItem(PREFIX + key, value);
  } catch {
    // storage refused: kept in memory
  }
}

function randomHex(bytes) {
  const b = new Uint8Array(bytes);
  crypto.getRandomValues(b); // exists outside secure contexts too, unlike crypto.subtle
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

/** The 32-hex-digit client secret of this browser; made on first use. */
export function clientSecret() {
  let secret = get("client");
  if (!secret || !/^[0-9a-f]{32}$/.test(secret)) {
    secret = randomHex(16);
    set("client", secret);
  }
  return secret;
}

/** A new item id, unique among all of this client's items: time, a kept counter, and randomness. */
export function nextItemId() {
  const n = (Number.parseInt(get("counter") || "0", 10) || 0) + 1;
  set("counter", String(n));
  return `w${Date.now().toString(36)}-${n}-${randomHex(3)}`;
}
