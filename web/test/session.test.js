import "./english.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { Session, backoffMs, BACKOFF_MAX_MS, CHUNK_BYTES } from "../session.js";
import { FakeClock, FakeSocket, WELCOME, settle } from "./fakes.js";

function harness() {
  const clock = new FakeClock();
  const sockets = [];
  const events = [];
  const session = new Session({
    url: "ws://relay/ws",
    createSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    onEvent: (e) => events.push(e),
    timers: clock,
    random: () => 0.5,
  });
  const params = { name: "Ana", room: "lobby", client: "0".repeat(32), token: null };
  return { clock, sockets, events, session, params, last: () => sockets[sockets.length - 1] };
}

const from = { id: "bbbbbbbbbbbb", name: "Ben" };

test("hello first; reconnect after a drop resumes with since = the last seq relayed", async () => {
  const { session, params, sockets, last, clock, events } = harness();
  session.start(params);
  last().open();
  assert.deepEqual(last().sent[0].header, { type: "hello", v: 1, name: "Ana", room: "lobby", client: "0".repeat(32), token: null, since: null });
  last().deliver(WELCOME);
  last().deliver({ type: "text", seq: 5, ts: 1, from }, new TextEncoder().encode("hi"));
  last().deliver({ type: "image_begin", sid: 1, ts: 2, from, name: "a.png", mime: "image/png", size: 1, sha256: "0".repeat(64) });
  last().deliver({ type: "image_end", sid: 1, seq: 9, ts: 3 });
  // Our own ack is not a relayed item: `since` does not move with it.
  last().deliver({ type: "ack", id: "x", seq: 12, ts: 4 });
  last().drop();
  const offline = events.find((e) => e.t === "offline");
  assert.ok(offline && offline.retryInMs === backoffMs(0, () => 0.5));
  assert.equal(sockets.length, 1, "waits before reconnecting");
  clock.advance(offline.retryInMs);
  assert.equal(sockets.length, 2);
  last().open();
  assert.equal(last().sent[0].header.since, 9);
  await settle();
});

test("backoff doubles and is capped", () => {
  const mid = () => 0.5;
  assert.equal(backoffMs(0, mid), 500);
  assert.equal(backoffMs(1, mid), 1000);
  assert.equal(backoffMs(3, mid), 4000);
  assert.equal(backoffMs(30, mid), BACKOFF_MAX_MS);
  assert.ok(backoffMs(30, () => 0.999) <= BACKOFF_MAX_MS * 1.2);
});

test("items queued offline go after the welcome, unacked ones again after a reconnect with the same id", async () => {
  const { session, params, last, clock } = harness();
  session.start(params);
  session.sendText("w-1", "before the welcome");
  last().open();
  assert.deepEqual(last().types(), ["hello"], "nothing before welcome");
  last().deliver(WELCOME);
  await settle();
  assert.deepEqual(last().types(), ["hello", "text"]);
  assert.equal(last().sent[1].header.id, "w-1");
  session.sendText("w-2", "second");
  await settle();
  last().deliver({ type: "ack", id: "w-1", seq: 3, ts: 1 });
  last().drop(); // w-2's ack is lost
  session.sendText("w-3", "while offline");
  clock.advance(BACKOFF_MAX_MS * 2);
  last().open();
  last().deliver(WELCOME);
  await settle();
  const texts = last().sent.filter((m) => m.header.type === "text");
  assert.deepEqual(texts.map((m) => m.header.id), ["w-2", "w-3"], "w-1 was acked; w-2 again with its id");
  assert.equal(new TextDecoder().decode(texts[0].body), "second");
  last().deliver({ type: "ack", id: "w-2", seq: 4, ts: 1 });
  last().deliver({ type: "ack", id: "w-3", seq: 5, ts: 1 });
  assert.equal(session.pending(), 0);
  last().drop();
  clock.advance(BACKOFF_MAX_MS * 2);
  last().open();
  last().deliver(WELCOME);
  await settle();
  assert.deepEqual(last().types(), ["hello"], "nothing sent twice once acked");
});

