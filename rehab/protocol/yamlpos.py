"""YAML text -> plain Python data plus the line and column of every key and value.

PyYAML's ``safe_load`` forgets where things were written. We compose the node graph (which
keeps marks) and build the data ourselves, so that any later problem - found by pydantic or by
our own checks - can be reported at the exact spot. Building it ourselves also catches what
``safe_load`` silently accepts: duplicate keys (the last one would win) and tab indentation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from rehab.protocol.issues import Issue, make_issue
from rehab.protocol.limits import MAX_NESTING, MAX_YAML_VALUES

Path_ = tuple[Any, ...]


@dataclass(frozen=True)
class Pos:
    """1-based line and column."""

    line: int
    col: int


@dataclass
class Located:
    """Parsed data and where each part of it was written.

    ``value_pos[path]`` is where the value at ``path`` starts; ``key_pos[path]`` is where its key
    is written (mapping members only). Paths are tuples of keys and list indices, e.g.
    ``("steps", 2, "execute", "task")``.
    """

    data: Any
    value_pos: dict[Path_, Pos] = field(default_factory=dict)
    key_pos: dict[Path_, Pos] = field(default_factory=dict)

    def pos(self, path: Path_, prefer_key: bool = False) -> Pos:
        """Where ``path`` (or its deepest existing ancestor) was written."""
        while path not in self.value_pos and path:
            path = path[:-1]
        if prefer_key and path in self.key_pos:
            return self.key_pos[path]
        return self.value_pos.get(path, Pos(1, 1))


def _pos(mark: Any) -> Pos:
    return Pos(mark.line + 1, mark.column + 1)


def tab_issues(text: str, file: str) -> list[Issue]:
    """One issue per line whose indentation contains a tab."""
    issues = []
    for number, line in enumerate(text.splitlines(), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            col = indent.index("\t") + 1
            issues.append(
                make_issue("P013", file, number, col, "tab character used for indentation")
            )
    return issues


def parse(text: str, file: str) -> tuple[Located | None, list[Issue]]:
    """Parse ``text``; return the located data (None if unusable) and every problem found."""
    issues = tab_issues(text, file)
    try:
        root = _compose(text)
    except yaml.MarkedYAMLError as exc:
        syntax = _syntax_issue(exc, file)
        # A tab in indentation makes the scanner fail too; one report of it is enough.
        if syntax.line not in {i.line for i in issues}:
            issues.append(syntax)
        return None, issues
    except yaml.YAMLError as exc:
        return None, issues + [make_issue("P001", file, 1, 1, f"YAML syntax error: {exc}")]
    except RecursionError:
        return None, issues + [_too_deep(file)]
    if root is None:
        return None, issues + [make_issue("P014", file, 1, 1, "the file is empty")]
    builder = _Builder(file)
    located = Located(data=None)
    try:
        located.data = builder.build(root, (), located)
    except RecursionError:
        return None, issues + [_too_deep(file)]
    except _TooLarge as exc:
        return None, issues + [exc.issue]
    return located, issues + builder.issues


def _compose(text: str) -> Node | None:
    """The node graph of ``text``. libyaml composes it ~20x faster with the same marks; when it
    finds a problem, PyYAML's own parser runs again so that messages and hints stay the ones
    the catalogue knows (and \\u escapes libyaml refuses are read as PyYAML reads them)."""
    fast = getattr(yaml, "CSafeLoader", None)
    for loader_class in ((fast,) if fast else ()) + (yaml.SafeLoader,):
        loader = loader_class(text)
        try:
            return loader.get_single_node()
        except yaml.YAMLError:
            if loader_class is yaml.SafeLoader:
                raise
        finally:
            loader.dispose()
    return None  # pragma: no cover - the pure-Python loader either returns or raises


def _syntax_issue(exc: yaml.MarkedYAMLError, file: str) -> Issue:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "cannot parse"
    if "end" in problem and "stream" in problem and exc.context_mark is not None:
        mark = exc.context_mark  # the file ended inside something: point at where it began
    at = _pos(mark) if mark is not None else Pos(1, 1)
    message = f"YAML syntax error: {problem}"
    return make_issue("P001", file, at.line, at.col, message, syntax_hint(problem))


def _too_deep(file: str) -> Issue:
    return make_issue(
        "P001",
        file,
        1,
        1,
        "lists or mappings are nested far too deeply",
        "a protocol needs a few levels at most",
    )


# PyYAML's wording -> what a person editing the file should do.
_SYNTAX_HINTS = (
    (
        "mapping values are not allowed",
        "a ':' inside a value (put the value in quotes), or this line is indented too far",
    ),
    (
        "could not find expected ':'",
        "each line is `key: value`; a long text must be quoted or written after `key: >`",
    ),
    ("expected <block end>", "this line's indentation does not match the lines above it"),
    ("did not find expected key", "this line's indentation does not match the lines above it"),
    ("did not find expected '-'", "list items must start with '- ' at the same indentation"),
    ("found unexpected end of stream", "a quote or bracket is opened but never closed"),
    ("expected ',' or", "a bracket or brace is not closed, or a comma is missing"),
    ("found undefined alias", "the *name refers to no &name above it"),
)


def syntax_hint(problem: str) -> str | None:
    """How to fix a PyYAML syntax problem, or None for the catalogue's general hint."""
    return next((hint for text, hint in _SYNTAX_HINTS if text in problem), None)


