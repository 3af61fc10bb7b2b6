import "./english.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeFrame, decodeFrame, FrameError, hello, nameProblem, roomProblem, sniffMime, isHeifFamily, safeFileName } from "../protocol.js";

test("a frame round-trips: length prefix, JSON header, body", () => {
  const body = new Uint8Array([1, 2, 3]);
  const bytes = encodeFrame({ type: "text", id: "w-1" }, body);
  const len = new DataView(bytes.buffer).getUint32(0);
  assert.equal(len, JSON.stringify({ type: "text", id: "w-1" }).length);
  assert.deepEqual([...bytes.subarray(4 + len)], [1, 2, 3]);
  const { header, body: back } = decodeFrame(bytes.buffer);
  assert.deepEqual(header, { type: "text", id: "w-1" });
  assert.deepEqual([...back], [1, 2, 3]);
});

test("an empty body decodes as empty", () => {
  const { body } = decodeFrame(encodeFrame({ type: "ack", id: "a", seq: 3 }));
  assert.equal(body.length, 0);
});

test("bad frames are errors, never crashes", () => {
  const raw = (h, json) => {
    const j = new TextEncoder().encode(json);
    const out = new Uint8Array(4 + j.length);
    new DataView(out.buffer).setUint32(0, h);
    out.set(j, 4);
    return out;
  };
  for (const bad of [
    new Uint8Array([0, 0]),
    raw(1, "{}"),
    raw(99, '{"type":"x"}'),
    raw(70000, '{"type":"x"}'),
    raw(2, "[]"),
    raw(12, '{"type": 3 }'),
    raw(4, "null"),
    raw(2, "\xff\xfe"),
  ]) {
    assert.throws(() => decodeFrame(bad), FrameError);
  }
  assert.throws(() => encodeFrame({ type: "x", pad: "a".repeat(17000) }), FrameError);
});

test("hello carries the contract's fields; since is a number or null", () => {
  const h = hello({ name: "Ana", room: "", client: "0".repeat(32), token: "", since: undefined });
  assert.deepEqual(h, { type: "hello", v: 1, name: "Ana", room: "lobby", client: "0".repeat(32), token: null, since: null });
  assert.equal(hello({ name: "A", room: "r", client: "c", token: "t", since: 41 }).since, 41);
  assert.equal(hello({ name: "A", room: "r", client: "c", since: 0 }).since, 0);
  assert.equal(hello({ name: "A", room: "r", client: "c", since: NaN }).since, null);
});

test("names and rooms follow the relay's rules", () => {
  assert.equal(nameProblem(" Ana "), null);
  assert.match(nameProblem("   "), /Type a name/);
  assert.match(nameProblem("x".repeat(33)), /at most 32/);
  assert.equal(nameProblem("😀".repeat(32)), null);
  assert.match(nameProblem("a\u0007b"), /control/);
  assert.equal(roomProblem("lobby"), null);
  assert.equal(roomProblem("A.b_c-9"), null);
  assert.ok(roomProblem(".hidden"));
  assert.ok(roomProblem("a b"));
  assert.ok(roomProblem(""));
  assert.ok(roomProblem("r".repeat(65)));
});

test("formats are told by their bytes; HEIC is recognised to say so", () => {
  const enc = (s) => new Uint8Array([...s].map((c) => c.charCodeAt(0)));
  assert.equal(sniffMime(enc("\x89PNG\r\n\x1a\n\0\0\0\r")), "image/png");
  assert.equal(sniffMime(enc("\xff\xd8\xff\xe0\0\x10JFIF")), "image/jpeg");
  assert.equal(sniffMime(enc("GIF89a\x01\0")), "image/gif");
  assert.equal(sniffMime(enc("RIFF\x24\0\0\0WEBPVP8 ")), "image/webp");
  assert.equal(sniffMime(enc("BM\0\0\0\0")), "image/bmp");
  assert.equal(sniffMime(enc("\0\0\0\x18ftypheic")), null);
  assert.equal(isHeifFamily(enc("\0\0\0\x18ftypheic\0\0")), true);
  assert.equal(isHeifFamily(enc("\0\0\0\x18ftypmif1\0\0")), true);
  assert.equal(isHeifFamily(enc("\x89PNG\r\n\x1a\n\0\0\0\r")), false);
});

test("saved file names are sanitized", () => {
  assert.equal(safeFileName("../../etc/passwd", "image/png"), "passwd");
  assert.equal(safeFileName("C:\\Users\\a\\cat.jpg", "image/jpeg"), "cat.jpg");
  assert.equal(safeFileName("..", "image/png"), "image.png");
  assert.equal(safeFileName(".bashrc", "image/png"), "bashrc");
  assert.equal(safeFileName("a<b>:c\u0001.gif", "image/gif"), "a_b__c_.gif");
  assert.equal(safeFileName("", "image/webp"), "image.webp");
});
