"""MkDocs hook: the repository files the guides link to become pages of the site.

The guides live in docs/ and link to what sits beside it as a reader of the repository sees it:
`[batch.py](../examples/batch.py)`, `[results](../benchmarks/results/latest.md)`. MkDocs knows
only docs/, so such a link would point outside the site. This hook follows every relative link
of the pages (and of README.md, the site's home page) to the repository file it names, gives that
file a place in the site and rewrites the link to it:

- a Markdown file becomes a page at the same path; a README.md becomes its folder's index.md
  (README.md itself the home page, examples/README.md the examples index);
- a Python file becomes a page that shows the program (examples/batch.py -> examples/batch.md);
- any other file (an image a page shows) is copied as it is.

A link to a file that does not exist is left as it was written, so `mkdocs build --strict`
still reports it as broken: the hook makes real links work, never hides a broken one. Every
program in examples/ gets a page whether a page links to it or not, so the examples index can
list them all.
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Iterator
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.pages import Page

# An inline link or image target: `](target)` or `](target "title")`.
_LINK = re.compile(r'(?P<open>\]\()(?P<target><[^>]*>|[^)\s]+)(?P<rest>(?:\s+"[^"]*")?\))')
# A reference-style link definition: `[name]: target` or `[name]: target "title"`.
_DEFINITION = re.compile(
    r"^(?P<open> {0,3}\[[^\]]+\]:[ \t]*)(?P<target><[^>]*>|\S+)(?P<rest>(?:[ \t].*)?\n?)$"
)
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+)(?:.+?)\1")
_EXTERNAL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|#|/)")

# The repository's home page, and the programs that always get a page.
_HOME = "README.md"
_EXAMPLES = "examples"

# Filled by on_files for on_page_markdown: site path -> repository path, both posix and
# relative (to docs/ and to the repository root), and the reverse for the linked files.
_site_to_repo: dict[str, str] = {}
_repo_to_site: dict[str, str] = {}


def _repo_root(config: MkDocsConfig) -> Path:
    return Path(config.config_file_path).resolve().parent


def _docs_prefix(config: MkDocsConfig) -> str:
    return Path(config.docs_dir).resolve().relative_to(_repo_root(config)).as_posix()


def _outside_code(markdown: str) -> Iterator[tuple[bool, str]]:
    """Yields (is_prose, line) for each line, prose being outside fenced code blocks."""
    fence = ""
    for line in markdown.splitlines(keepends=True):
        opened = _FENCE.match(line)
        if fence:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = ""
            yield False, line
        elif opened:
            fence = opened.group(1)
            yield False, line
        else:
            yield True, line


def _rewrite_prose_links(line: str, rewrite: _Rewrite) -> str:
    if _DEFINITION.match(line):
        return _DEFINITION.sub(rewrite, line)
    # Links inside `code spans` are text, not links: they keep what they say.
    pieces: list[str] = []
    last = 0
    for span in _CODE_SPAN.finditer(line):
        pieces.append(_LINK.sub(rewrite, line[last : span.start()]))
        pieces.append(span.group(0))
        last = span.end()
    pieces.append(_LINK.sub(rewrite, line[last:]))
    return "".join(pieces)


def _links(markdown: str) -> Iterator[str]:
    for is_prose, line in _outside_code(markdown):
        if is_prose and (definition := _DEFINITION.match(line)):
            yield definition.group("target").strip("<>")
        elif is_prose:
            for span_free in _CODE_SPAN.split(line):
                for match in _LINK.finditer(span_free):
                    yield match.group("target").strip("<>")


def _resolve(page_repo_path: str, target: str, root: Path) -> tuple[str, str] | None:
    """The repository path a relative link names, and its #fragment; None for other links."""
    if _EXTERNAL.match(target):
        return None
    path, _, fragment = target.partition("#")
    if not path:
        return None
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(page_repo_path), path))
    if resolved == ".." or resolved.startswith("../"):
        return None  # outside the repository: not ours to place
    if (root / resolved).is_dir() and (root / resolved / _HOME).is_file():
        resolved = posixpath.join(resolved, _HOME) if resolved != "." else _HOME
    return resolved, fragment


def _site_path(repo_path: str, docs: str) -> str:
    """Where a repository file goes in the site."""
    if repo_path == docs:
        return "index.md"
    if repo_path.startswith(docs + "/"):
        return repo_path[len(docs) + 1 :]
    folder, name = posixpath.split(repo_path)
    if name == _HOME:
        return posixpath.join(folder, "index.md")
    if name.endswith(".py"):
        return posixpath.join(folder, name[: -len(".py")] + ".md")
    return repo_path


