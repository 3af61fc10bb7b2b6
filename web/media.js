// Preparing a picture to send, in the page: format check, metadata removal,
// dimensions, a preview (≤ 32 KiB, ≤ 256 px, as the contract says), the
// optional "Smaller" (2048 px JPEG), and the SHA-256 of the bytes that go.
// The pure parts (sizes, the preview's quality search) are exported for tests.

import { sniffMime, isHeifFamily } from "./protocol.js";
import { stripMetadata, StripError } from "./strip.js";
import { t } from "./i18n.js";

export const PREVIEW_MAX_BYTES = 32 * 1024;
export const PREVIEW_MAX_SIDE = 256;
export const SMALLER_SIDE = 2048;
export const SMALLER_QUALITY = 0.85;
/** JPEG qualities tried for a preview, best first, until one fits in 32 KiB. */
export const PREVIEW_QUALITIES = [0.8, 0.65, 0.5, 0.35, 0.2];

export class PrepareError extends Error {}

/** `width`×`height` scaled down (never up) so the longer side is at most `max`; at least 1×1. */
export function fitWithin(width, height, max) {
  const long = Math.max(width, height);
  if (long <= max) return { width, height };
  const scale = max / long;
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** The first encoding (best quality first) that fits the preview budget, or null. */
export async function fittingPreview(encode, qualities = PREVIEW_QUALITIES, maxBytes = PREVIEW_MAX_BYTES) {
  for (const q of qualities) {
    const bytes = await encode(q);
    if (bytes && bytes.length > 0 && bytes.length <= maxBytes) return bytes;
  }
  return null;
}

/** Whether "Smaller" re-encodes: never a GIF (it would lose its animation), not an already small JPEG. */
export function smallerApplies(mime, width, height) {
  if (mime === "image/gif") return false;
  return !(mime === "image/jpeg" && Math.max(width, height) <= SMALLER_SIDE);
}

/** A sentence for a file the relay does not take, from its first bytes; null when it is fine. */
export function formatProblem(name, head, declaredType) {
  if (sniffMime(head)) return null;
  if (isHeifFamily(head) || /^image\/(heic|heif|avif)/.test(declaredType || "")) {
    return t("web-heic", { name });
  }
  return t("web-not-an-image", { name });
}

export function humanSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function canvasOf(width, height) {
  if (typeof OffscreenCanvas !== "undefined") return new OffscreenCanvas(width, height);
  const c = document.createElement("canvas");
  c.width = width;
  c.height = height;
  return c;
}

async function encodeCanvas(canvas, mime, quality) {
  const blob = canvas.convertToBlob
    ? await canvas.convertToBlob({ type: mime, quality })
    : await new Promise((resolve) => canvas.toBlob(resolve, mime, quality));
  if (!blob || blob.type !== mime) return null;
  return new Uint8Array(await blob.arrayBuffer());
}

/** The bitmap drawn at `width`×`height` on white (JPEG has no transparency). */
function drawn(bitmap, width, height) {
  const canvas = canvasOf(width, height);
  const g = canvas.getContext("2d");
  g.fillStyle = "#fff";
  g.fillRect(0, 0, width, height);
  g.imageSmoothingQuality = "high";
  g.drawImage(bitmap, 0, 0, width, height);
  return canvas;
}

async function decode(blob) {
  try {
    return await createImageBitmap(blob, { imageOrientation: "from-image" });
  } catch {
    return null;
  }
}

/**
 * Everything an image_begin needs, from a picked, pasted or dropped file.
 * `hash(blob)` resolves to the SHA-256 hex (a Worker does it off the main thread).
 * Throws a PrepareError with a sentence for the person.
 */
export async function prepareFile(file, { smaller, maxBytes, hash }) {
  const name = file.name || "pasted.png";
  const head = new Uint8Array(await file.slice(0, 16).arrayBuffer());
  const problem = formatProblem(name, head, file.type);
  if (problem) throw new PrepareError(problem);
  if (file.size > maxBytes && !smaller) {
    throw new PrepareError(t("web-too-large-try-smaller", { name, size: humanSize(file.size), limit: humanSize(maxBytes) }));
  }
  let mime = sniffMime(head);
  let bytes = new Uint8Array(await file.arrayBuffer());
  let note;
  try {
    const out = stripMetadata(bytes, mime);
    bytes = out.bytes;
    note = out.removed ? t("metadata-removed") : t("metadata-none");
  } catch (e) {
    if (e instanceof StripError) throw new PrepareError(t("web-not-sent", { name, error: e.message }));
    throw e;
  }
  const bitmap = await decode(new Blob([bytes], { type: mime }));
  if (!bitmap) throw new PrepareError(t("web-undecodable", { name }));
  let { width, height } = bitmap;
  let sendName = name;
  try {
    if (smaller && smallerApplies(mime, width, height)) {
      const fit = fitWithin(width, height, SMALLER_SIDE);
      const jpeg = await encodeCanvas(drawn(bitmap, fit.width, fit.height), "image/jpeg", SMALLER_QUALITY);
      if (jpeg && jpeg.length < bytes.length) {
        bytes = jpeg;
        mime = "image/jpeg";
        ({ width, height } = fit);
        sendName = name.replace(/\.[^.]*$/, "") + ".jpg";
        note = t("metadata-smaller");
      }
    }
    if (bytes.length > maxBytes) {
      throw new PrepareError(t("web-too-large", { name, size: humanSize(bytes.length), limit: humanSize(maxBytes) }));
    }
    const p = fitWithin(width, height, PREVIEW_MAX_SIDE);
    const canvas = drawn(bitmap, p.width, p.height);
    const preview = await fittingPreview((q) => encodeCanvas(canvas, "image/jpeg", q));
    const blob = new Blob([bytes], { type: mime });
    const sha256 = await hash(blob);
    return { name: sendName, mime, blob, size: bytes.length, sha256, width, height, preview, note };
  } finally {
    bitmap.close();
  }
}
