"""PositionIndex parses an announced document alone (from its root's line) only when that
gives the positions a parse of the whole file gives; otherwise it parses the file."""

from __future__ import annotations

import pytest
from istio_vm_lint.loader import PositionIndex, load_documents

DOCS = [
    b"a: 1\nb:\n  c: [x, y]\n---\n# comment\n\nkind: K\nspec:\n  - {p: 1}\n  - q\n",
    b"--- !tag\nkind: K\nspec: {a: 1}\n--- {kind: K, x: [1, 2]}\n...\n---\n  kind: K\n  deep:\n    - - 1\n",
    b"\xef\xbb\xbfkind: K\r\nspec:\r\n  a: 1\r\n---\r\nkind: L\r\nb: 2\r\n",
    b"kind: K\nx: &a {y: 1}\n---\nkind: L\nz: 1\n",                       # an anchor: whole file
    b"%TAG !e! tag:example.com,2000:\n---\nkind: K\n---\nkind: L\nv: !e!x 1\n",  # a directive: whole file
    b"kind: K\nt: |\n  %not a directive\n---\nkind: L\nm: 1\n",
    b"kind: K\nx: 1\n---\nkind: K\nx: 1\nx: 2\n",                       # duplicate key
    "kind: K\nname: caf\u00e9\n---\nkind: L\nname: \u00fcber\n".encode("utf-16"),
]


@pytest.mark.parametrize("raw", DOCS)
def test_alone_or_not_the_same_positions(raw):
    result, _ = load_documents(raw)
    for doc in result.documents:
        if not isinstance(doc.data, dict):
            continue
        full = load_documents(raw, record_positions={doc.index})[1]
        idx = PositionIndex(raw)
        idx.clean = not result.errors
        path = next(iter(doc.data))
        hit, depth = idx.lookup_depth(doc.index, (path,), (doc.line, doc.column, (), doc.data))
        assert idx._docs[doc.index] == full[doc.index]
        assert hit == full[doc.index][(path,)] and depth == 1


def test_parsed_alone_only_when_safe():
    safe, anchored = DOCS[0], DOCS[3]
    for raw, alone in ((safe, True), (anchored, False)):
        result, _ = load_documents(raw)
        doc = result.documents[1]
        idx = PositionIndex(raw)
        idx.clean = True
        idx.want(doc.index, (doc.line, doc.column, (), doc.data))
        idx.lookup(doc.index, ("kind",))
        assert (idx._parses == 0) is alone


def test_stale_hint_falls_back():
    raw = DOCS[0]
    result, _ = load_documents(raw)
    doc = result.documents[1]
    idx = PositionIndex(raw)
    idx.clean = True
    hit = idx.lookup(doc.index, ("kind",))
    stale = PositionIndex(raw)
    stale.clean = True
    assert stale.lookup_depth(doc.index, ("kind",), (doc.line, doc.column, (), {"other": 1}))[0] == hit
    assert stale._parses == 1


def test_many_documents_of_a_file_take_one_parse(monkeypatch):
    """Parsed alone, each document would cost a scan and a copy of the rest of the file: beyond
    a few, the file is parsed once for all of them."""
    from istio_vm_lint import loader
    from istio_vm_lint.positions import MAX_ALONE

    raw = "".join(f"---\nkind: K\nmetadata: {{name: n{i}}}\n" for i in range(50)).encode()
    result, _ = load_documents(raw)
    calls: list[object] = []
    real = loader.load_documents

    def counting(*a, **k):
        calls.append(k.get("record_positions"))
        return real(*a, **k)

    monkeypatch.setattr(loader, "load_documents", counting)
    idx = PositionIndex(raw)
    idx.clean = True
    docs = result.documents
    for doc in docs[:MAX_ALONE + 1]:
        idx.want(doc.index, (doc.line, doc.column, (), doc.data))
    for doc in docs[:MAX_ALONE + 1]:
        assert idx.lookup(doc.index, ("metadata", "name")) == (3 * doc.index + 3, 12)
    assert len(calls) == 1 and calls[0] == set(range(MAX_ALONE + 1))
