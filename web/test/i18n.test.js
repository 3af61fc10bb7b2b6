import "./english.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { parse, catalogue, pickLanguage, setCatalogue, t } from "../i18n.js";
import { EN, ES } from "./english.js";
import { presenceLine } from "../state.js";

test("the browser's language picks the catalogue, English otherwise", () => {
  assert.equal(pickLanguage(["es-MX", "en-US"]), "es");
  assert.equal(pickLanguage(["fr-FR", "es"]), "es");
  assert.equal(pickLanguage(["de-DE"]), "en");
  assert.equal(pickLanguage(["EN_gb"]), "en");
  assert.equal(pickLanguage([]), "en");
  assert.equal(pickLanguage(undefined), "en");
});

test("the app's catalogues parse in full, with the same messages in both", () => {
  const en = parse(EN);
  const es = parse(ES);
  assert.ok(en.size > 200, `en has ${en.size} messages`);
  assert.deepEqual([...es.keys()].sort(), [...en.keys()].sort());
});

test("variables, plurals, selects and references as Fluent formats them", () => {
  const es = catalogue("es", { en: EN, es: ES });
  const en = catalogue("en", { en: EN });
  assert.equal(en.format("send-sheet-title", { count: 1 }), "Send 1 image");
  assert.equal(en.format("send-sheet-title", { count: 4 }), "Send 4 images");
  assert.equal(es.format("send-sheet-title", { count: 1 }), "Enviar 1 imagen");
  assert.equal(es.format("send-sheet-title", { count: 4 }), "Enviar 4 imágenes");
  assert.equal(es.format("web-online", { count: 2, names: "Ana, Ben" }), "2 conectados: Ana, Ben");
  assert.equal(es.format("presence-joined", { count: 1, names: "Ben" }), "Ben entró");
  assert.equal(es.format("presence-joined", { count: 2, names: "Ben, Cy" }), "Ben, Cy entraron");
  assert.equal(en.format("presence-left", { count: 2, names: "Ben, Cy" }), "Ben, Cy left");
  // A message reference, across a line break.
  assert.equal(
    es.format("timeline-empty"),
    "Aún no hay fotos.\nEnvía alguna con «Enviar imágenes…», suelta archivos aquí o pégalos con Ctrl+V.",
  );
  assert.equal(en.format("image-progress", { done: "1 MB", total: "2 MB" }), "1 MB of 2 MB");
});

test("a missing message falls back to English, then to its id, and nothing throws", () => {
  const es = catalogue("es", { en: "only-en = English only\nboth = Both", es: "both = Ambos" });
  assert.equal(es.format("both"), "Ambos");
  assert.equal(es.format("only-en"), "English only");
  assert.equal(es.format("nowhere"), "nowhere");
  // A missing argument shows its name; a broken entry is left out, the rest loads.
  const broken = catalogue("en", { en: "a = Hi { $who }\nb = { broken\nc = fine" });
  assert.equal(broken.format("a"), "Hi {$who}");
  assert.equal(broken.format("b"), "b");
  assert.equal(broken.format("c"), "fine");
  // Nothing fetched at all: ids, not a crash.
  assert.equal(catalogue("es", {}).format("web-save"), "web-save");
});

test("every key the page uses is in the catalogue, with the variables it passes", () => {
  const en = parse(EN);
  const dir = new URL("../", import.meta.url);
  const missing = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".js") || f.endsWith(".html"))) {
    const text = readFileSync(new URL(file, dir), "utf8");
    const re = /(?:[^\w.]t\(|data-i18n(?:-\w+)?=)"([a-z][a-z0-9-]*)"(?:,\s*\{([^}]*)\})?/g;
    for (const m of text.matchAll(re)) {
      if (!en.has(m[1])) missing.push(`${file}: ${m[1]}`);
      // `{ name: value, count }`: keyed names and shorthand ones (not commas inside calls).
      const args = m[2] || "";
      const keyed = [...args.matchAll(/([A-Za-z_$][\w$]*)\s*:/g)].map((k) => k[1]);
      const shorthand = args.split(",").map((a) => a.trim()).filter((a) => /^[A-Za-z_$][\w$]*$/.test(a));
      const passed = [...keyed, ...shorthand];
      const wanted = new Set(JSON.stringify(en.get(m[1]) || []).match(/"(?:v|sel)":"[^"]+"/g) || []);
      for (const name of passed) {
        if (![...wanted].some((w) => w.endsWith(`"${name}"`))) missing.push(`${file}: ${m[1]} takes no $${name}`);
      }
    }
  }
  assert.deepEqual(missing, []);
});

test("the page's own sentences come out in Spanish once it speaks Spanish", () => {
  setCatalogue(catalogue("es", { en: EN, es: ES }));
  try {
    const s = { me: { id: "a", name: "Ana" }, peers: [{ id: "b", name: "Ben" }] };
    assert.equal(presenceLine(s), "2 conectados: Ana, Ben");
    assert.equal(t("web-save"), "Guardar");
  } finally {
    setCatalogue(catalogue("en", { en: EN }));
  }
});
