// Removes metadata (EXIF with camera and GPS, XMP, IPTC, comments, text chunks)
// from JPEG, PNG and WebP files by dropping container segments: the compressed
// pixels are copied byte for byte, never re-encoded. The EXIF orientation is the
// one tag put back, in a tiny EXIF of its own, so a sideways phone photo still
// shows upright. GIF and BMP carry no EXIF as cameras write them; they go as
// they are. Same rules as the desktop app (src/privacy.rs).

export class StripError extends Error {}

const unreadable = (why) => new StripError(`its metadata could not be read to remove it (${why})`);

/** `{ bytes, removed }` for an image of `mime`; a StripError when the container is unreadable. */
export function stripMetadata(bytes, mime) {
  switch (mime) {
    case "image/jpeg":
      return stripJpeg(bytes);
    case "image/png":
      return stripPng(bytes);
    case "image/webp":
      return stripWebp(bytes);
    default:
      return { bytes, removed: false };
  }
}

/** The orientation (1-8) in a TIFF-structured EXIF block, or 1. Tolerates an "Exif\0\0" prefix. */
export function exifOrientation(exif) {
  let b = exif;
  if (b.length >= 6 && b[0] === 0x45 && b[1] === 0x78 && b[2] === 0x69 && b[3] === 0x66 && b[4] === 0 && b[5] === 0) b = b.subarray(6);
  if (b.length < 8) return 1;
  const little = b[0] === 0x49 && b[1] === 0x49;
  if (!little && !(b[0] === 0x4d && b[1] === 0x4d)) return 1;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u16 = (at) => view.getUint16(at, little);
  const u32 = (at) => view.getUint32(at, little);
  if (u16(2) !== 42) return 1;
  const ifd = u32(4);
  if (ifd + 2 > b.length) return 1;
  const count = u16(ifd);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > b.length) return 1;
    if (u16(entry) === 0x0112 && u16(entry + 2) === 3) {
      const value = u16(entry + 8);
      return value >= 1 && value <= 8 ? value : 1;
    }
  }
  return 1;
}

/** A minimal big-endian TIFF block holding only the orientation tag; null for "upright". */
export function orientationTiff(orientation) {
  if (orientation === 1) return null;
  const out = new Uint8Array(26);
  const v = new DataView(out.buffer);
  out.set([0x4d, 0x4d, 0x00, 0x2a]);
  v.setUint32(4, 8); // first IFD right after the header
  v.setUint16(8, 1); // one entry
  v.setUint16(10, 0x0112); // Orientation
  v.setUint16(12, 3); // SHORT
  v.setUint32(14, 1); // one value
  v.setUint16(18, orientation);
  v.setUint32(22, 0); // no next IFD
  return out;
}

