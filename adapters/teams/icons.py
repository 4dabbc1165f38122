"""The Teams app icons, drawn in code and written as PNG with zlib (no imaging library needed).

color.png: 192x192, a white speech bubble on the accent colour. outline.png: 32x32, the same bubble as
a white outline on transparency, as Teams requires. `python -m adapters.teams.icons` rewrites both.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

MANIFEST_DIR = Path(__file__).parent / "manifest"
ACCENT = (0x2F, 0x55, 0x97)  # also the manifest's accentColor
WHITE = (0xFF, 0xFF, 0xFF)
SUPERSAMPLE = 4

Rgba = tuple[int, int, int, int]
# A shape maps a point in the unit square to a colour, or None where it leaves the background.
Shape = Callable[[float, float], tuple[int, int, int] | None]


def png(width: int, height: int, pixels: list[list[Rgba]]) -> bytes:
    """Encode RGBA rows as a PNG file."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes(channel for pixel in row for channel in pixel) for row in pixels)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def png_size(data: bytes) -> tuple[int, int]:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _rounded_rect(x: float, y: float, box: tuple[float, float, float, float], radius: float) -> bool:
    left, top, right, bottom = box
    if not (left <= x <= right and top <= y <= bottom):
        return False
    cx = min(max(x, left + radius), right - radius)
    cy = min(max(y, top + radius), bottom - radius)
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius**2


def _tail(x: float, y: float, inset: float = 0.0) -> bool:
    # Triangle below the bubble's lower left: (0.30, 0.62) - (0.30, 0.82) - (0.48, 0.62).
    top, left, right, bottom = 0.62, 0.30 + inset, 0.48 - inset, 0.82 - 1.6 * inset
    if not (left <= x and top <= y <= bottom):
        return False
    return x <= left + (right - left) * (bottom - y) / (bottom - top)


BUBBLE = (0.16, 0.20, 0.84, 0.66)
BARS = ((0.30, 0.31, 0.70, 0.37), (0.30, 0.405, 0.62, 0.465), (0.30, 0.50, 0.52, 0.56))


def _in_bars(x: float, y: float) -> bool:
    return any(left <= x <= right and top <= y <= bottom for left, top, right, bottom in BARS)


def color_shape(x: float, y: float) -> tuple[int, int, int] | None:
    if _in_bars(x, y):
        return ACCENT
    if _rounded_rect(x, y, BUBBLE, 0.10) or _tail(x, y):
        return WHITE
    return ACCENT


def outline_shape(x: float, y: float) -> tuple[int, int, int] | None:
    stroke = 0.075
    inner = (BUBBLE[0] + stroke, BUBBLE[1] + stroke, BUBBLE[2] - stroke, BUBBLE[3] - stroke)
    in_outer = _rounded_rect(x, y, BUBBLE, 0.12) or _tail(x, y)
    in_inner = _rounded_rect(x, y, inner, 0.06) or (_tail(x, y, inset=stroke) and y > inner[3])
    if _in_bars(x, y) or (in_outer and not in_inner):
        return WHITE
    return None


def draw(size: int, shape: Shape) -> bytes:
    """Render `shape` at `size` x `size`, anti-aliased by supersampling; uncovered pixels are transparent."""
    rows: list[list[Rgba]] = []
    samples = SUPERSAMPLE * SUPERSAMPLE
    for py in range(size):
        row: list[Rgba] = []
        for px in range(size):
            r = g = b = covered = 0
            for sy in range(SUPERSAMPLE):
                for sx in range(SUPERSAMPLE):
                    colour = shape(
                        (px + (sx + 0.5) / SUPERSAMPLE) / size, (py + (sy + 0.5) / SUPERSAMPLE) / size
                    )
                    if colour is not None:
                        r, g, b, covered = r + colour[0], g + colour[1], b + colour[2], covered + 1
            if covered == 0:
                row.append((0, 0, 0, 0))
            else:
                row.append((r // covered, g // covered, b // covered, round(255 * covered / samples)))
        rows.append(row)
    return png(size, size, rows)


def color_icon() -> bytes:
    return draw(192, color_shape)


def outline_icon() -> bytes:
    return draw(32, outline_shape)


def write_icons(directory: Path = MANIFEST_DIR) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "color.png").write_bytes(color_icon())
    (directory / "outline.png").write_bytes(outline_icon())


if __name__ == "__main__":
    write_icons()
    print(f"wrote {MANIFEST_DIR / 'color.png'} and {MANIFEST_DIR / 'outline.png'}")
