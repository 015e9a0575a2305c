"""The report as a person sees it: opened in a real headless browser (Debian's `chromium`).

Reading the HTML text proves what is in the file; this proves what a browser makes of it with
no network: the DOM after loading (status, authority and period, the findings table, the
charts' SVG) and a screenshot whose pixels hold the status colour and the chart bars. The
screenshot is kept in out/test-artifacts/ for a person to look at. Without chromium the test is
skipped on a developer's machine, and fails in CI (where `.ci/run` installs it).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from tests.test_report_page import make_report

ARTIFACTS = Path(__file__).parent.parent / "out" / "test-artifacts"
WINDOW = (1280, 2600)


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed: .ci/run must install it (apt-get install chromium)")
    pytest.skip("chromium is not installed (apt-get install chromium)")


def _browse(chromium: str, page: Path, profile: Path, *mode: str) -> subprocess.CompletedProcess:
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        *mode,
        page.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def png_pixels(data: bytes):
    """The pixels of an 8-bit RGB or RGBA PNG (chromium's screenshots) as an (h, w, 3) array.

    A small decoder (zlib and the five PNG row filters) so that checking a screenshot needs no
    imaging library.
    """
    import numpy as np

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks, header = 8, [], None
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    width, height, depth, colour_type = header[:4]
    assert depth == 8 and colour_type in (2, 6) and header[6] == 0, header
    channels = 3 if colour_type == 2 else 4
    stride = width * channels
    raw = np.frombuffer(zlib.decompress(b"".join(chunks)), dtype=np.uint8)
    raw = raw.reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.uint8)
    previous = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:]
        if kind == 0:
            row = line.copy()
        elif kind == 1:  # sub: a running sum per channel
            row = np.cumsum(line.reshape(width, channels), axis=0, dtype=np.uint64)
            row = (row % 256).astype(np.uint8).reshape(stride)
        elif kind == 2:
            row = line + previous
        else:
            values, up, row_list = line.tolist(), previous.tolist(), [0] * stride
            for i in range(stride):
                left = row_list[i - channels] if i >= channels else 0
                if kind == 3:
                    row_list[i] = (values[i] + (left + up[i]) // 2) & 255
                    continue
                corner = up[i - channels] if i >= channels else 0
                p = left + up[i] - corner
                pa, pb, pc = abs(p - left), abs(p - up[i]), abs(p - corner)
                best = left if pa <= pb and pa <= pc else up[i] if pb <= pc else corner
                row_list[i] = (values[i] + best) & 255
            row = np.array(row_list, dtype=np.uint8)
        out[y] = row
        previous = row
    return out.reshape(height, width, channels)[:, :, :3]


def colour_count(pixels, rgb: str) -> int:
    """How many pixels have exactly this colour."""
    import numpy as np

    wanted = np.frombuffer(bytes.fromhex(rgb.lstrip("#")), dtype=np.uint8)
    return int((pixels == wanted).all(axis=2).sum())


def test_a_browser_shows_status_authority_period_charts_and_findings(tmp_path):
    chromium = _chromium()
    _, report, files = make_report(tmp_path)
    page = files[0]

    dom = _browse(chromium, page, tmp_path / "profile-dom", "--dump-dom").stdout
    assert 'class="status status-red"' in dom
    assert "Red: not ready to submit" in dom
    assert "Sampleshire &lt;Council&gt; (LA code 999)" in dom
    assert "1 October 2024 to 30 September 2025" in dom
    assert dom.count("<svg ") == 2 and dom.count("<rect ") >= 12
    assert "<img" not in dom  # the hostile Gender stayed text
    assert '<th scope="col">Event Reference</th>' in dom
    assert "list.value" in dom

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    _browse(chromium, page, tmp_path / "profile-shot", f"--screenshot={shot}")
    assert shot.is_file() and shot.stat().st_size > 10_000
    pixels = png_pixels(shot.read_bytes())
    assert colour_count(pixels, "#fbe9eb") > 5_000  # the red status panel, drawn
    assert colour_count(pixels, "#1f5fa8") > 500  # this quarter's bars, drawn
    assert colour_count(pixels, "#9aa5b1") > 500  # last quarter's bars, drawn
    assert report.errors
