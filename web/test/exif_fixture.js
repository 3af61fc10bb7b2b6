// Builds an EXIF block as a phone writes one: IFD0 with Make, Model and
// Orientation, and a GPS IFD with a latitude and longitude. Little-endian
// ("II"), as most phones write it.

const ascii = (s) => [...s].map((c) => c.charCodeAt(0));

export const CAMERA = "SnapPhone 12";
export const GPS_REF = "N";

/** TIFF bytes (no "Exif\0\0" prefix) with `orientation` and a GPS position. */
export function phoneExif(orientation) {
  const out = [];
  const u16 = (v) => out.push(v & 0xff, v >> 8);
  const u32 = (v) => out.push(v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24);
  // Header; IFD0 at 8 with 4 entries.
  out.push(0x49, 0x49);
  u16(42);
  u32(8);
  const ifd0Entries = 4;
  const ifd0End = 8 + 2 + ifd0Entries * 12 + 4;
  const make = ascii(CAMERA + "\0");
  const makeAt = ifd0End;
  const gpsAt = makeAt + make.length + (make.length & 1);
  u16(ifd0Entries);
  // Make (ASCII, out of line)
  u16(0x010f); u16(2); u32(make.length); u32(makeAt);
  // Model (ASCII, 4 bytes inline)
  u16(0x0110); u16(2); u32(4); out.push(...ascii("X12\0"));
  // Orientation (SHORT inline)
  u16(0x0112); u16(3); u32(1); u16(orientation); u16(0);
  // GPS IFD pointer
  u16(0x8825); u16(4); u32(1); u32(gpsAt);
  u32(0); // no next IFD
  out.push(...make);
  if (make.length & 1) out.push(0);
  // GPS IFD: LatitudeRef, Latitude (3 rationals out of line), LongitudeRef, Longitude.
  const gpsEntries = 4;
  const ratAt = gpsAt + 2 + gpsEntries * 12 + 4;
  u16(gpsEntries);
  u16(0x0001); u16(2); u32(2); out.push(...ascii(GPS_REF + "\0"), 0, 0);
  u16(0x0002); u16(5); u32(3); u32(ratAt);
  u16(0x0003); u16(2); u32(2); out.push(...ascii("E\0"), 0, 0);
  u16(0x0004); u16(5); u32(3); u32(ratAt + 24);
  u32(0);
  for (const [n, d] of [[48, 1], [51, 1], [2940, 100], [2, 1], [17, 1], [4020, 100]]) {
    u32(n);
    u32(d);
  }
  return new Uint8Array(out);
}

/** A JPEG with an APP1 EXIF segment put right after its JFIF APP0. */
export function jpegWithExif(jpeg, tiff) {
  const payload = [...ascii("Exif\0\0"), ...tiff];
  const app1 = [0xff, 0xe1, (payload.length + 2) >> 8, (payload.length + 2) & 0xff, ...payload];
  const app0Len = (jpeg[4] << 8) | jpeg[5];
  const cut = 4 + app0Len;
  const xmp = [...ascii("http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>GPS</x:xmpmeta>")];
  const app1xmp = [0xff, 0xe1, (xmp.length + 2) >> 8, (xmp.length + 2) & 0xff, ...xmp];
  const comment = [...ascii("shot at home")];
  const com = [0xff, 0xfe, 0, comment.length + 2, ...comment];
  return new Uint8Array([...jpeg.subarray(0, cut), ...app1, ...app1xmp, ...com, ...jpeg.subarray(cut)]);
}
