"""The documentation: the site builds without a warning, and every code example runs.

* ``mkdocs build --strict`` (config ``docs/config/mkdocs.yml``) must succeed:
  broken links, missing pages, API references that do not resolve and
  docstrings the numpy parser cannot read all fail it. The figures the build
  draws (``docs/hooks/figures.py``) must be in the site.
* Every fenced ``python`` / ``pycon`` block of every page (and of README.md)
  is executed, the blocks of a page in order in one namespace, in a
  temporary working folder. Blocks written as ``>>>`` sessions are run by
  doctest, so their printed output is checked too.
"""

from __future__ import annotations

import doctest
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CONFIG = DOCS / "config" / "mkdocs.yml"
NOT_PAGES = {"config", "hooks"}

PAGES = sorted(
    p for p in DOCS.rglob("*.md") if not NOT_PAGES & set(p.relative_to(DOCS).parts)
) + [ROOT / "README.md"]

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$")


def code_blocks(text: str) -> list[tuple[int, str, str]]:
    """Return ``(line, language, code)`` for every fenced block of a Markdown page.

    The language is the first word of the fence's info string (``python``,
    ``pycon``, ``bash``, ...; empty for a bare fence). Indented fences (in
    list items) are dedented by the fence's indentation.
    """
    blocks = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence = m["indent"], m["fence"]
        info = m["info"].strip()
        lang = info.split()[0].lstrip(".{").rstrip("}").lower() if info else ""
        body, j = [], i + 1
        while j < len(lines) and not (
            lines[j].strip().startswith(fence[0] * len(fence)) and not lines[j].strip().strip(fence[0])
        ):
            line = lines[j]
            body.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
            j += 1
        blocks.append((i + 1, lang, "\n".join(body) + "\n"))
        i = j + 1
    return blocks


def test_code_blocks_parser():
    page = (
        "text\n```python\nx = 1\n```\n\n* item\n\n    ```pycon\n    >>> x + 1\n    2\n"
        "    ```\n\n````\n```python\nnot a block\n```\n````\n```bash\nls\n```\n"
    )
    assert code_blocks(page) == [
        (2, "python", "x = 1\n"),
        (8, "pycon", ">>> x + 1\n2\n"),
        (13, "", "```python\nnot a block\n```\n"),
        (18, "bash", "ls\n"),
    ]


def _page_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


RUNNABLE = ("python", "py", "pycon")
PAGES_WITH_CODE = [
    p for p in PAGES if any(lang in RUNNABLE for _, lang, _ in code_blocks(p.read_text("utf-8")))
]


@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=_page_id)
def test_page_examples_run(page, tmp_path, monkeypatch):
    """Run the page's Python blocks in order, in one namespace, in a scratch folder."""
    monkeypatch.chdir(tmp_path)  # examples that save files write them here
    namespace: dict = {"__name__": "__docs__"}
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    try:
        for line, lang, code in code_blocks(page.read_text("utf-8")):
            if lang not in RUNNABLE:
                continue
            where = f"{_page_id(page)}, block at line {line}"
            if code.lstrip().startswith(">>>"):
                test = parser.get_doctest(code, namespace, where, str(page), line)
                out: list[str] = []
                result = runner.run(test, out=out.append, clear_globs=False)
                assert result.failed == 0, f"{where}:\n" + "".join(out)
                namespace.update(test.globs)  # DocTest ran on a copy of the namespace
            else:
                exec(compile(code, where, "exec"), namespace)  # noqa: S102 - the page's own code
    finally:
        # A page that patches scikit-learn (docs/patch.md) must not leave it
        # patched for the tests that follow, even when one of its blocks fails.
        if "fastdistill.patch" in sys.modules:
            sys.modules["fastdistill.patch"].unpatch_sklearn()


def test_readme_links_resolve():
    """README's relative links (to the docs pages) point at files that exist."""
    text = (ROOT / "README.md").read_text("utf-8")
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [link for link in links if "://" not in link and not link.startswith("mailto:")]
    assert any(link.startswith("docs/") for link in local)
    missing = [link for link in local if not (ROOT / link).exists()]
    assert not missing, f"README.md links to missing files: {missing}"


