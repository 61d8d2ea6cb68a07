"""rules/_closematch.py answers exactly what difflib.get_close_matches(n=1) answers."""

from __future__ import annotations

import difflib
import random

from istio_vm_lint.rules._closematch import CloseMatcher


def _expected(word, cands, cutoff, exclude):
    close = difflib.get_close_matches(word, [c for c in cands if c != exclude], n=1, cutoff=cutoff)
    return close[0] if close else None


def test_same_answers_as_difflib_on_random_strings():
    rnd = random.Random(5)
    alpha = "abc.-1209"
    for _ in range(600):
        cands = ["".join(rnd.choice(alpha) for _ in range(rnd.randint(0, 9))) for _ in range(rnd.randint(0, 25))]
        matcher = CloseMatcher(cands)
        for _ in range(4):
            if cands and rnd.random() < 0.3:
                word = rnd.choice(cands)
            else:
                word = "".join(rnd.choice(alpha) for _ in range(rnd.randint(0, 9)))
            cutoff = rnd.choice([0.0, 0.5, 0.6, 0.8, 0.85, 1.0])
            exclude = rnd.choice(cands + [None, word]) if cands else None
            assert matcher.best(word, cutoff, exclude) == _expected(word, cands, cutoff, exclude)


def test_hosts_ties_and_digits():
    hosts = [f"{n}-{i}.{ns}.svc.cluster.local" for n in ("api", "web", "feed") for i in range(12)
             for ns in ("billing", "orders")]
    hosts += ["api-1.billing.mesh.internal", "api-1-old.billing.mesh.internal", "ipa-1.billing.svc.cluster.local"]
    matcher = CloseMatcher(hosts)
    for word in ("api-1-old.billing.svc.cluster.local", "api-13.billing.svc.cluster.local",
                 "pai-1.billing.svc.cluster.local", "feed-1-old.orders.mesh.internal", "nothing.like.it", ""):
        for cutoff in (0.6, 0.8, 0.85):
            for exclude in (None, word, hosts[0]):
                assert matcher.best(word, cutoff, exclude) == _expected(word, hosts, cutoff, exclude)
