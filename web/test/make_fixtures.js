// Writes test/fixtures/gps.jpg: phone-sensor.jpg (a picture stored sideways, as a phone sensor does) with a phone's EXIF (camera, GPS,
// orientation 6), XMP and a comment — the picture the browser test sends.
// Run: node web/test/make_fixtures.js (the result is committed; a test checks it is current).
import { readFileSync, writeFileSync } from "node:fs";
import { phoneExif, jpegWithExif } from "./exif_fixture.js";

export function gpsJpeg() {
  const tiny = new Uint8Array(readFileSync(new URL("./fixtures/phone-sensor.jpg", import.meta.url)));
  return jpegWithExif(tiny, phoneExif(6));
}

if (process.argv[1] && process.argv[1].endsWith("make_fixtures.js")) {
  writeFileSync(new URL("./fixtures/gps.jpg", import.meta.url), gpsJpeg());
}
