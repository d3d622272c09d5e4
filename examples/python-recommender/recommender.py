#!/usr/bin/env python3
"""A recloop recommender as a subprocess: newline-delimited JSON on stdin/stdout.

recloop starts this script, reads the handshake line, then sends one JSON
message per line and waits for the line that answers it (same "id").
Standard library only. Anything printed to stderr shows up in recloop's log
(print(..., file=sys.stderr)); stdout is the protocol's, so never print there.

The model: each user's taste is the share of each category in their history;
an item scores taste[category] plus a little of its catalog popularity plus
what it earned in clicks during the run. Replace `Model.recommend` and
`Model.learn` with your own.
"""
import json
import math
import sys
from collections import Counter, defaultdict

PROTOCOL = 1


class Model:
    """Everything learned for one world. recloop sends a reset per world."""

    def __init__(self, catalog):
        self.items = {it["id"]: it for it in catalog}
        self.clicks = Counter()
        # Candidate pools: the most popular items of each category.
        by_cat = defaultdict(list)
        for it in catalog:
            for c in it.get("categories", []):
                by_cat[c].append(it)
        self.top_by_cat = {
            c: sorted(its, key=lambda it: -it["popularity"])[:60] for c, its in by_cat.items()
        }
        self.top = sorted(catalog, key=lambda it: -it["popularity"])[:60]
        # New releases get a look too, or nobody would ever discover them.
        self.by_release = defaultdict(list)
        for it in catalog:
            if it["release_round"] > 0:
                self.by_release[it["release_round"]].append(it)

    def recommend(self, msg):
        rnd, k = msg["round"], msg["k"]
        seen = {h["item"] for h in msg["history"]}
        taste = Counter()
        for h in msg["history"]:
            for c in self.items.get(h["item"], {}).get("categories", []):
                taste[c] += 1
        total = sum(taste.values()) or 1
        pool = list(self.top) + self.by_release[rnd] + self.by_release[rnd - 1]
        for c, _ in taste.most_common(3):
            pool.extend(self.top_by_cat.get(c, []))
        scored, picked = [], set()
        for it in pool:
            iid = it["id"]
            if iid in seen or iid in picked or it["release_round"] > rnd:
                continue
            picked.add(iid)
            cats = it.get("categories", [])
            fit = max((taste[c] / total for c in cats), default=0.0)
            score = fit + 0.1 * math.log1p(100 * it["popularity"]) + 0.05 * math.log1p(self.clicks[iid])
            best = max(cats, key=lambda c: taste[c], default="")
            why = f"you like {best}" if fit > 0 else "popular right now"
            if it["release_round"] >= rnd - 1 and it["release_round"] > 0:
                score += 0.3 * fit  # a fresh release in a category you like
                why = f"new in {best}" if fit > 0 else "new this round"
            scored.append((score, iid, why))
        scored.sort(key=lambda s: (-s[0], s[1]))
        return [{"id": i, "score": round(s, 6), "explanation": w} for s, i, w in scored[:k]]

    def learn(self, events):
        for e in events:
            if e["clicked"]:
                self.clicks[e["item"]] += 1


def main():
    worlds = {}
    out = sys.stdout

    def send(obj):
        out.write(json.dumps(obj) + "\n")
        out.flush()

    send({"type": "handshake", "protocol": PROTOCOL, "name": "python-example"})
    for line in sys.stdin:
        if not line.strip():
            continue
        msg = json.loads(line)
        kind, mid = msg.get("type"), msg.get("id")
        try:
            if kind == "health":
                send({"type": "health", "id": mid, "protocol": PROTOCOL, "status": "ok", "name": "python-example"})
            elif kind == "reset":
                worlds[msg["world"]] = Model(msg.get("catalog", []))
                send({"type": "ack", "id": mid})
            elif kind == "recommend":
                items = worlds[msg["world"]].recommend(msg)
                send({"type": "slate", "id": mid, "items": items})
            elif kind == "feedback":
                worlds[msg["world"]].learn(msg["events"])
                send({"type": "ack", "id": mid})
            else:
                send({"type": "error", "id": mid, "error": f"unknown message type {kind!r}"})
        except Exception as exc:  # answer, so recloop's call fails cleanly instead of waiting
            send({"type": "error", "id": mid, "error": f"{type(exc).__name__}: {exc}"})


if __name__ == "__main__":
    main()
