// The page's words, from the same Project Fluent catalogues as the desktop
// app (assets/i18n/en.ftl and es.ftl, served by the relay at /i18n/*.ftl).
// This reads the subset of Fluent those files use: `id = text` messages,
// indented continuation lines, `{ $variable }`, `{ other-message }` and
// `{ $count -> [one] … *[other] … }` (plural categories from Intl.PluralRules).
// A missing message falls back to English, then to its id; nothing throws.

/** The languages there is a catalogue for; the first is the fallback. */
export const LANGUAGES = ["en", "es"];

/** The first of the browser's languages (`navigator.languages`) we speak, else English. */
export function pickLanguage(preferred) {
  for (const tag of preferred || []) {
    const primary = String(tag).toLowerCase().split(/[-_.@]/)[0];
    if (LANGUAGES.includes(primary)) return primary;
  }
  return LANGUAGES[0];
}

/** Message id → parsed pattern, from a catalogue's text. Unreadable entries are skipped. */
export function parse(text) {
  const messages = new Map();
  let id = null;
  let lines = [];
  const flush = () => {
    if (id !== null) {
      try {
        messages.set(id, parsePattern(lines.join("\n")));
      } catch {
        // A broken entry is left out; lookups fall back to English.
      }
    }
    id = null;
    lines = [];
  };
  for (const raw of String(text).split(/\r?\n/)) {
    const entry = /^([a-zA-Z][a-zA-Z0-9_-]*)\s*=(.*)$/.exec(raw);
    if (entry) {
      flush();
      id = entry[1];
      lines.push(entry[2].trim());
    } else if (id !== null && (/^\s/.test(raw) || raw.startsWith("}")) && raw.trim() !== "") {
      lines.push(raw.trim());
    } else {
      // A comment, a blank line or anything else ends the message.
      flush();
    }
  }
  flush();
  return messages;
}

/** Parts of a pattern: strings, { v: name }, { ref: id }, { sel: name, variants, other }. */
function parsePattern(source) {
  const cursor = { s: source.replace(/^\n+/, ""), i: 0 };
  const parts = parseParts(cursor, false);
  // Fluent drops the pattern's trailing blanks.
  const last = parts.length - 1;
  if (typeof parts[last] === "string") parts[last] = parts[last].replace(/\s+$/, "");
  return parts;
}

function parseParts(c, untilNewline) {
  const parts = [];
  let text = "";
  while (c.i < c.s.length) {
    const ch = c.s[c.i];
    if (untilNewline && ch === "\n") break;
    if (ch === "{") {
      if (text) parts.push(text);
      text = "";
      c.i += 1;
      parts.push(parsePlaceable(c));
    } else if (ch === "}") {
      throw new Error("unexpected }");
    } else {
      text += ch;
      c.i += 1;
    }
  }
  if (text) parts.push(text);
  return parts;
}

function skipBlank(c) {
  while (c.i < c.s.length && /\s/.test(c.s[c.i])) c.i += 1;
}

function identifier(c) {
  const m = /^[a-zA-Z][a-zA-Z0-9_-]*/.exec(c.s.slice(c.i));
  if (!m) throw new Error("identifier expected");
  c.i += m[0].length;
  return m[0];
}

function expect(c, token) {
  skipBlank(c);
  if (!c.s.startsWith(token, c.i)) throw new Error(`${token} expected`);
  c.i += token.length;
}

function parsePlaceable(c) {
  skipBlank(c);
  let part;
  if (c.s[c.i] === "$") {
    c.i += 1;
    part = { v: identifier(c) };
  } else {
    part = { ref: identifier(c) };
  }
  skipBlank(c);
  if (part.v !== undefined && c.s.startsWith("->", c.i)) {
    c.i += 2;
    const variants = [];
    let other = null;
    for (;;) {
      skipBlank(c);
      if (c.s[c.i] === "}") break;
      const isDefault = c.s[c.i] === "*";
      if (isDefault) c.i += 1;
      expect(c, "[");
      const close = c.s.indexOf("]", c.i);
      if (close < 0) throw new Error("] expected");
      const key = c.s.slice(c.i, close).trim();
      c.i = close + 1;
      while (c.s[c.i] === " ") c.i += 1;
      const variant = { key, parts: parseParts(c, true) };
      variants.push(variant);
      if (isDefault) other = variant;
    }
    if (!other) throw new Error("a select needs a *[default]");
    part = { sel: part.v, variants, other };
  }
  expect(c, "}");
  return part;
}

/** A loaded language: its messages, and English to fall back on. */
export class Catalogue {
  constructor(lang, messages, fallback) {
    this.lang = lang;
    this.messages = messages;
    this.fallback = fallback || null;
    this.plural = new Intl.PluralRules(lang);
  }

  has(id) {
    return this.messages.has(id);
  }

  /** The message `id` with `args` ({ name: value }); English if missing here, else the id. */
  format(id, args = {}) {
    if (this.messages.has(id)) return this.render(this.messages.get(id), args, 0);
    if (this.fallback) return this.fallback.format(id, args);
    return id;
  }

  render(parts, args, depth) {
    let out = "";
    for (const part of parts) {
      if (typeof part === "string") out += part;
      else if (part.v !== undefined) out += part.v in args ? String(args[part.v]) : `{$${part.v}}`;
      else if (part.ref !== undefined) {
        // References nest a little at most; a loop must not hang the page.
        out += depth < 8 && this.messages.has(part.ref)
          ? this.render(this.messages.get(part.ref), args, depth + 1)
          : part.ref;
      } else out += this.render(this.select(part, args[part.sel]).parts, args, depth);
    }
    return out;
  }

  select(part, value) {
    const exact = part.variants.find((v) => v.key === String(value));
    if (exact) return exact;
    if (typeof value === "number") {
      const category = this.plural.select(value);
      const plural = part.variants.find((v) => v.key === category);
      if (plural) return plural;
    }
    return part.other;
  }
}

/** Builds a catalogue from catalogue texts (English always, `lang`'s when it is another). */
export function catalogue(lang, texts) {
  const english = new Catalogue("en", parse(texts.en || ""));
  if (lang === "en" || !texts[lang]) return english;
  return new Catalogue(lang, parse(texts[lang]), english);
}

/** Fetches the catalogues from the relay; English-only (or ids) if they cannot be had. */
export async function load(lang) {
  const texts = {};
  for (const l of new Set(["en", lang])) {
    try {
      const r = await fetch(`/i18n/${l}.ftl`);
      if (r.ok) texts[l] = await r.text();
    } catch {
      // Offline or refused: the page still works, with message ids as words.
    }
  }
  return catalogue(lang, texts);
}

let current = new Catalogue("en", new Map());

/** The page's current catalogue (set once at start). */
export function setCatalogue(c) {
  current = c;
  if (typeof document !== "undefined") document.documentElement.lang = c.lang;
}

/** `t("composer-send")`, `t("web-seen-by", { names })`. */
export function t(id, args) {
  return current.format(id, args);
}

/** Fills the static page: `data-i18n` (text), `data-i18n-placeholder`, `-title`, `-label`. */
export function translateDocument(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
}
