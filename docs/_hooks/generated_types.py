"""MkDocs hook: the reference pages of `openai_ergo.types`, written from the source at build time.

The types are ~1,700 msgspec Structs and ~300 aliases in ~40,000 lines, nearly all generated from
the OpenAPI spec. Rendered through mkdocstrings they would double the build's time and show
their fields without descriptions (those are `#:` comments, which griffe does not read). This
hook reads each module with `ast` instead (no import; half a second for all of them, and about
4 s of CPU with the Markdown conversion and the search index) and writes one page per module:
each type with its docstring, its base, its tag, and its fields with their types and
descriptions; each type name in an annotation links to that type's entry. The hand-written
Responses and Chat objects and events get one page, each generated module its own, and
`reference/types.md` gets the list of them where it holds the marker below. In the site's copy
of the generated API coverage table, each type a row names links to its entry.

The dict forms of the request bodies (`params.py`: a `TypedDict` per Struct, named `<Name>Param`)
are not listed field by field: each mirrors its Struct.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.pages import Page

TYPES_PACKAGE = Path("openai_ergo/types")
GENERATED = TYPES_PACKAGE / "_generated"
# Not pages of their own: the index, the dict forms of the request bodies.
SKIPPED_GENERATED = {"__init__", "params"}
INDEX_PAGE = "reference/types.md"
MARKER = "<!-- the list of type modules is written here at build time -->"
HANDWRITTEN_PAGE = "reference/types/responses-and-chat.md"
COVERAGE_PAGE = "api-coverage.md"

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CODE_NAME = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)`")
_CODE_SPAN = re.compile(r"(`+)(?:.+?)\1")


@dataclass
class _Entry:
    """One documented type: a class with its fields, or an alias."""

    name: str
    docstring: str
    bases: list[str] = field(default_factory=list)
    tag: str = ""
    fields: list[tuple[str, str, str]] = field(default_factory=list)  # name, annotation, doc
    alias_of: str = ""


@dataclass
class _Module:
    page: str  # site path
    title: str
    module: str  # dotted name
    summary: str
    entries: list[_Entry]


def _static_all(tree: ast.Module) -> list[str]:
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AugAssign):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            listed = isinstance(node.value, ast.List)
            if isinstance(target, ast.Name) and target.id == "__all__" and listed:
                elements = node.value.elts  # type: ignore[attr-defined]
                names += [str(e.value) for e in elements if isinstance(e, ast.Constant)]
    return names


def _comment_above(lines: list[str], lineno: int) -> str:
    """The `#:` comment lines right above line `lineno` (1-based), joined."""
    found: list[str] = []
    index = lineno - 2
    while index >= 0 and lines[index].strip().startswith("#:"):
        found.append(lines[index].strip()[2:].strip())
        index -= 1
    return " ".join(reversed(found))


def _class_entry(node: ast.ClassDef, lines: list[str]) -> _Entry:
    entry = _Entry(node.name, ast.get_docstring(node) or "")
    entry.bases = [ast.unparse(base) for base in node.bases]
    tag = next((k for k in node.keywords if k.arg == "tag"), None)
    for statement in node.body:
        if isinstance(statement, ast.If):  # `if TYPE_CHECKING:` declares the tag's field
            for inner in statement.body:
                if not isinstance(inner, ast.AnnAssign) or tag is None:
                    continue
                if isinstance(inner.target, ast.Name):
                    name = inner.target.id
                    entry.tag = f"`{name}` is `{ast.unparse(tag.value)[1:-1]}`"
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            name = statement.target.id
            annotation = ast.unparse(statement.annotation)
            if name.startswith("_") or annotation.startswith("ClassVar"):
                continue
            entry.fields.append((name, annotation, _comment_above(lines, statement.lineno)))
    return entry


def _assigned(node: ast.stmt) -> tuple[str, ast.expr] | None:
    """The name and value of a module-level `Name = value` or `Name: TypeAlias = value`."""
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
        return node.target.id, node.value
    if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id, node.value
    return None


def _entries(source: str, public: set[str] | None) -> tuple[str, list[_Entry]]:
    tree = ast.parse(source)
    lines = source.splitlines()
    wanted = public if public is not None else set(_static_all(tree))
    entries: list[_Entry] = []
    body = tree.body
    for position, node in enumerate(body):
        following = body[position + 1] if position + 1 < len(body) else None
        doc = ""
        if isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant):
            doc = str(following.value.value)
        if isinstance(node, ast.ClassDef) and node.name in wanted:
            entries.append(_class_entry(node, lines))
        elif isinstance(node, ast.If):
            # `if TYPE_CHECKING: Union = A | B | UnknownVariant` `else: Union = A | B`: the
            # first branch is the union as type checkers (and readers) see it.
            aliases = [found for found in map(_assigned, node.body) if found]
            for name, value in aliases:
                if name in wanted:
                    only = len(aliases) == 1
                    entries.append(_Entry(name, doc if only else "", alias_of=ast.unparse(value)))
        elif (found := _assigned(node)) is not None and found[0] in wanted:
            entries.append(_Entry(found[0], doc, alias_of=ast.unparse(found[1])))
    return ast.get_docstring(tree) or "", entries


def _read_modules(root: Path) -> list[_Module]:
    modules: list[_Module] = []
    init = (root / TYPES_PACKAGE / "__init__.py").read_text(encoding="utf-8")
    public = set(_static_all(ast.parse(init)))
    handwritten: list[_Entry] = []
    for path in sorted((root / TYPES_PACKAGE).glob("_*.py")):
        if path.name != "__init__.py":
            handwritten += _entries(path.read_text(encoding="utf-8"), public)[1]
    modules.append(
        _Module(
            HANDWRITTEN_PAGE,
            "Responses and Chat objects and events",
            "openai_ergo.types",
            "The hand-written types: the Responses and Chat Completions objects and stream "
            "events (the streaming hot path), and the tagged bases every type shares.",
            sorted(handwritten, key=lambda entry: entry.name),
        )
    )
    for path in sorted((root / GENERATED).glob("*.py")):
        if path.stem in SKIPPED_GENERATED:
            continue
        summary, entries = _entries(path.read_text(encoding="utf-8"), None)
        modules.append(
            _Module(
                f"reference/types/{path.stem}.md",
                path.stem,
                f"openai_ergo.types._generated.{path.stem}",
                summary,
                entries,
            )
        )
    return modules


def _escape_prose(text: str) -> str:
    """Text from the spec as Markdown: `<` outside code spans is text, not an HTML tag."""
    pieces: list[str] = []
    last = 0
    for span in _CODE_SPAN.finditer(text):
        pieces.append(text[last : span.start()].replace("<", "&lt;"))
        pieces.append(span.group(0))
        last = span.end()
    pieces.append(text[last:].replace("<", "&lt;"))
    return "".join(pieces)


def _linked(annotation: str, here: str, where: dict[str, str]) -> str:
    """An annotation in Markdown, each known type name a link to its entry."""
    out: list[str] = []
    last = 0
    for match in _IDENTIFIER.finditer(annotation):
        out.append(_punctuation(annotation[last : match.start()]))
        name = match.group(0)
        page = where.get(name)
        if page is None:
            out.append(f"`{name}`")
        else:
            # Every entry's page is in reference/types/: a link is the page's name at most.
            prefix = "" if page == here else page.rsplit("/", 1)[1]
            out.append(f"[`{name}`]({prefix}#{name})")
        last = match.end()
    out.append(_punctuation(annotation[last:]))
    return "".join(out)


def _punctuation(text: str) -> str:
    return text.replace("[", "\\[").replace("]", "\\]").replace("*", "\\*")


def _render(module: _Module, where: dict[str, str]) -> str:
    out = [f"# {module.title}\n\n"]
    if module.summary:
        out.append(_escape_prose(module.summary) + "\n\n")
    out.append(
        f"From `{module.module}`; import every name from `openai_ergo.types`. "
        "Written from the source when the site is built.\n\n"
    )
    for entry in module.entries:
        out.append(f"## `{entry.name}` {{ #{entry.name} }}\n\n")
        if entry.docstring:
            out.append(_escape_prose(entry.docstring) + "\n\n")
        if entry.alias_of:
            out.append(f"Alias of {_linked(entry.alias_of, module.page, where)}\n\n")
            continue
        if entry.bases:
            bases = ", ".join(_linked(base, module.page, where) for base in entry.bases)
            out.append(f"Base: {bases}." + (f" Tag: {entry.tag}." if entry.tag else "") + "\n\n")
        for name, annotation, doc in entry.fields:
            line = f"- `{name}`: {_linked(annotation, module.page, where)}"
            out.append(line + (f" — {_escape_prose(doc)}" if doc else "") + "\n")
        out.append("\n")
    return "".join(out)


_modules: list[_Module] = []


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Adds a reference page per module of `openai_ergo.types`."""
    root = Path(config.config_file_path).resolve().parent
    _modules[:] = _read_modules(root)
    where = {entry.name: module.page for module in _modules for entry in module.entries}
    for module in _modules:
        content = _render(module, where)
        page = File.generated(
            config, module.page, content=content, inclusion=InclusionLevel.NOT_IN_NAV
        )
        files.append(page)
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Lists the type modules on the types reference page; links the coverage table's types."""
    if page.file.src_uri == COVERAGE_PAGE:
        return _link_coverage(markdown)
    if page.file.src_uri != INDEX_PAGE:
        return markdown
    if MARKER not in markdown:
        raise ValueError(f"{INDEX_PAGE} lost its marker {MARKER!r}")
    listing = "".join(
        f"- [{module.title}]({module.page.removeprefix('reference/')}): "
        f"{len(module.entries)} types\n"
        for module in _modules
    )
    return markdown.replace(MARKER, listing)


def _link_coverage(markdown: str) -> str:
    """Each `TypeName` in a row of the table becomes a link to its entry (the file is generated
    by `make codegen` and reads the same on a clone; only the site's copy gets the links)."""
    where = {entry.name: module.page for module in _modules for entry in module.entries}

    def link(match: re.Match[str]) -> str:
        page = where.get(match.group(1))
        return f"[{match.group(0)}]({page}#{match.group(1)})" if page else match.group(0)

    return "".join(
        _CODE_NAME.sub(link, line) if line.startswith("| `client.") else line
        for line in markdown.splitlines(keepends=True)
    )