def _program_page(repo_path: str, source: str, *, runnable: bool) -> str:
    """A page that shows a Python program, headed by the first line of its docstring."""
    try:
        docstring = ast.get_docstring(ast.parse(source)) or ""
    except SyntaxError:
        docstring = ""
    summary = docstring.strip().split("\n\n", 1)[0].replace("\n", " ")
    longest = max((len(run) for run in re.findall(r"`+", source)), default=0)
    fence = "`" * max(3, longest + 1)
    run = (
        f"Run it from a clone of the repository: `python {repo_path}`. The"
        " [examples index](index.md) says what each example needs.\n\n"
        if runnable
        else ""
    )
    newline = "" if source.endswith("\n") else "\n"
    return (
        f"# `{repo_path}`\n\n"
        + (f"{summary}\n\n" if summary else "")
        + run
        + f"{fence}python\n{source}{newline}{fence}\n"
    )


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Adds a page (or a copy) for every repository file the pages link to, and the examples."""
    root = _repo_root(config)
    docs = _docs_prefix(config)
    _site_to_repo.clear()
    _repo_to_site.clear()
    queue: list[tuple[str, str]] = []  # (repository path, Markdown) still to follow
    for file in files.documentation_pages():
        if file.abs_src_path is not None:
            repo_path = posixpath.join(docs, file.src_uri)
            _site_to_repo[file.src_uri] = repo_path
            queue.append((repo_path, Path(file.abs_src_path).read_text(encoding="utf-8")))

    def place(repo_path: str, *, in_nav: bool) -> None:
        if repo_path in _repo_to_site or repo_path.startswith(docs + "/"):
            return
        site = _site_path(repo_path, docs)
        if files.get_file_from_path(site) is not None:
            return  # docs/ has a page of that name: it wins
        source = root / repo_path
        inclusion = InclusionLevel.UNDEFINED if in_nav else InclusionLevel.NOT_IN_NAV
        if repo_path.endswith(".md"):
            text = source.read_text(encoding="utf-8")
            files.append(File.generated(config, site, content=text, inclusion=inclusion))
            queue.append((repo_path, text))
        elif repo_path.endswith(".py"):
            # An example is run as it is, and the examples index says what each one needs.
            runnable = (
                posixpath.dirname(repo_path) == _EXAMPLES and (root / _EXAMPLES / _HOME).is_file()
            )
            text = source.read_text(encoding="utf-8")
            page = _program_page(repo_path, text, runnable=runnable)
            files.append(File.generated(config, site, content=page, inclusion=inclusion))
        else:
            files.append(File.generated(config, site, abs_src_path=str(source)))
        _site_to_repo[site] = repo_path
        _repo_to_site[repo_path] = site

    # The home page and the examples index are in the nav; the rest is reached by links.
    place(_HOME, in_nav=True)
    if (root / _EXAMPLES / _HOME).is_file():
        place(f"{_EXAMPLES}/{_HOME}", in_nav=True)
    for program in sorted((root / _EXAMPLES).glob("*.py")):
        place(f"{_EXAMPLES}/{program.name}", in_nav=False)
    while queue:
        page_repo_path, text = queue.pop()
        for target in _links(text):
            found = _resolve(page_repo_path, target, root)
            if found is None or found[0].startswith(docs + "/") or found[0] == docs:
                continue
            if (root / found[0]).is_file() and not found[0].startswith("."):
                place(found[0], in_nav=False)
    return files


class _Rewrite:
    """Rewrites one page's links to repository files into links to their place in the site."""

    def __init__(self, page_site_path: str, root: Path, docs: str) -> None:
        self.page_site_path = page_site_path
        here = _site_to_repo.get(page_site_path, posixpath.join(docs, page_site_path))
        self.page_repo_path = here
        self.root = root
        self.docs = docs

    def __call__(self, match: re.Match[str]) -> str:
        target = match.group("target").strip("<>")
        found = _resolve(self.page_repo_path, target, self.root)
        if found is None:
            return match.group(0)
        repo_path, fragment = found
        if repo_path == self.docs or repo_path.startswith(self.docs + "/"):
            site = _site_path(repo_path, self.docs)
        elif repo_path in _repo_to_site:
            site = _repo_to_site[repo_path]
        else:
            return match.group(0)  # not a file of the site: left for --strict to report
        relative = posixpath.relpath(site, posixpath.dirname(self.page_site_path) or ".")
        new_target = relative + (f"#{fragment}" if fragment else "")
        return f"{match.group('open')}{new_target}{match.group('rest')}"


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Points the page's links to repository files at their pages in the site."""
    rewrite = _Rewrite(page.file.src_uri, _repo_root(config), _docs_prefix(config))
    return "".join(
        _rewrite_prose_links(line, rewrite) if is_prose else line
        for is_prose, line in _outside_code(markdown)
    )
