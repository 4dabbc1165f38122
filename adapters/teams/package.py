"""Build the Teams app package (the zip you upload to Teams) from manifest/ with the bot's app id filled in.

    python -m adapters.teams.package --app-id <MICROSOFT_APP_ID> --out dist/teams-app.zip

Without --app-id the MICROSOFT_APP_ID setting (environment or .env) is used.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adapters.teams.icons import MANIFEST_DIR, png_size

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
SEMVER = re.compile(r"^\d+\.\d+\.\d+$")
ICON_SIZES = {"color": (192, 192), "outline": (32, 32)}
PLACEHOLDER_HOST = "example.org"


class PackageError(ValueError):
    """The package cannot be built; the message says what to change."""


def build_manifest(
    template: dict[str, Any],
    *,
    app_id: str,
    teams_app_id: str | None = None,
    version: str | None = None,
    website_url: str | None = None,
    privacy_url: str | None = None,
    terms_url: str | None = None,
) -> dict[str, Any]:
    """The template with the bot id (and optionally the Teams app id, version, developer URLs) filled in."""
    if not GUID.match(app_id):
        raise PackageError(
            "the app id must be the bot's Microsoft App ID (a GUID), e.g. from MICROSOFT_APP_ID"
        )
    teams_app_id = teams_app_id or app_id
    if not GUID.match(teams_app_id):
        raise PackageError("--teams-app-id must be a GUID")
    manifest = copy.deepcopy(template)
    manifest["id"] = teams_app_id
    bots = manifest.get("bots")
    if not isinstance(bots, list) or not bots:
        raise PackageError("the manifest template has no bots section")
    for bot in bots:
        bot["botId"] = app_id
    if version is not None:
        if not SEMVER.match(version):
            raise PackageError("--version must look like 1.2.3")
        manifest["version"] = version
    developer = manifest.setdefault("developer", {})
    for key, value in (
        ("websiteUrl", website_url),
        ("privacyUrl", privacy_url),
        ("termsOfUseUrl", terms_url),
    ):
        if value is not None:
            if not value.startswith("https://"):
                raise PackageError(f"developer {key} must be an https:// URL")
            developer[key] = value
    return manifest


def placeholders(manifest: dict[str, Any]) -> list[str]:
    """Developer URLs still pointing at the template's placeholder site."""
    developer = manifest.get("developer", {})
    return [key for key, value in developer.items() if isinstance(value, str) and PLACEHOLDER_HOST in value]


def write_package(manifest: dict[str, Any], out: Path, source: Path = MANIFEST_DIR) -> Path:
    """Zip manifest.json and the two icons at the top level, as Teams expects."""
    icons = manifest.get("icons", {})
    files: dict[str, bytes] = {}
    for kind, size in ICON_SIZES.items():
        name = icons.get(kind)
        if not isinstance(name, str) or "/" in name or "\\" in name:
            raise PackageError(f"icons.{kind} must name a file in {source}")
        data = (source / name).read_bytes()
        if png_size(data) != size:
            raise PackageError(f"{name} must be {size[0]}x{size[1]} pixels")
        files[name] = data
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        for name, data in files.items():
            archive.writestr(name, data)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m adapters.teams.package", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--app-id", help="the bot's Microsoft App ID (default: MICROSOFT_APP_ID)")
    parser.add_argument("--teams-app-id", help="the Teams app's own id (default: the bot's app id)")
    parser.add_argument("--version", help="app version, e.g. 1.0.1 (bump it for every re-upload)")
    parser.add_argument("--website-url", help="developer website (https://)")
    parser.add_argument("--privacy-url", help="privacy statement (https://)")
    parser.add_argument("--terms-url", help="terms of use (https://)")
    parser.add_argument("--out", type=Path, default=Path("dist/teams-app.zip"), help="zip to write")
    args = parser.parse_args(argv)

    app_id = args.app_id
    if not app_id:
        from bot.settings import Settings

        app_id = Settings().microsoft_app_id
    if not app_id:
        print("error: give --app-id or set MICROSOFT_APP_ID", file=sys.stderr)
        return 2
    template = json.loads((MANIFEST_DIR / "manifest.json").read_text(encoding="utf-8"))
    try:
        manifest = build_manifest(
            template,
            app_id=app_id.strip(),
            teams_app_id=args.teams_app_id,
            version=args.version,
            website_url=args.website_url,
            privacy_url=args.privacy_url,
            terms_url=args.terms_url,
        )
        out = write_package(manifest, args.out)
    except PackageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for key in placeholders(manifest):
        print(
            f"note: developer.{key} is still a placeholder; set it before publishing org-wide",
            file=sys.stderr,
        )
    print(f"wrote {out} (bot {app_id}, version {manifest['version']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
