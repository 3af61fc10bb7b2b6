// SHA-256 of a Blob off the main thread: one module Worker, requests matched
// by number. Where a Worker cannot start, the same code runs here in slices,
// yielding between them so the page stays responsive.

import { Sha256 } from "./sha256.js";

export const SLICE_BYTES = 1 << 20;

let worker = null;
let next = 1;
const waiting = new Map();

function startWorker() {
  if (worker !== null) return worker;
  try {
    worker = new Worker(new URL("./hash_worker.js", import.meta.url), { type: "module" });
    worker.onmessage = (e) => {
      const done = waiting.get(e.data.id);
      waiting.delete(e.data.id);
      if (!done) return;
      if (e.data.error) done.reject(new Error(e.data.error));
      else done.resolve(e.data.hex);
    };
    worker.onerror = () => {
      for (const done of waiting.values()) done.reject(new Error("the hashing worker stopped"));
      waiting.clear();
      worker = false;
    };
  } catch {
    worker = false;
  }
  return worker;
}

/** Hashes a Blob in slices; what the worker runs, and the fallback. */
export async function hashInSlices(blob, pause = () => undefined) {
  const h = new Sha256();
  for (let at = 0; at < blob.size; at += SLICE_BYTES) {
    h.update(new Uint8Array(await blob.slice(at, at + SLICE_BYTES).arrayBuffer()));
    await pause();
  }
  return h.hex();
}

const yieldToPage = () => new Promise((r) => setTimeout(r, 0));

/** SHA-256 hex of `blob`; in the Worker, or here when the Worker cannot run. */
export function hashBlob(blob) {
  const w = startWorker();
  if (!w) return hashInSlices(blob, yieldToPage);
  const id = next++;
  const inWorker = new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    w.postMessage({ id, blob });
  });
  // A worker that failed to start or stopped is no verdict on the bytes.
  return inWorker.catch(() => hashInSlices(blob, yieldToPage));
}
