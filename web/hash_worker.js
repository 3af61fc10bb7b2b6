// The hashing Worker: SHA-256 of each Blob it is sent, so large pictures never
// hold up the page.

import { hashInSlices } from "./hasher.js";

self.onmessage = async (e) => {
  const { id, blob } = e.data;
  try {
    self.postMessage({ id, hex: await hashInSlices(blob) });
  } catch (err) {
    self.postMessage({ id, error: String(err && err.message ? err.message : err) });
  }
};
