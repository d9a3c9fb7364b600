"""The documentation site: `mkdocs build --strict` fails on a broken link; the reference is whole.

`make docs` builds the real site in CI. These tests build scratch sites instead (a few pages, the
built-in theme, a second or two each) with the real site's `validation` settings and its
repository-pages hook, to prove what the real build relies on: a link to an example becomes a
link to its page, and a link to nothing, an anchor that no heading has or a page left out of the
nav fails the build, naming it.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml  # type: ignore[import-untyped]

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files

ROOT = Path(__file__).resolve().parent.parent
HOOK = ROOT / "docs" / "_hooks" / "repository_pages.py"
REFERENCE = ROOT / "docs" / "reference"
# The packages whose exported names the reference documents, each name by its public path.
DOCUMENTED_PACKAGES = {
    "openai_ergo": ROOT / "openai_ergo" / "__init__.py",
    "openai_ergo.resources": ROOT / "openai_ergo" / "resources" / "__init__.py",
    "openai_ergo.mock": ROOT / "openai_ergo" / "mock" / "__init__.py",
    "openai_ergo.blocking": ROOT / "openai_ergo" / "blocking.py",
    "streaming": ROOT / "streaming" / "__init__.py",
}

GUIDE = """# Guide

## Running it

[The program](../examples/hello.py) says hello; [the examples](../examples/README.md) list it;
[home](../README.md), [this section](#running-it). A link in a code span is text:
`[name](../nowhere.py)`. The [results][results] are drawn:

![chart](../benchmarks/chart.png)

[results]: ../benchmarks/results.md
"""


def _require_mkdocs() -> None:
    # Skips outside CI with what to install; under CI=true tests/conftest.py makes it a failure.
    pytest.importorskip("mkdocs", reason="install the docs extra (make install installs it)")


def _site_validation() -> dict[str, object]:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    validation: dict[str, object] = config["validation"]
    return validation


def _scratch_site(root: Path, *, extra: str = "", nav: list[object] | None = None) -> Path:
    """A scratch repository: README, docs/guide.md (plus `extra`), examples/ with one program."""
    (root / "docs").mkdir()
    (root / "examples").mkdir()
    (root / "README.md").write_text("# Scratch\n\nSee [the guide](docs/guide.md).\n")
    (root / "examples" / "README.md").write_text(
        "# Examples\n\n[hello.py](hello.py) greets; [the guide](../docs/guide.md).\n"
    )
    (root / "examples" / "hello.py").write_text('"""Says hello."""\n\nprint("hello")\n')
    (root / "benchmarks").mkdir()
    (root / "benchmarks" / "results.md").write_text("# Results\n\n![chart](chart.png)\n")
    (root / "benchmarks" / "chart.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (root / "docs" / "guide.md").write_text(GUIDE + extra)
    config = {
        "site_name": "scratch",
        "docs_dir": "docs",
        "strict": True,
        "validation": _site_validation(),
        "hooks": [str(HOOK)],
        "nav": nav
        if nav is not None
        else [{"Home": "index.md"}, {"Guide": "guide.md"}, {"Examples": "examples/index.md"}],
    }
    (root / "mkdocs.yml").write_text(yaml.safe_dump(config))
    return root


def _build(root: Path) -> subprocess.CompletedProcess[str]:
    # Never with -q: a quiet build drops warnings before --strict counts them, and passes.
    _require_mkdocs()
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(root / "site")],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )


def test_links_to_repository_files_become_links_to_their_pages(tmp_path: Path) -> None:
    result = _build(_scratch_site(tmp_path))
    assert result.returncode == 0, result.stderr
    site = tmp_path / "site"
    guide = (site / "guide" / "index.html").read_text()
    assert 'href="../examples/hello/"' in guide
    assert 'href="../examples/"' in guide
    assert 'href="../"' in guide
    # A link written inside a code span is text: left as written, not checked.
    assert "<code>[name](../nowhere.py)</code>" in guide
    program = (site / "examples" / "hello" / "index.html").read_text()
    assert "Says hello." in program
    assert "print(" in program
    assert '<a href="../">examples index</a>' in program
    index = (site / "examples" / "index.html").read_text()
    assert 'href="hello/"' in index
    assert 'href="../guide/"' in index
    # A reference-style link, and an image: a page for the Markdown file, a copy of the image.
    assert 'href="../benchmarks/results/"' in guide
    assert 'src="../benchmarks/chart.png"' in guide
    assert (site / "benchmarks" / "chart.png").read_bytes() == b"\x89PNG\r\n\x1a\n"
    results = (site / "benchmarks" / "results" / "index.html").read_text()
    assert 'src="../chart.png"' in results
    home = (site / "index.html").read_text()
    assert 'href="guide/"' in home


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ("\n[gone](../examples/missing.py)\n", "../examples/missing.py"),
        ("\n[gone](nowhere.md)\n", "nowhere.md"),
        ("\n[gone](../README.md#no-such-heading)\n", "no-such-heading"),
        ("\n[gone](#no-such-heading)\n", "no-such-heading"),
        ("\n[gone](../LICENSE)\n", "../LICENSE"),
        ("\n[gone][g]\n\n[g]: ../examples/missing.py\n", "../examples/missing.py"),
    ],
    ids=[
        "missing-example",
        "missing-page",
        "anchor-elsewhere",
        "anchor-here",
        "not-a-page",
        "reference-style",
    ],
)
def test_strict_build_fails_on_a_broken_link(tmp_path: Path, extra: str, named: str) -> None:
    result = _build(_scratch_site(tmp_path, extra=extra))
    assert result.returncode != 0
    assert named in result.stderr


def test_strict_build_fails_on_a_page_left_out_of_the_nav(tmp_path: Path) -> None:
    root = _scratch_site(tmp_path, nav=[{"Home": "index.md"}, {"Examples": "examples/index.md"}])
    result = _build(root)
    assert result.returncode != 0
    assert "guide.md" in result.stderr


def _exported(init: Path) -> list[str]:
    tree = ast.parse(init.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            assert isinstance(node.value, ast.List)
            return [e.value for e in node.value.elts if isinstance(e, ast.Constant)]  # type: ignore[misc]
    raise AssertionError(f"{init} has no __all__ list")


def test_every_exported_name_has_a_reference_entry() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(REFERENCE.glob("*.md")))
    entries = set(re.findall(r"^::: (\S+)", text, re.MULTILINE))
    missing = []
    for package, init in DOCUMENTED_PACKAGES.items():
        for name in _exported(init):
            # A name openai_ergo re-exports from openai_ergo.resources is documented once.
            also = {f"openai_ergo.{name}"} if package == "openai_ergo.resources" else set()
            if not name.startswith("__") and not ({f"{package}.{name}"} | also) & entries:
                missing.append(f"{package}.{name}")
    assert missing == [], "add a `::: name` entry to the docs/reference/ page of its part"


@pytest.fixture(scope="module")
def real_site() -> tuple[MkDocsConfig, Files]:
    """The real site's configuration and files once its plugins and hooks added theirs, as a
    build has them before it renders the first page."""
    _require_mkdocs()
    from mkdocs.config import load_config
    from mkdocs.structure.files import get_files

    config = load_config(str(ROOT / "mkdocs.yml"))
    return config, config.plugins.on_files(get_files(config), config=config)


def test_every_type_has_an_entry_with_its_fields(real_site: tuple[MkDocsConfig, Files]) -> None:
    files = real_site[1]
    pages = {file.src_uri: file.content_string for file in files.documentation_pages()}
    entries = set(re.findall(r"^## `(\w+)` \{ #\1 \}$", "\n".join(pages.values()), re.MULTILINE))
    dict_forms = set(_exported(ROOT / "openai_ergo" / "types" / "_generated" / "params.py"))
    import openai_ergo.types

    # The decoders and the Realtime client-event encoders have `::: ` entries of their own.
    functions = {
        name
        for name in openai_ergo.types.__all__
        if inspect.isfunction(getattr(openai_ergo.types, name))
    }
    expected = set(openai_ergo.types.__all__) - dict_forms - functions
    assert sorted(expected - entries) == []
    batch = pages["reference/types/batch.md"]
    # A field's `#:` comment is its description; a type in its annotation links to its entry.
    assert "- `endpoint`: `str` | `None` — The OpenAI API endpoint used by the batch.\n" in batch
    assert "- `errors`: [`BatchErrors`](#BatchErrors) | `None`\n" in batch
    assert "[`Metadata`](shared.md#Metadata)" in batch
    assert "Tag: `object` is `batch`." in batch


def test_the_coverage_table_links_each_type_to_its_entry(
    real_site: tuple[MkDocsConfig, Files],
) -> None:
    from mkdocs.structure.pages import Page

    config, files = real_site
    coverage = files.get_file_from_path("api-coverage.md")
    assert coverage is not None
    page = Page(None, coverage, config)
    markdown = config.plugins.on_page_markdown(
        coverage.content_string, page=page, config=config, files=files
    )
    row = next(line for line in markdown.splitlines() if "`client.batches.create`" in line)
    assert row.endswith(
        "| [`CreateBatchRequest`](reference/types/batch.md#CreateBatchRequest)"
        " | [`Batch`](reference/types/batch.md#Batch) |"
    )
    # The intro names classes that are not types of the API: they stay as they are.
    assert "`Paginator`" in markdown
    assert "[`Paginator`]" not in markdown