function concat(parts) {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const ascii = (s) => new Uint8Array([...s].map((c) => c.charCodeAt(0)));
const EXIF_PREFIX = ascii("Exif\0\0");
const startsWith = (b, prefix) => b.length >= prefix.length && prefix.every((v, i) => b[i] === v);

function stripJpeg(bytes) {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) throw unreadable("no JPEG start marker");
  const kept = [];
  let orientation = 1;
  let removed = false;
  let firstIsApp0 = false;
  let i = 2;
  let rest = null;
  while (i < bytes.length) {
    if (bytes[i] !== 0xff) throw unreadable(`no marker at byte ${i}`);
    let m = i + 1;
    while (m < bytes.length && bytes[m] === 0xff) m++; // fill bytes
    if (m >= bytes.length) throw unreadable("cut off after a marker");
    const marker = bytes[m];
    const start = m - 1;
    if (marker === 0xd9 || marker === 0xda) {
      // End of image, or start of scan: from here on it is entropy-coded data
      // (and whatever follows it), copied as it is.
      rest = bytes.subarray(start);
      break;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      kept.push(bytes.subarray(start, m + 1));
      i = m + 1;
      continue;
    }
    if (m + 3 > bytes.length) throw unreadable("cut off in a segment length");
    const len = (bytes[m + 1] << 8) | bytes[m + 2];
    const end = m + 1 + len;
    if (len < 2 || end > bytes.length) throw unreadable(`segment at byte ${start} runs past the end`);
    const contents = bytes.subarray(m + 3, end);
    const segment = bytes.subarray(start, end);
    if (marker === 0xe1) {
      // APP1: EXIF (camera, time, GPS) or XMP.
      if (startsWith(contents, EXIF_PREFIX)) orientation = exifOrientation(contents);
      removed = true;
    } else if (marker === 0xed || marker === 0xfe) {
      // APP13 (Photoshop/IPTC) and comments.
      removed = true;
    } else {
      if (kept.length === 0 && marker === 0xe0) firstIsApp0 = true;
      kept.push(segment);
    }
    i = end;
  }
  if (rest === null) throw unreadable("no image data");
  if (!removed) return { bytes, removed: false };
  const tiff = orientationTiff(orientation);
  if (tiff) {
    const payload = concat([EXIF_PREFIX, tiff]);
    const app1 = new Uint8Array(4 + payload.length);
    app1.set([0xff, 0xe1, (payload.length + 2) >> 8, (payload.length + 2) & 0xff]);
    app1.set(payload, 4);
    // JFIF wants its APP0 first; EXIF goes right after it.
    kept.splice(firstIsApp0 ? 1 : 0, 0, app1);
  }
  return { bytes: concat([bytes.subarray(0, 2), ...kept, rest]), removed: true };
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 as PNG chunks use it. */
export function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const PNG_DROP = ["eXIf", "tEXt", "zTXt", "iTXt", "tIME"];

function pngChunk(kind, data) {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  out.set(ascii(kind), 4);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function stripPng(bytes) {
  if (!startsWith(bytes, PNG_SIGNATURE)) throw unreadable("no PNG signature");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kept = [];
  let orientation = 1;
  let removed = false;
  let i = 8;
  let sawEnd = false;
  while (i < bytes.length) {
    if (i + 12 > bytes.length) throw unreadable(`chunk at byte ${i} is cut off`);
    const len = view.getUint32(i);
    const end = i + 12 + len;
    if (end > bytes.length) throw unreadable(`chunk at byte ${i} runs past the end`);
    const kind = String.fromCharCode(...bytes.subarray(i + 4, i + 8));
    if (PNG_DROP.includes(kind)) {
      if (kind === "eXIf") orientation = exifOrientation(bytes.subarray(i + 8, i + 8 + len));
      removed = true;
    } else {
      kept.push(bytes.subarray(i, end));
    }
    i = end;
    if (kind === "IEND") {
      sawEnd = true;
      break;
    }
  }
  if (!sawEnd || kept.length === 0) throw unreadable("no IEND chunk");
  if (!removed) return { bytes, removed: false };
  const tiff = orientationTiff(orientation);
  // eXIf must come before the image data: right after IHDR.
  if (tiff) kept.splice(1, 0, pngChunk("eXIf", tiff));
  return { bytes: concat([bytes.subarray(0, 8), ...kept]), removed: true };
}

const VP8X_EXIF = 0x08;
const VP8X_XMP = 0x04;

function stripWebp(bytes) {
  const isRiff = startsWith(bytes, ascii("RIFF")) && bytes.length >= 12 && startsWith(bytes.subarray(8), ascii("WEBP"));
  if (!isRiff) throw unreadable("no RIFF WEBP header");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks = [];
  let i = 12;
  while (i + 8 <= bytes.length) {
    const kind = String.fromCharCode(...bytes.subarray(i, i + 4));
    const len = view.getUint32(i + 4, true);
    const end = i + 8 + len + (len & 1);
    if (i + 8 + len > bytes.length) throw unreadable(`chunk ${kind} runs past the end`);
    chunks.push({ kind, data: bytes.subarray(i + 8, i + 8 + len), raw: bytes.subarray(i, Math.min(end, bytes.length)) });
    i = end;
  }
  if (chunks.length === 0) throw unreadable("no chunks");
  const exif = chunks.find((c) => c.kind === "EXIF");
  const hasXmp = chunks.some((c) => c.kind === "XMP ");
  if (!exif && !hasXmp) return { bytes, removed: false };
  if (chunks[0].kind !== "VP8X") throw unreadable("metadata without a VP8X header");
  const orientation = exif ? exifOrientation(exif.data) : 1;
  const tiff = orientationTiff(orientation);
  const parts = [];
  for (const c of chunks) {
    if (c.kind === "EXIF" || c.kind === "XMP ") continue;
    if (c.kind === "VP8X") {
      const raw = new Uint8Array(c.raw);
      raw[8] = (raw[8] & ~(VP8X_EXIF | VP8X_XMP)) | (tiff ? VP8X_EXIF : 0);
      parts.push(raw);
    } else {
      parts.push(c.raw);
    }
  }
  if (tiff) {
    const chunk = new Uint8Array(8 + tiff.length);
    chunk.set(ascii("EXIF"));
    new DataView(chunk.buffer).setUint32(4, tiff.length, true);
    chunk.set(tiff, 8);
    parts.push(chunk);
  }
  const body = concat(parts);
  const out = new Uint8Array(12 + body.length);
  out.set(ascii("RIFF"));
  new DataView(out.buffer).setUint32(4, 4 + body.length, true);
  out.set(ascii("WEBP"), 8);
  out.set(body, 12);
  return { bytes: out, removed: true };
}