def _mkdocs_env() -> dict:
    env = dict(os.environ)
    env["NO_MKDOCS_2_WARNING"] = "1"  # the theme's notice about its successor, not a build issue
    # The figures hook imports the same fastdistill as this test run.
    import fastdistill

    pkg_parent = str(Path(fastdistill.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([pkg_parent, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def test_site_builds_strict(tmp_path):
    # Skipped only without MkDocs; the theme, mkdocstrings and matplotlib come
    # with it in the test and docs extras, and their absence fails the build.
    pytest.importorskip("mkdocs")
    site = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(CONFIG), "-d", str(site)],
        cwd=ROOT, env=_mkdocs_env(), capture_output=True, text=True, timeout=900,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    warnings = [ln for ln in log.splitlines() if ln.startswith(("WARNING", "ERROR"))]
    assert not warnings, log

    # Every page of docs/ is in the site, and nothing of the build's own files.
    for page in PAGES[:-1]:
        rel = page.relative_to(DOCS).with_suffix("")
        html = site / ("index.html" if rel.name == "index" and rel.parent == Path(".") else
                       Path(*rel.parts[:-1], "index.html" if rel.name == "index" else
                            f"{rel.name}/index.html"))
        assert html.is_file(), f"{page} has no page in the site ({html})"
    assert not (site / "config").exists() and not (site / "hooks").exists()

    # The figures are drawn by the build and shown by the pages that cite them.
    for fig in ("fidelity.png", "som_umatrix.png"):
        data = (site / "figures" / fig).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000, fig
    assert "figures/fidelity.png" in (site / "guide" / "index.html").read_text("utf-8")
    assert "figures/som_umatrix.png" in (site / "guide" / "index.html").read_text("utf-8")

    # The API reference is generated from the docstrings.
    api = (site / "api" / "distill" / "index.html").read_text("utf-8")
    for name in ("Distiller", "KMeansFeatures", "LocalLinearRegressor", "MUNGE",
                 "DistillReport"):
        assert f'id="fastdistill.distill.{name}"' in api, name
    assert "Distill a teacher into a small, fast student" in api
    # Sphinx roles of the docstrings are rendered as code, not shown literally.
    for page in (site / "api").glob("*/index.html"):
        assert ":class:<code>" not in page.read_text("utf-8"), page


# ------------------------------------------------ shell sessions (docs/cli.md)

_NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?(?:[eE][-+]?\d+)?")
_DASHES = re.compile(r"-{2,}")


def console_sessions(text: str) -> list[tuple[int, str, list[str]]]:
    """``(line, command, expected output lines)`` of every ``$ fastdistill`` session.

    Sessions live in bare fenced blocks whose first line starts with ``$ ``;
    a command continues on the next line after a trailing backslash, and its
    output runs to the next ``$ `` line or the end of the block.
    """
    sessions = []
    for line, lang, code in code_blocks(text):
        if lang or not code.startswith("$ "):
            continue
        lines = code.rstrip("\n").splitlines()
        i = 0
        while i < len(lines):
            start, cmd = line + 1 + i, lines[i][2:]
            while cmd.endswith("\\"):
                i += 1
                cmd = cmd[:-1].rstrip() + " " + lines[i].strip()
            out = []
            i += 1
            while i < len(lines) and not lines[i].startswith("$ "):
                out.append(lines[i])
                i += 1
            sessions.append((start, cmd, out))
    return sessions


def _masked(lines: list[str]) -> list[str]:
    """Lines without trailing blanks, every number replaced by ``#``.

    Runs of dashes (a table's rule) become ``--``: a column's width follows
    its longest value, which for measured times changes from run to run.
    """
    return [_DASHES.sub("--", _NUMBER.sub("#", ln.rstrip())) for ln in lines if ln.strip()]


def _output_matches(expected: list[str], actual: list[str]) -> bool:
    """Line-by-line equality, where an expected ``...`` line matches any run of lines."""
    if not expected:
        return not actual
    if expected[0].strip() == "...":
        return any(_output_matches(expected[1:], actual[k:]) for k in range(len(actual) + 1))
    return bool(actual) and expected[0] == actual[0] and _output_matches(expected[1:], actual[1:])


def test_output_matcher():
    assert _output_matches(["a", "...", "d"], ["a", "b", "c", "d"])
    assert _output_matches(["a", "..."], ["a"])
    assert not _output_matches(["a", "d"], ["a", "b", "d"])
    assert _masked(["R2 0.992  ", "line 2, 1e-3"]) == ["R# #", "line #, #"]
    assert _masked(["-----  ---------"]) == _masked(["-----  --------"]) == ["--  --"]


def test_cli_page_sessions_run(tmp_path):
    """Run every ``$ fastdistill ...`` line of docs/cli.md and compare its output.

    The page's Python block makes the data files; each command then runs in
    that folder (``fastdistill`` is this interpreter's ``-m fastdistill``),
    and its standard output followed by its standard error must equal the
    page's text, numbers aside (timings and scores depend on the machine),
    ``...`` standing for any lines. Errors must exit with status 2. The
    ``distill`` sessions run first (they make the models the others use).
    """
    import fastdistill

    page = DOCS / "cli.md"
    text = page.read_text("utf-8")
    setup = [code for _, lang, code in code_blocks(text) if lang == "python"][0]
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(setup, "docs/cli.md data block", "exec"), {"__name__": "__docs__"})  # noqa: S102
    finally:
        os.chdir(cwd)
    shim = tmp_path / "bin" / "fastdistill"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m fastdistill "$@"\n')
    shim.chmod(0o755)
    env = dict(os.environ, PATH=f"{shim.parent}{os.pathsep}{os.environ['PATH']}",
               PYTHONPATH=str(Path(fastdistill.__file__).resolve().parents[1]))
    sessions = console_sessions(text)
    assert len(sessions) >= 8
    sessions.sort(key=lambda s: not s[1].startswith("fastdistill distill "))  # stable
    for line, cmd, expected in sessions:
        assert cmd.startswith("fastdistill "), (line, cmd)
        run = subprocess.run(["bash", "-c", cmd], cwd=tmp_path, env=env, capture_output=True,
                             text=True, timeout=300)
        actual = run.stdout.splitlines() + run.stderr.splitlines()
        where = f"docs/cli.md line {line}: $ {cmd}"
        if any(ln.startswith("fastdistill: error:") for ln in expected):
            assert run.returncode == 2, where
        else:
            assert run.returncode == 0, f"{where}\n{run.stderr}"
        assert _output_matches(_masked(expected), _masked(actual)), (
            f"{where}\nexpected:\n" + "\n".join(expected) + "\nactual:\n" + "\n".join(actual))
