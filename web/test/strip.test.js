import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { stripMetadata, exifOrientation, crc32, StripError } from "../strip.js";
import { phoneExif, jpegWithExif, CAMERA } from "./exif_fixture.js";

const fixture = (name) => new Uint8Array(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)));
const text = (bytes) => Buffer.from(bytes).toString("latin1");

/** JPEG segments before the scan: [{marker, contents}], and the bytes from SOS on. */
function jpegSegments(b) {
  const segs = [];
  let i = 2;
  while (b[i + 1] !== 0xda) {
    const len = (b[i + 2] << 8) | b[i + 3];
    segs.push({ marker: b[i + 1], contents: b.subarray(i + 4, i + 2 + len) });
    i += 2 + len;
  }
  return { segs, scan: b.subarray(i) };
}

test("the fixture EXIF is what a phone writes: orientation and GPS", () => {
  const tiff = phoneExif(6);
  assert.equal(exifOrientation(tiff), 6);
  assert.ok(text(tiff).includes(CAMERA));
});

test("JPEG: GPS, camera, XMP and comment go; orientation stays; pixels are byte for byte", () => {
  const original = fixture("tiny.jpg");
  const withGps = jpegWithExif(original, phoneExif(6));
  assert.ok(text(withGps).includes(CAMERA));
  const { bytes, removed } = stripMetadata(withGps, "image/jpeg");
  assert.equal(removed, true);
  const out = text(bytes);
  assert.ok(!out.includes(CAMERA), "camera model removed");
  assert.ok(!out.includes("xmpmeta"), "XMP removed");
  assert.ok(!out.includes("shot at home"), "comment removed");
  const { segs, scan } = jpegSegments(bytes);
  assert.equal(segs[0].marker, 0xe0, "JFIF APP0 stays first");
  const exif = segs.filter((s) => s.marker === 0xe1);
  assert.equal(exif.length, 1, "one small EXIF");
  assert.equal(exifOrientation(exif[0].contents), 6, "orientation kept");
  assert.ok(exif[0].contents.length <= 40, `orientation-only EXIF, ${exif[0].contents.length} bytes`);
  // Quantization and Huffman tables and the scan are the original's.
  assert.deepEqual(jpegSegments(original).scan, scan);
  assert.deepEqual(
    segs.filter((s) => s.marker !== 0xe1).map((s) => text(s.contents)),
    jpegSegments(original).segs.map((s) => text(s.contents)),
  );
});

test("JPEG: upright photos lose their EXIF entirely; clean files come back unchanged", () => {
  const { bytes } = stripMetadata(jpegWithExif(fixture("tiny.jpg"), phoneExif(1)), "image/jpeg");
  assert.deepEqual(bytes, fixture("tiny.jpg"));
  const clean = fixture("tiny.jpg");
  const again = stripMetadata(clean, "image/jpeg");
  assert.equal(again.removed, false);
  assert.equal(again.bytes, clean);
});

function pngChunks(b) {
  const out = [];
  let i = 8;
  while (i < b.length) {
    const len = new DataView(b.buffer, b.byteOffset).getUint32(i);
    out.push({ kind: text(b.subarray(i + 4, i + 8)), data: b.subarray(i + 8, i + 8 + len), crc: new DataView(b.buffer, b.byteOffset).getUint32(i + 8 + len) });
    i += 12 + len;
  }
  return out;
}

function pngWith(original, kind, data) {
  const chunk = new Uint8Array(12 + data.length);
  const v = new DataView(chunk.buffer);
  v.setUint32(0, data.length);
  chunk.set([...kind].map((c) => c.charCodeAt(0)), 4);
  chunk.set(data, 8);
  v.setUint32(8 + data.length, crc32(chunk.subarray(4, 8 + data.length)));
  const ihdrEnd = 8 + 25;
  return new Uint8Array([...original.subarray(0, ihdrEnd), ...chunk, ...original.subarray(ihdrEnd)]);
}

