import "./english.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { fitWithin, fittingPreview, smallerApplies, formatProblem, PREVIEW_MAX_BYTES, PREVIEW_MAX_SIDE } from "../media.js";
import { hashInSlices, SLICE_BYTES } from "../hasher.js";
import { sha256Hex } from "../sha256.js";

test("previews fit 256 px on the longer side, never upscaled", () => {
  assert.deepEqual(fitWithin(4032, 3024, PREVIEW_MAX_SIDE), { width: 256, height: 192 });
  assert.deepEqual(fitWithin(3024, 4032, PREVIEW_MAX_SIDE), { width: 192, height: 256 });
  assert.deepEqual(fitWithin(100, 40, PREVIEW_MAX_SIDE), { width: 100, height: 40 });
  assert.deepEqual(fitWithin(10000, 1, PREVIEW_MAX_SIDE), { width: 256, height: 1 });
  assert.deepEqual(fitWithin(4000, 3000, 2048), { width: 2048, height: 1536 });
});

test("the preview is the best quality that fits 32 KiB, or none", async () => {
  const tried = [];
  const sizes = { 0.8: 50000, 0.65: 40000, 0.5: 30000 };
  const got = await fittingPreview(async (q) => {
    tried.push(q);
    return new Uint8Array(sizes[q] ?? 1);
  });
  assert.equal(got.length, 30000);
  assert.deepEqual(tried, [0.8, 0.65, 0.5]);
  assert.ok(got.length <= PREVIEW_MAX_BYTES);
  assert.equal(await fittingPreview(async () => new Uint8Array(PREVIEW_MAX_BYTES + 1)), null);
  assert.equal(await fittingPreview(async () => null), null);
  assert.equal((await fittingPreview(async () => new Uint8Array(PREVIEW_MAX_BYTES))).length, PREVIEW_MAX_BYTES);
});

test("Smaller leaves GIFs and small JPEGs alone", () => {
  assert.equal(smallerApplies("image/gif", 5000, 5000), false);
  assert.equal(smallerApplies("image/jpeg", 2048, 1000), false);
  assert.equal(smallerApplies("image/jpeg", 4032, 3024), true);
  assert.equal(smallerApplies("image/png", 800, 600), true);
});

test("HEIC and other files get a clear sentence", () => {
  const heic = new Uint8Array([0, 0, 0, 0x18, ...[..."ftypheic"].map((c) => c.charCodeAt(0)), 0, 0, 0, 0]);
  assert.match(formatProblem("IMG_1.HEIC", heic, "image/heic"), /HEIC.*does not take.*Most Compatible/);
  assert.match(formatProblem("notes.pdf", new TextEncoder().encode("%PDF-1.7"), "application/pdf"), /not a PNG, JPEG, GIF, WebP or BMP/);
  assert.equal(formatProblem("a.png", new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), "image/png"), null);
});

test("hashing a Blob in slices matches the one-shot digest", async () => {
  const bytes = new Uint8Array(SLICE_BYTES * 2 + 77).map((_, i) => (i * 31) & 0xff);
  assert.equal(await hashInSlices(new Blob([bytes])), sha256Hex(bytes));
  assert.equal(await hashInSlices(new Blob([])), sha256Hex(""));
});
