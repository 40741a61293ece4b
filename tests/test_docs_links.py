"""Every relative link and image in the README and docs/ points at a file (and a heading) that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

README_MAX_LINES = 250  # a newcomer's first sitting; the rest belongs in docs/
MARKDOWN = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```.*?^```", re.M | re.S)  # links and "# comments" inside code blocks are not markdown
LINK = re.compile(r'\]\(([^)\s]+)(?:\s+"[^"]*")?\)')  # [text](target) and ![alt](target "title")


def links(text: str) -> list[str]:
    """The targets of every markdown link and image in `text`, outside code blocks."""
    return LINK.findall(FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation but '-' and '_' dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor the headings of `path` produce, with GitHub's -1, -2 for repeated headings."""
    counts: dict[str, int] = {}
    found = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", FENCE.sub("", path.read_text()), re.M):
        base = slug(heading)
        found.add(f"{base}-{counts[base]}" if base in counts else base)
        counts[base] = counts.get(base, 0) + 1
    return found


def test_the_scanner_finds_links_images_and_anchors(tmp_path: Path) -> None:
    sample = "See [a](docs/a.md#two-words), ![b](img/b.png \"title\") and [c](#here).\n```\n[d](skip.md)\n```\n"
    assert links(sample) == ["docs/a.md#two-words", "img/b.png", "#here"]
    assert slug("Inside the network: what to look for") == "inside-the-network-what-to-look-for"
    assert slug("`NNLAB_DATA_DIR` and make_run") == "nnlab_data_dir-and-make_run"
    (tmp_path / "a.md").write_text("# Two words\n## Two words\n```bash\n# not a heading\n```\n")
    assert anchors(tmp_path / "a.md") == {"two-words", "two-words-1"}


def test_the_readme_is_short() -> None:
    lines = len((ROOT / "README.md").read_text().splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines (at most {README_MAX_LINES}): move detail to docs/"


@pytest.mark.parametrize("page", MARKDOWN, ids=[str(p.relative_to(ROOT)) for p in MARKDOWN])
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for target in links(page.read_text()):
        if re.match(r"(https?|mailto):", target):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no file {file}")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no heading in {file.name} gives #{anchor}")
    assert not broken, f"{page.relative_to(ROOT)}: broken links\n" + "\n".join(broken)


def code_map_paths(text: str) -> list[str]:
    """The files and folders the README's code map names, as paths from the root (indentation nests them)."""
    block = text.split("## Code map", 1)[1].split("```text", 1)[1].split("```", 1)[0]
    found, parents = [], {}
    for line in block.splitlines():
        entry = line.split("#", 1)[0].rstrip()
        if not entry.strip():
            continue
        depth = (len(entry) - len(entry.lstrip())) // 2
        names = [name.strip() for name in entry.strip().split(",")]
        prefix = "".join(parents[d] for d in range(depth))
        found += [prefix + name for name in names]
        if names[-1].endswith("/"):
            parents[depth] = names[-1]
    return found


def test_the_code_map_matches_the_tree() -> None:
    paths = code_map_paths((ROOT / "README.md").read_text())
    assert "core/config.py" in paths and "app_pages/common/" in paths and len(paths) >= 15
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert missing == [], f"the README's code map names paths that do not exist: {missing}"
    packages = {f"core/{p.name}/" for p in (ROOT / "core").iterdir() if (p / "__init__.py").is_file()}
    assert packages <= set(paths), f"core packages missing from the code map: {sorted(packages - set(paths))}"
