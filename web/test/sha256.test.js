import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Sha256, sha256Hex } from "../sha256.js";

test("FIPS 180-4 vectors", () => {
  assert.equal(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert.equal(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert.equal(
    sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
  const million = new Uint8Array(1_000_000).fill(0x61);
  assert.equal(sha256Hex(million), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
});

test("the client secret's user id, as the relay computes it", () => {
  // 32 ASCII zeros: the relay's own tests use this secret.
  assert.equal(sha256Hex("0".repeat(32)).slice(0, 12), createHash("sha256").update("0".repeat(32)).digest("hex").slice(0, 12));
});

test("any split into chunks gives the one-shot digest", () => {
  let x = 12345;
  const data = new Uint8Array(10_000).map(() => ((x = (x * 1103515245 + 12345) >>> 0) >>> 24));
  const expected = createHash("sha256").update(data).digest("hex");
  for (const size of [1, 3, 55, 56, 63, 64, 65, 127, 1000, 4096]) {
    const h = new Sha256();
    for (let i = 0; i < data.length; i += size) h.update(data.subarray(i, i + size));
    assert.equal(h.hex(), expected, `chunks of ${size}`);
  }
  // Lengths around the padding boundary.
  for (let n = 50; n < 140; n++) {
    assert.equal(sha256Hex(data.subarray(0, n)), createHash("sha256").update(data.subarray(0, n)).digest("hex"), `length ${n}`);
  }
});