class _TooLarge(Exception):
    """Building stopped: the data would be too big or too deep (alias bombs, runaway nesting)."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.message)
        self.issue = issue


class _Builder:
    """Turns a composed node graph into plain data, recording positions and problems.

    Aliases are expanded while building, so a few lines of ``&a``/``*a`` can stand for billions
    of values; the builder counts every value it makes and stops at ``MAX_YAML_VALUES``.
    """

    def __init__(self, file: str) -> None:
        self.file = file
        self.issues: list[Issue] = []
        self._constructor = SafeConstructor()
        self._active: set[int] = set()  # nodes being built: an alias to one of them is a loop
        self._built = 0

    def build(self, node: Node, path: Path_, located: Located) -> Any:
        self._built += 1
        if self._built > MAX_YAML_VALUES:
            raise _TooLarge(
                self._issue(
                    "P024",
                    node,
                    f"the file expands to more than {MAX_YAML_VALUES:,} values "
                    "(an alias *name repeats everything its &name holds)",
                )
            )
        if len(path) > MAX_NESTING:
            raise _TooLarge(
                self._issue(
                    "P024",
                    node,
                    f"lists or mappings are nested more than {MAX_NESTING} levels deep",
                )
            )
        located.value_pos[path] = _pos(node.start_mark)
        if id(node) in self._active:
            self._problem("P001", node, "an alias refers to a mapping or list that contains it")
            return None
        self._active.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, path, located)
            if isinstance(node, SequenceNode):
                return [self.build(item, path + (i,), located) for i, item in enumerate(node.value)]
            return self._scalar(node)
        finally:
            self._active.discard(id(node))

    def _mapping(self, node: MappingNode, path: Path_, located: Located) -> dict[Any, Any]:
        try:
            self._constructor.flatten_mapping(node)  # resolves YAML merge keys (<<)
        except ConstructorError as exc:
            self._problem("P001", node, f"YAML syntax error: {exc.problem}")
            return {}
        out: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self._problem(
                    "P003", key_node, "a key must be a single word or number, not a list or mapping"
                )
                continue
            key = self._scalar(key_node)
            if key in first_line:
                self._problem(
                    "P011",
                    key_node,
                    f"key '{key}' appears twice here (first on line {first_line[key]})",
                )
                continue
            first_line[key] = key_node.start_mark.line + 1
            child = path + (key,)
            located.key_pos[child] = _pos(key_node.start_mark)
            out[key] = self.build(value_node, child, located)
        return out

    def _scalar(self, node: Node) -> Any:
        try:
            return self._constructor.construct_object(node)
        except ConstructorError as exc:
            self._problem("P001", node, f"cannot read this value: {exc.problem}")
            return None
        except (ValueError, OverflowError):  # 5000-digit numbers, 30 February, ...
            self._problem("P001", node, "cannot read this value (a number or date out of range)")
            return None

    def _problem(self, code: str, node: Node, message: str) -> None:
        self.issues.append(self._issue(code, node, message))

    def _issue(self, code: str, node: Node, message: str) -> Issue:
        at = _pos(node.start_mark)
        return make_issue(code, self.file, at.line, at.col, message)
