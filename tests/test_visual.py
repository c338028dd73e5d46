"""Visual regression: the preview's screenshots of each preset theme, compared with the
baselines committed in tests/baselines/<theme>/. After an intended change to the pages,
refresh them with `make baselines` and review the PNG diff before committing."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from checkout import preview, themes

pytestmark = pytest.mark.browser
BASELINES = Path(__file__).parent / "baselines"
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts" / "visual"
UPDATE = os.environ.get("CHECKOUT_UPDATE_BASELINES") == "1"
CHANNEL_TOLERANCE = 16  # a pixel differs when one of its channels moved by more than this
MAX_CHANGED = 0.005  # fraction of differing pixels a screenshot may have


def matrix(theme: str) -> tuple[tuple[str, ...], tuple[tuple[int, int], ...]]:
    """Every locale and viewport for the default theme; Russian on a phone for the others
    (the tightest layout), to keep the test short."""
    if theme == themes.DEFAULT_THEME:
        return preview.DEFAULT_LOCALES, preview.DEFAULT_VIEWPORTS
    return ("ru_RU",), ((375, 812),)


def difference(actual: Path, expected: Path, diff_path: Path) -> str | None:
    """What differs beyond the tolerance, or None. Writes the differing pixels to diff_path."""
    with Image.open(actual) as a, Image.open(expected) as b:
        if a.size != b.size:
            return f"{a.size[0]}x{a.size[1]} px, baseline {b.size[0]}x{b.size[1]} px (actual: {diff_path.parent})"
        r, g, bl = ImageChops.difference(a.convert("RGB"), b.convert("RGB")).split()
        changed = ImageChops.lighter(ImageChops.lighter(r, g), bl).point(
            lambda v: 255 if v > CHANNEL_TOLERANCE else 0)
        fraction = changed.histogram()[255] / (a.size[0] * a.size[1])
        if fraction < MAX_CHANGED:
            return None
        diff_path.parent.mkdir(parents=True, exist_ok=True)
        changed.save(diff_path)
        return f"{fraction:.2%} of pixels differ (diff: {diff_path})"


@pytest.fixture(scope="module")
def preview_site():
    with preview.serve() as site:
        yield site


@pytest.mark.parametrize("theme", themes.presets())
def test_preview_matches_baselines(theme, browser, preview_site, tmp_path):
    locales, viewports = matrix(theme)
    compare(theme, theme, locales, viewports, browser, preview_site, tmp_path)


def test_right_to_left_pages_match_their_baselines(browser, preview_site, tmp_path):
    """Arabic and Hebrew, mirrored, on a phone and a desktop (tests/baselines/default-rtl/)."""
    compare(themes.DEFAULT_THEME, "default-rtl", ("ar", "he_IL"), preview.DEFAULT_VIEWPORTS, browser, preview_site,
            tmp_path)


def compare(theme, baselines, locales, viewports, browser, preview_site, tmp_path):
    report = preview.render(theme, tmp_path, locales, viewports, browser=browser, site=preview_site)
    assert not report.problems, "the preview found problems:\n" + "\n".join(report.problems)
    assert len(report.shots) == len(preview.STATES) * len(locales) * len(viewports)
    folder = BASELINES / baselines
    if UPDATE:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for name in report.shots.values():
            shutil.copyfile(tmp_path / name, folder / name)
        return
    failures = []
    for name in sorted(report.shots.values()):
        if not (folder / name).is_file():
            failures.append(f"{name}: no baseline; create it with `make baselines` "
                            "(CHECKOUT_UPDATE_BASELINES=1 .venv/bin/pytest tests/test_visual.py)")
            continue
        problem = difference(tmp_path / name, folder / name, ARTIFACTS / baselines / name)
        if problem:
            (ARTIFACTS / baselines).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(tmp_path / name, ARTIFACTS / baselines / f"actual-{name}")
            failures.append(f"{name}: {problem}")
    assert not failures, (f"theme {theme!r} differs from tests/baselines/{baselines}/ (if intended: "
                          "`make baselines`):\n" + "\n".join(failures))
