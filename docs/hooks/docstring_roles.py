"""MkDocs hook: Sphinx roles of the docstrings, rendered as code.

The docstrings use Sphinx cross-reference roles (``:class:`~fastdistill.Ridge```),
which mkdocstrings' Markdown rendering would show literally
(``:class:`~fastdistill.Ridge```) on the API pages. This hook turns each into
plain code: the last component with ``~`` (``Ridge``), the full path without.
"""

from __future__ import annotations

import re

_ROLE = re.compile(r":(?:class|func|meth|attr|data|mod|obj|exc):<code>(~?)([^<]+)</code>")


def render_roles(html: str) -> str:
    """Replace every rendered ``:role:`target``` in ``html`` by ``<code>`` text."""
    return _ROLE.sub(lambda m: f"<code>{m[2].rsplit('.', 1)[-1] if m[1] else m[2]}</code>", html)


def on_page_content(html, page, config, files):
    """Render the roles of every page."""
    return render_roles(html)
