#!/usr/bin/env python3
"""A minimal Snapwire client for the package test, standard library only.

    relay_probe.py PORT send TEXT     join room "packaging", send TEXT, wait for its ack
    relay_probe.py PORT replay TEXT   join again, succeed iff the history replay holds TEXT

Loopback only (127.0.0.1); every read has a timeout, so it never hangs.
"""

import base64
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


def join(port):
    sock, pending = connect(port)
    send_message(
        sock,
        {"type": "hello", "v": 1, "name": "package test", "room": ROOM,
         "client": CLIENT, "token": None, "since": None},
    )
    reader = Reader(sock, pending)
    header, _ = reader.message()
    if header.get("type") != "welcome":
        raise SystemExit(f"expected welcome, got {header}")
    return sock, reader, header


def main():
    if len(sys.argv) != 4 or sys.argv[2] not in ("send", "replay"):
        raise SystemExit(__doc__)
    port, mode, text = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    sock, reader, welcome = join(port)
    if mode == "send":
        item_id = "pkg-" + os.urandom(6).hex()
        send_message(sock, {"type": "text", "id": item_id}, text.encode())
        for _ in range(1000):
            header, _ = reader.message()
            if header.get("type") == "ack" and header.get("id") == item_id:
                print(f"sent, seq {header['seq']}")
                return
            if header.get("type") == "error":
                raise SystemExit(f"relay refused the text: {header}")
        raise SystemExit("no ack")
    texts, items = [], 0
    # Replayed items carry "history": true; an image is several messages, so count items.
    for _ in range(100_000):
        if items >= welcome.get("history", 0):
            break
        header, body = reader.message()
        if header.get("history") and header.get("type") in ("text", "image_begin"):
            items += 1
            if header["type"] == "text":
                texts.append(body.decode())
    if text not in texts:
        raise SystemExit(f"history does not hold {text!r}: {texts}")
    print(f"history holds it ({len(texts)} texts replayed)")


if __name__ == "__main__":
    main()
