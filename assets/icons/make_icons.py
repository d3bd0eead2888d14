#!/usr/bin/env python3
"""Draws the Venue Desk icon (a door in a blue rounded square) as RGBA PNGs, standard library only.

Run: python3 assets/icons/make_icons.py  -> writes src-tauri/icons/{32x32,128x128,icon}.png
"""
import os
import struct
import zlib

BLUE = (31, 78, 140)
WHITE = (255, 255, 255)
GOLD = (232, 176, 46)


def pixel(x, y, n):
    # Work in a 0..1 square, sample the pixel centre.
    u, v = (x + 0.5) / n, (y + 0.5) / n
    r = 0.18  # corner radius
    cx, cy = min(max(u, r), 1 - r), min(max(v, r), 1 - r)
    if (u - cx) ** 2 + (v - cy) ** 2 > r * r:
        return (0, 0, 0, 0)
    # The door: a white frame, a gold handle.
    if 0.30 <= u <= 0.70 and 0.20 <= v <= 0.82:
        inner = 0.36 <= u <= 0.64 and 0.26 <= v <= 0.82
        if not inner:
            return WHITE + (255,)
        if (u - 0.58) ** 2 + (v - 0.55) ** 2 < 0.0016:
            return GOLD + (255,)
        return BLUE + (255,)
    if 0.20 <= u <= 0.80 and 0.82 <= v <= 0.86:
        return WHITE + (255,)
    return BLUE + (255,)


def png(n):
    raw = b"".join(b"\x00" + b"".join(bytes(pixel(x, y, n)) for x in range(n)) for y in range(n))

    def chunk(kind, data):
        c = kind + data
        return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", n, n, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src-tauri", "icons")
os.makedirs(out, exist_ok=True)
for name, size in (("32x32.png", 32), ("128x128.png", 128), ("icon.png", 512)):
    with open(os.path.join(out, name), "wb") as f:
        f.write(png(size))