test("an image goes as begin (with preview), contiguous chunks, end; again from the start after a drop", async () => {
  const { session, params, last, clock, events } = harness();
  session.start(params);
  last().open();
  last().deliver(WELCOME);
  const bytes = new Uint8Array(CHUNK_BYTES * 2 + 10).map((_, i) => i & 0xff);
  const preview = new Uint8Array([1, 2, 3]);
  session.sendImage("w-9", { name: "a.png", mime: "image/png", size: bytes.length, sha256: "f".repeat(64), width: 4, height: 3 }, preview, new Blob([bytes]));
  await settle();
  const sent = last().sent.slice(1);
  assert.deepEqual(sent.map((m) => m.header.type), ["image_begin", "image_chunk", "image_chunk", "image_chunk", "image_end"]);
  assert.deepEqual([...sent[0].body], [1, 2, 3]);
  assert.deepEqual(sent.slice(1, 4).map((m) => m.header.offset), [0, CHUNK_BYTES, CHUNK_BYTES * 2]);
  const joined = new Uint8Array(sent.slice(1, 4).flatMap((m) => [...m.body]));
  assert.deepEqual(joined, bytes);
  assert.deepEqual(events.filter((e) => e.t === "upload_progress").map((e) => e.sent), [CHUNK_BYTES, CHUNK_BYTES * 2, bytes.length]);
  last().drop();
  clock.advance(BACKOFF_MAX_MS * 2);
  last().open();
  // The relay remembered it: the ack answers the begin, and no chunk follows.
  const s = last();
  const originalSend = s.send.bind(s);
  s.send = (b) => {
    originalSend(b);
    const m = s.sent[s.sent.length - 1];
    if (m.header.type === "image_begin") s.deliver({ type: "ack", id: "w-9", seq: 7, ts: 1 });
  };
  s.deliver(WELCOME);
  await settle();
  assert.deepEqual(s.types(), ["hello", "image_begin"]);
  assert.equal(session.pending(), 0);
});

test("a full send buffer pauses the upload until it drains", async () => {
  const { session, params, last, clock } = harness();
  session.start(params);
  last().open();
  last().deliver(WELCOME);
  last().bufferedAmount = 10 << 20;
  session.sendImage("w-1", { name: "a.png", mime: "image/png", size: 5, sha256: "f".repeat(64) }, null, new Blob([new Uint8Array(5)]));
  await settle();
  assert.deepEqual(last().types(), ["hello", "image_begin"]);
  clock.advance(100);
  await settle();
  assert.deepEqual(last().types(), ["hello", "image_begin"], "still waiting");
  last().bufferedAmount = 0;
  clock.advance(20);
  await settle();
  assert.deepEqual(last().types(), ["hello", "image_begin", "image_chunk", "image_end"]);
});

test("unauthorized goes back to the form and stops retrying; slow_consumer retries", () => {
  const { session, params, last, events, sockets, clock } = harness();
  session.start(params);
  last().open();
  last().deliver({ type: "error", code: "unauthorized", message: "this relay needs a token" });
  last().drop(1008);
  assert.deepEqual(events[events.length - 1], { t: "fatal", code: "unauthorized", message: "this relay needs a token" });
  clock.advance(60000);
  assert.equal(sockets.length, 1);

  session.start({ ...params, token: "secret" });
  last().open();
  assert.equal(last().sent[0].header.token, "secret");
  last().deliver(WELCOME);
  last().deliver({ type: "error", code: "slow_consumer", message: "too slow" });
  last().drop(1008);
  assert.equal(events[events.length - 1].t, "offline");
  clock.advance(60000);
  assert.equal(sockets.length, 3);
});

test("a new epoch forgets since and joins again from the start", () => {
  const { session, params, last, events, sockets, clock } = harness();
  session.start(params);
  last().open();
  last().deliver(WELCOME);
  last().deliver({ type: "text", seq: 40, ts: 1, from }, new TextEncoder().encode("old"));
  last().drop();
  clock.advance(BACKOFF_MAX_MS * 2);
  last().open();
  assert.equal(last().sent[0].header.since, 40);
  last().deliver({ ...WELCOME, epoch: "e2" });
  assert.ok(events.some((e) => e.t === "epoch_changed"));
  assert.equal(sockets.length, 3, "joined again at once");
  last().open();
  assert.equal(last().sent[0].header.since, null);
  last().deliver({ ...WELCOME, epoch: "e2" });
  assert.equal(events[events.length - 1].t, "welcome");
});

test("receipts are best effort: only while live", () => {
  const { session, params, last } = harness();
  session.start(params);
  session.receipt(3);
  last().open();
  last().deliver(WELCOME);
  session.receipt(4);
  assert.deepEqual(last().sent.slice(1).map((m) => m.header), [{ type: "receipt", seq: 4 }]);
});
