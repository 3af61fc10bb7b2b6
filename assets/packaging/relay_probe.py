#!/usr/bin/env python3
"""A minimal Snapwire client for the package test, standard library only.

    relay_probe.py PORT send TEXT          join room "packaging", send TEXT, wait for its ack
    relay_probe.py PORT send-image FILE    send the PNG or JPEG FILE as an image, wait for its ack
    relay_probe.py PORT replay TEXT [--since N] [--image FILE]
        join again, succeed iff the history replay holds TEXT (and FILE, byte for
        byte); without --since the relay replays its latest items, with it every
        item after seq N (0: the whole history)

Loopback only (127.0.0.1); every read has a timeout, so it never hangs.
"""

import argparse
import base64
import hashlib
import json
import os
import socket
import struct
import sys

TIMEOUT_S = 20
ROOM = "packaging"
# Fixed, so the second run is the same client (its id) coming back.
CLIENT = "5eedc0de" * 4


def connect(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise SystemExit("relay closed the connection during the upgrade")
        head += chunk
        if len(head) > 65536:
            raise SystemExit("upgrade answer too long")
    status = head.split(b"\r\n", 1)[0]
    if b" 101 " not in status:
        raise SystemExit(f"upgrade refused: {status!r}")
    # Bytes after the headers already belong to the first frame.
    return sock, bytearray(head.split(b"\r\n\r\n", 1)[1])


def send_frame(sock, opcode, payload):
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    sock.sendall(head + mask + body)


def send_message(sock, header, body=b""):
    h = json.dumps(header).encode()
    send_frame(sock, 0x2, struct.pack("!I", len(h)) + h + body)


class Reader:
    def __init__(self, sock, pending):
        self.sock = sock
        self.buf = pending

    def take(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise SystemExit("relay closed the connection")
            self.buf += chunk
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def message(self):
        """The next protocol message as (header, body); answers pings on the way."""
        data = b""
        while True:
            b0, b1 = self.take(2)
            fin, opcode, n = b0 & 0x80, b0 & 0x0F, b1 & 0x7F
            if n == 126:
                (n,) = struct.unpack("!H", self.take(2))
            elif n == 127:
                (n,) = struct.unpack("!Q", self.take(8))
            payload = self.take(n)
            if opcode == 0x9:
                send_frame(self.sock, 0xA, payload)
                continue
            if opcode == 0x8:
                raise SystemExit(f"relay closed the WebSocket: {payload[2:]!r}")
            if opcode in (0x0, 0x2):
                data += payload
                if fin:
                    break
        (h,) = struct.unpack("!I", data[:4])
        return json.loads(data[4 : 4 + h]), data[4 + h :]


def join(port, since=None):
    sock, pending = connect(port)
    send_message(
        sock,
        {"type": "hello", "v": 1, "name": "package test", "room": ROOM,
         "client": CLIENT, "token": None, "since": since},
    )
    reader = Reader(sock, pending)
    header, _ = reader.message()
    if header.get("type") != "welcome":
        raise SystemExit(f"expected welcome, got {header}")
    return sock, reader, header


def wait_ack(reader, item_id):
    for _ in range(1000):
        header, _ = reader.message()
        if header.get("type") == "ack" and header.get("id") == item_id:
            return header
        if header.get("type") == "error":
            raise SystemExit(f"relay refused {item_id}: {header}")
    raise SystemExit("no ack")


def send_text(port, text):
    sock, reader, _ = join(port)
    item_id = "pkg-" + os.urandom(6).hex()
    send_message(sock, {"type": "text", "id": item_id}, text.encode())
    print(f"sent, seq {wait_ack(reader, item_id)['seq']}")


# The formats the relay accepts whose signature this probe knows.
SIGNATURES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


def send_image(port, path):
    with open(path, "rb") as f:
        data = f.read()
    mime = next((m for sig, m in SIGNATURES.items() if data.startswith(sig)), None)
    if mime is None:
        raise SystemExit(f"{path} is neither a PNG nor a JPEG")
    sock, reader, welcome = join(port)
    chunk = welcome["limits"]["max_chunk_bytes"]
    if len(data) > welcome["limits"]["max_image_bytes"]:
        raise SystemExit(f"{path} is larger than the relay accepts")
    item_id = "pkg-" + os.urandom(6).hex()
    send_message(sock, {"type": "image_begin", "id": item_id, "name": os.path.basename(path),
                        "mime": mime, "size": len(data),
                        "sha256": hashlib.sha256(data).hexdigest()})
    for offset in range(0, len(data), chunk):
        send_message(sock, {"type": "image_chunk", "id": item_id, "offset": offset},
                     data[offset : offset + chunk])
    send_message(sock, {"type": "image_end", "id": item_id})
    print(f"image sent, seq {wait_ack(reader, item_id)['seq']}")


def replay(port, text, since, image_path):
    """Succeeds iff the replay holds TEXT and, if given, the image's exact bytes."""
    _, reader, welcome = join(port, since)
    texts, images, streams, done = [], [], {}, 0
    # Replayed items carry "history": true; an image is complete at its image_end.
    for _ in range(100_000):
        if done >= welcome.get("history", 0):
            break
        header, body = reader.message()
        kind = header.get("type")
        if kind == "text" and header.get("history"):
            texts.append(body.decode())
            done += 1
        elif kind == "image_begin" and header.get("history"):
            streams[header["sid"]] = (header["sha256"], bytearray())
        elif kind == "image_chunk" and header.get("sid") in streams:
            streams[header["sid"]][1].extend(body)
        elif kind == "image_end" and header.get("sid") in streams:
            sha, data = streams.pop(header["sid"])
            if hashlib.sha256(data).hexdigest() != sha:
                raise SystemExit(f"replayed image seq {header.get('seq')} fails its SHA-256")
            images.append(sha)
            done += 1
    if text not in texts:
        raise SystemExit(f"history does not hold {text!r}: {texts}")
    if image_path is not None:
        with open(image_path, "rb") as f:
            want = hashlib.sha256(f.read()).hexdigest()
        if want not in images:
            raise SystemExit(f"history does not hold the image {image_path}")
    print(f"history holds it ({len(texts)} texts, {len(images)} images replayed)")


def main():
    parser = argparse.ArgumentParser(usage=__doc__)
    parser.add_argument("port", type=int)
    parser.add_argument("mode", choices=("send", "send-image", "replay"))
    parser.add_argument("arg", help="the text, or for send-image the picture")
    parser.add_argument("--since", type=int, default=None)
    parser.add_argument("--image", default=None)
    args = parser.parse_args()
    if args.mode == "send":
        send_text(args.port, args.arg)
    elif args.mode == "send-image":
        send_image(args.port, args.arg)
    else:
        replay(args.port, args.arg, args.since, args.image)


if __name__ == "__main__":
    main()
