"""Every relative link of README.md and docs/*.md resolves: the file (a picture, a document, a folder) exists, and a
`#part` names a heading of the page it points into. Links to other sites are not fetched (the tests run offline)."""

import re
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
CODE = re.compile(r"`[^`\n]*`")


def links(text: str) -> list[str]:
    """The targets of the page's Markdown links and pictures, leaving out code blocks and `code`."""
    return LINK.findall(CODE.sub("", FENCE.sub("", text)))


def anchors(text: str) -> set[str]:
    """The `#part`s GitHub makes of a page's headings: lower case, punctuation dropped, spaces as hyphens, a repeated
    heading numbered (-1, -2, ...)."""
    seen: Counter = Counter()
    out = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", FENCE.sub("", text), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        out.add(f"{slug}-{seen[slug]}" if seen[slug] else slug)
        seen[slug] += 1
    return out


def test_the_link_finder_reads_markdown_as_github_does():
    text = '# Docker (GPU)\n## 1. Data\n## Data\n## Data\n[a](x.md) ![b](p.png "t") `[c](no.md)`\n```\n[d](no.md)\n```\n'
    assert links(text) == ["x.md", "p.png"]
    assert anchors(text) == {"docker-gpu", "1-data", "data", "data-1"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path):
    broken = []
    for target in links(page.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...: another site
            continue
        path, _, part = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif part and file.suffix == ".md" and part not in anchors(file.read_text(encoding="utf-8")):
            broken.append(f"{target}: no heading makes #{part}")
    # The README's pictures are taken by the browser tests (tests/app/test_browser.py, test_browser_database.py):
    # a missing docs/screenshots/*.png is made by running them.
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)
