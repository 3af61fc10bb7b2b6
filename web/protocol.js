// The wire format (PROTOCOL.md): every message is one binary WebSocket message,
// a u32 big-endian header length H, H bytes of UTF-8 JSON with a string "type",
// then the body. Pure functions, no DOM, so they run under `node --test` too.

import { t } from "./i18n.js";

export const MAX_HEADER_BYTES = 16384;
export const DEFAULT_ROOM = "lobby";
export const IMAGE_MIMES = ["image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"];

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export class FrameError extends Error {}

/** One message: header object + body bytes → the bytes of one binary WebSocket message. */
export function encodeFrame(header, body = new Uint8Array(0)) {
  const json = encoder.encode(JSON.stringify(header));
  if (json.length < 2 || json.length > MAX_HEADER_BYTES) {
    throw new FrameError(`header of ${json.length} bytes is out of range`);
  }
  const out = new Uint8Array(4 + json.length + body.length);
  new DataView(out.buffer).setUint32(0, json.length);
  out.set(json, 4);
  out.set(body, 4 + json.length);
  return out;
}

/** The bytes of one binary message → { header, body }; a FrameError for anything else. */
export function decodeFrame(data) {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (bytes.length < 4) throw new FrameError("message shorter than 4 bytes");
  const h = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
  if (h < 2 || h > MAX_HEADER_BYTES || 4 + h > bytes.length) {
    throw new FrameError(`header length ${h} is out of range`);
  }
  let header;
  try {
    header = JSON.parse(decoder.decode(bytes.subarray(4, 4 + h)));
  } catch (e) {
    throw new FrameError(`header is not UTF-8 JSON: ${e.message}`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header) || typeof header.type !== "string") {
    throw new FrameError("header is not a JSON object with a string type");
  }
  return { header, body: bytes.subarray(4 + h) };
}

/** The hello header. `since` is the last seq seen in this room's epoch, or null. */
export function hello({ name, room, client, token, since }) {
  return {
    type: "hello",
    v: 1,
    name,
    room: room || DEFAULT_ROOM,
    client,
    token: token || null,
    since: Number.isSafeInteger(since) ? since : null,
  };
}

/** The same checks the relay makes on a name; an error sentence, or null when fine. */
export function nameProblem(raw) {
  const name = raw.trim();
  const chars = [...name].length;
  if (chars === 0) return t("web-name-empty");
  if (chars > 32) return t("form-name-too-long", { max: 32, chars });
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return t("form-name-control");
  return null;
}

/** The relay's room rule; an error sentence, or null when fine. */
export function roomProblem(room) {
  if (room.length === 0 || room.length > 64) return t("form-room-length", { max: 64 });
  if (!/^[A-Za-z0-9._-]+$/.test(room)) return t("form-room-chars");
  if (room.startsWith(".")) return t("form-room-dot");
  return null;
}

/** The format whose signature `bytes` start with ("image/png", …), or null. */
export function sniffMime(bytes) {
  const b = bytes;
  const starts = (sig, at = 0) => sig.every((v, i) => b[at + i] === v);
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (starts([0xff, 0xd8, 0xff])) return "image/jpeg";
  if (starts([0x47, 0x49, 0x46, 0x38]) && (b[4] === 0x37 || b[4] === 0x39) && b[5] === 0x61) return "image/gif";
  if (b.length >= 12 && starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8)) return "image/webp";
  if (starts([0x42, 0x4d])) return "image/bmp";
  return null;
}

/** True for HEIC/HEIF/AVIF files (ISO BMFF "ftyp" boxes), which the relay does not take. */
export function isHeifFamily(bytes) {
  if (bytes.length < 12) return false;
  const box = String.fromCharCode(...bytes.subarray(4, 12));
  return box.startsWith("ftyp") && /^ftyp(hei|hev|mif|msf|avi|avs)/.test(box);
}

/** A file name safe to save under: last path component, no control or reserved characters. */
export function safeFileName(raw, mime) {
  const ext = { "image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp", "image/bmp": "bmp" }[mime] || "img";
  const last = String(raw).split(/[/\\]/).pop() || "";
  // eslint-disable-next-line no-control-regex
  let name = last.replace(/[\u0000-\u001f\u007f<>:"|?*]/g, "_").trim().replace(/^\.+/, "");
  name = [...name].slice(0, 120).join("");
  if (name === "") return `image.${ext}`;
  return name;
}
