"""A load leaves nothing for the cyclic garbage collector (the runner turns it off): the
loader and the C parser's buffers are freed when the load ends."""

from __future__ import annotations

import gc

from istio_vm_lint.loader import load_documents


def test_a_load_leaves_no_cyclic_garbage():
    raw = b"kind: K\nmetadata: {name: a}\nspec:\n  x: [1, 2, {y: z}]\n---\nkind: L\n"
    load_documents(raw)  # the first load runs the parser self-test
    enabled = gc.isenabled()
    gc.disable()
    try:
        gc.collect()
        for _ in range(3):
            load_documents(raw)
            load_documents(raw, record_positions={1})
        assert gc.collect() == 0
    finally:
        if enabled:
            gc.enable()
