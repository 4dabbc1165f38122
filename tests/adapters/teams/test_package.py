"""The Teams app package: manifest limits, icons as Teams requires them, the zip the CLI builds."""

from __future__ import annotations

import functools
import json
import re
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest

from adapters.teams import icons
from adapters.teams.icons import MANIFEST_DIR, png_size
from adapters.teams.package import PackageError, build_manifest, main

APP_ID = "5e8fd9a1-1c3b-4d0e-9f6a-2b7c8d9e0f1a"
# Drawing is pure Python and takes a second or so: draw each icon once per run.
color_icon = functools.cache(icons.color_icon)
outline_icon = functools.cache(icons.outline_icon)


def template() -> dict[str, Any]:
    return json.loads((MANIFEST_DIR / "manifest.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def rgba_pixels(data: bytes) -> list[tuple[int, int, int, int]]:
    """Decode the PNGs icons.py writes (8-bit RGBA, filter type 0 on every row)."""
    width, height = png_size(data)
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = 1 + 4 * width
    pixels: list[tuple[int, int, int, int]] = []
    for y in range(height):
        row = raw[y * stride : (y + 1) * stride]
        assert row[0] == 0
        pixels.extend((row[i], row[i + 1], row[i + 2], row[i + 3]) for i in range(1, 4 * width, 4))
    return pixels


def test_manifest_respects_teams_limits() -> None:
    manifest = template()
    version = manifest["manifestVersion"]
    assert tuple(int(p) for p in version.split(".")) >= (1, 17)
    assert manifest["$schema"].endswith(f"/v{version}/MicrosoftTeams.schema.json")
    assert len(manifest["name"]["short"]) <= 30
    assert len(manifest["description"]["short"]) <= 80
    assert len(manifest["description"]["full"]) <= 4000
    assert manifest["description"]["short"] != manifest["description"]["full"]
    assert re.fullmatch(r"#[0-9A-Fa-f]{6}", manifest["accentColor"])
    assert all(
        url.startswith("https://") for url in manifest["developer"].values() if "Url" in url or "://" in url
    )
    [bot] = manifest["bots"]
    assert set(bot["scopes"]) == {"personal", "team", "groupChat"}
    for command_list in bot["commandLists"]:
        assert len(command_list["commands"]) <= 10
        for command in command_list["commands"]:
            assert len(command["title"]) <= 32 and len(command["description"]) <= 128
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}


def test_icons_are_the_sizes_teams_requires_and_up_to_date() -> None:
    color = (MANIFEST_DIR / "color.png").read_bytes()
    outline = (MANIFEST_DIR / "outline.png").read_bytes()
    assert png_size(color) == (192, 192)
    assert png_size(outline) == (32, 32)
    assert color == color_icon() and outline == outline_icon(), "run python -m adapters.teams.icons"


def test_color_icon_is_opaque() -> None:
    assert all(a == 255 for *_, a in rgba_pixels(color_icon()))


def test_outline_icon_is_white_on_transparent() -> None:
    pixels = rgba_pixels(outline_icon())
    assert all(a == 0 or (r, g, b) == (255, 255, 255) for r, g, b, a in pixels)
    assert any(a == 0 for *_, a in pixels) and any(a == 255 for *_, a in pixels)


def test_build_manifest_fills_ids() -> None:
    manifest = build_manifest(
        template(), app_id=APP_ID, version="1.0.3", privacy_url="https://school.example/p"
    )
    assert manifest["id"] == APP_ID
    assert manifest["bots"][0]["botId"] == APP_ID
    assert manifest["version"] == "1.0.3"
    assert manifest["developer"]["privacyUrl"] == "https://school.example/p"
    assert template()["bots"][0]["botId"] != APP_ID  # the template itself is untouched


@pytest.mark.parametrize(
    "kwargs",
    [
        {"app_id": "not-a-guid"},
        {"app_id": APP_ID, "teams_app_id": "x"},
        {"app_id": APP_ID, "version": "1.0"},
        {"app_id": APP_ID, "privacy_url": "http://insecure.example"},
    ],
)
def test_build_manifest_rejects_bad_values(kwargs: dict[str, Any]) -> None:
    with pytest.raises(PackageError):
        build_manifest(template(), **kwargs)


def test_cli_writes_an_uploadable_zip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "dist" / "teams-app.zip"
    assert main(["--app-id", APP_ID, "--out", str(out)]) == 0
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(archive.read("manifest.json"))
        assert png_size(archive.read("outline.png")) == (32, 32)
    assert manifest["bots"][0]["botId"] == APP_ID
    assert "placeholder" in capsys.readouterr().err


def test_cli_takes_the_app_id_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROSOFT_APP_ID", APP_ID)
    out = tmp_path / "app.zip"
    assert main(["--out", str(out)]) == 0
    with zipfile.ZipFile(out) as archive:
        assert json.loads(archive.read("manifest.json"))["id"] == APP_ID


def test_cli_without_an_app_id_explains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MICROSOFT_APP_ID", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env here
    assert main(["--out", str(tmp_path / "x.zip")]) == 2
    assert "MICROSOFT_APP_ID" in capsys.readouterr().err