test("PNG: eXIf and text chunks go, orientation is put back with a valid CRC", () => {
  const original = fixture("tiny.png");
  let png = pngWith(original, "eXIf", phoneExif(8));
  png = pngWith(png, "tEXt", new TextEncoder().encode("Comment\0taken at 48.85N"));
  const { bytes, removed } = stripMetadata(png, "image/png");
  assert.equal(removed, true);
  const chunks = pngChunks(bytes);
  assert.deepEqual(chunks.filter((c) => ["tEXt", "zTXt", "iTXt", "tIME"].includes(c.kind)), []);
  assert.equal(chunks[0].kind, "IHDR");
  assert.equal(chunks[1].kind, "eXIf");
  assert.equal(exifOrientation(chunks[1].data), 8);
  assert.ok(!text(bytes).includes(CAMERA));
  for (const c of chunks) {
    const kindAndData = new Uint8Array([...c.kind].map((x) => x.charCodeAt(0)).concat([...c.data]));
    assert.equal(c.crc, crc32(kindAndData), `CRC of ${c.kind}`);
  }
  const idat = (b) => pngChunks(b).filter((c) => c.kind === "IDAT").map((c) => text(c.data));
  assert.deepEqual(idat(bytes), idat(original));
});

test("WebP: EXIF and XMP chunks go, VP8X flags follow, RIFF size is right", () => {
  const simple = fixture("tiny.webp");
  // Turn the simple file into an extended one with EXIF and XMP, as a phone would.
  const vp8x = new Uint8Array(18);
  vp8x.set([0x56, 0x50, 0x38, 0x58, 10, 0, 0, 0, 0x08 | 0x04, 0, 0, 0, 23, 0, 0, 15, 0, 0]);
  const tiff = phoneExif(3);
  const exif = new Uint8Array([0x45, 0x58, 0x49, 0x46, ...new Uint8Array(new Uint32Array([tiff.length]).buffer), ...tiff, ...(tiff.length & 1 ? [0] : [])]);
  const xmpData = new TextEncoder().encode("<x:xmpmeta>GPS</x:xmpmeta>");
  const xmp = new Uint8Array([0x58, 0x4d, 0x50, 0x20, ...new Uint8Array(new Uint32Array([xmpData.length]).buffer), ...xmpData, ...(xmpData.length & 1 ? [0] : [])]);
  const body = new Uint8Array([...vp8x, ...simple.subarray(12), ...exif, ...xmp]);
  const webp = new Uint8Array([0x52, 0x49, 0x46, 0x46, ...new Uint8Array(new Uint32Array([4 + body.length]).buffer), 0x57, 0x45, 0x42, 0x50, ...body]);
  const { bytes, removed } = stripMetadata(webp, "image/webp");
  assert.equal(removed, true);
  const out = text(bytes);
  assert.ok(!out.includes(CAMERA) && !out.includes("xmpmeta"));
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  assert.equal(view.getUint32(4, true), bytes.length - 8, "RIFF size");
  assert.equal(bytes[20] & 0x04, 0, "XMP flag cleared");
  assert.equal(bytes[20] & 0x08, 0x08, "EXIF flag kept for the orientation");
  const exifAt = out.indexOf("EXIF");
  assert.equal(exifOrientation(bytes.subarray(exifAt + 8)), 3);
  assert.ok(out.includes(text(simple.subarray(12))), "the VP8 bitstream is untouched");
  assert.equal(stripMetadata(simple, "image/webp").removed, false);
});

test("unreadable containers are errors, GIF and BMP pass through", () => {
  assert.throws(() => stripMetadata(new Uint8Array([0xff, 0xd8, 0xff, 0xe1, 0xff, 0xff]), "image/jpeg"), StripError);
  assert.throws(() => stripMetadata(fixture("tiny.png").subarray(0, 40), "image/png"), StripError);
  assert.throws(() => stripMetadata(new Uint8Array([1, 2, 3]), "image/webp"), StripError);
  const gif = new Uint8Array([0x47, 0x49, 0x46, 0x38, 0x39, 0x61]);
  assert.equal(stripMetadata(gif, "image/gif").bytes, gif);
});

test("the browser test's gps.jpg is current (node web/test/make_fixtures.js)", async () => {
  const { gpsJpeg } = await import("./make_fixtures.js");
  assert.deepEqual(fixture("gps.jpg"), gpsJpeg());
});
