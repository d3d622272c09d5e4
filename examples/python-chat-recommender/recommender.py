#!/usr/bin/env python3
"""A conversational recommender for recloop, in standard-library Python.

Two ways to run it, one model:

    python3 recommender.py                 # a subprocess: recloop starts it (recommender: exec)
    python3 recommender.py --http 8001     # a service: you start it (recommender: http)

It declares the "chat" capability, so recloop holds conversations with it
(docs/protocol.md, "Conversations"). Each chat message carries the whole
dialogue so far; the reply is a message and, when it has something to
propose, up to k catalog ids with explanations.

The model is slot filling: it reads the user's words for the catalog's
genres and tags ("comedy", "nothing horror") and for years ("from 1990 to
2009", "the 1990s", "before 2000"), asks one question when it has learned
nothing yet, and otherwise proposes the most popular items that fit,
boosted by what users accepted before. Replace `World.chat` and
`World.learn` with your own.

Log to stderr (print(..., file=sys.stderr)); in subprocess mode stdout
belongs to the protocol.
"""
import argparse
import json
import re
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROTOCOL = 1
NAME = "python-chat-example"
CAPABILITIES = ["chat"]

NEGATION = re.compile(r"\b(?:not|no|nothing|without|except|never)\b[\w\s-]{0,20}$")
SOFT = re.compile(r"\b(?:love|loves|enjoy|usually|tend to like|fan of)\b")
YEAR_RANGE = re.compile(r"(?:from|between)\s+(\d{4})\s+(?:to|and|-)\s+(\d{4})")
DECADE = re.compile(r"\b(\d{3})0s\b")
AFTER = re.compile(r"\b(?:after|since)\s+(\d{4})")
BEFORE = re.compile(r"\bbefore\s+(\d{4})")


def find_word(text, word):
    """Where word occurs in text as a whole word ('-' is part of words), or -1."""
    for m in re.finditer(re.escape(word), text):
        a, b = m.start(), m.end()
        if (a == 0 or not (text[a - 1].isalnum() or text[a - 1] == "-")) and (
            b == len(text) or not (text[b].isalnum() or text[b] == "-")
        ):
            return a
    return -1


class Slots:
    """What the user asked for so far."""

    def __init__(self):
        self.want, self.avoid, self.likes = set(), set(), set()
        self.year_min, self.year_max = None, None

    def known(self):
        return bool(self.want or self.avoid or self.likes or self.year_min or self.year_max)

    def fits(self, item):
        labels = set(item.get("categories", [])) | set(item.get("tags", []))
        if not self.want <= labels or self.avoid & labels:
            return False
        year = item.get("year")
        if self.year_min is not None and (year is None or year < self.year_min):
            return False
        if self.year_max is not None and (year is None or year > self.year_max):
            return False
        return True

    def describe(self):
        parts = sorted(self.want)
        if self.year_min and self.year_max:
            parts.append(f"from {self.year_min} to {self.year_max}")
        elif self.year_min:
            parts.append(f"from {self.year_min} on")
        elif self.year_max:
            parts.append(f"up to {self.year_max}")
        parts += [f"no {a}" for a in sorted(self.avoid)]
        return ", ".join(parts)


class World:
    """Everything one simulated world knows. recloop sends a reset per world."""

    def __init__(self, catalog):
        self.items = sorted(catalog, key=lambda it: (-it.get("popularity", 0), it["id"]))
        self.vocabulary = sorted({v for it in catalog for v in it.get("categories", []) + it.get("tags", [])})
        self.accepted = Counter()
        self.lock = threading.Lock()
        for it in self.items:
            year = it.get("attributes", {}).get("year")
            it["year"] = int(year) if isinstance(year, (int, float)) else None

    def read(self, messages):
        slots = Slots()
        for msg in messages:
            if msg["role"] != "user":
                continue
            for clause in re.split(r"[.,;:!?]", msg["content"].lower()):
                soft = bool(SOFT.search(clause))
                for word in self.vocabulary:
                    at = find_word(clause, word)
                    if at < 0:
                        continue
                    if NEGATION.search(clause[:at]):
                        slots.avoid.add(word)
                    elif soft:
                        slots.likes.add(word)
                    else:
                        slots.want.add(word)
                if m := YEAR_RANGE.search(clause):
                    slots.year_min, slots.year_max = int(m.group(1)), int(m.group(2))
                elif m := DECADE.search(clause):
                    slots.year_min = int(m.group(1) + "0")
                    slots.year_max = slots.year_min + 9
                if m := AFTER.search(clause):
                    slots.year_min = int(m.group(1)) + 1
                if m := BEFORE.search(clause):
                    slots.year_max = int(m.group(1)) - 1
        return slots

    def chat(self, msg):
        """The recommender's turn: a question, or up to k proposals."""
        slots = self.read(msg["messages"])
        asked = any(m["role"] == "recommender" and not m.get("items") for m in msg["messages"])
        if not slots.known() and not asked:
            return {"message": "What genre would you enjoy?"}
        shown = {h["item"] for h in msg["history"]}
        for m in msg["messages"]:
            shown.update(it["id"] for it in m.get("items", []))
        with self.lock:
            accepted = dict(self.accepted)

        def score(it):
            labels = set(it.get("categories", [])) | set(it.get("tags", []))
            return it.get("popularity", 0) * (1 + len(slots.likes & labels)) * (1 + accepted.get(it["id"], 0))

        fitting = [it for it in self.items if it["id"] not in shown and it["release_round"] <= msg["round"] and slots.fits(it)]
        fitting.sort(key=lambda it: (-score(it), it["id"]))
        picks = fitting[: msg["k"]]
        if not picks:
            return {"message": "I have nothing that fits all of that. Could you loosen something?"}
        wanted = slots.describe()
        items = []
        for rank, it in enumerate(picks):
            genres = "/".join(it.get("categories", [])) or "title"
            why = f"A {genres} that fits what you asked for ({wanted})." if wanted else f"A popular {genres}."
            items.append({"id": it["id"], "score": round(1.0 / (rank + 1), 6), "explanation": why})
        return {"message": f"Here are some picks: {wanted}." if wanted else "Here are some picks.", "items": items}

    def learn(self, events):
        with self.lock:
            for e in events:
                if e["clicked"]:
                    self.accepted[e["item"]] += 1


class Host:
    """Answers protocol messages; shared by both transports."""

    def __init__(self):
        self.worlds = {}
        self.lock = threading.Lock()

    def answer(self, msg):
        kind, mid = msg.get("type"), msg.get("id")
        try:
            if kind == "health":
                return {"type": "health", "id": mid, "protocol": PROTOCOL, "status": "ok", "name": NAME, "capabilities": CAPABILITIES}
            if kind == "reset":
                with self.lock:
                    self.worlds[msg["world"]] = World(msg.get("catalog", []))
                return {"type": "ack", "id": mid}
            with self.lock:
                world = self.worlds[msg["world"]]
            if kind == "chat":
                return {"type": "reply", "id": mid, **world.chat(msg)}
            if kind == "feedback":
                world.learn(msg["events"])
                return {"type": "ack", "id": mid}
            if kind == "recommend":  # slate scenarios: the most popular items
                return {"type": "slate", "id": mid, "items": world.chat({**msg, "messages": [{"role": "user", "content": "anything"}]}).get("items", [])}
            return {"type": "error", "id": mid, "error": f"unknown message type {kind!r}"}
        except Exception as exc:  # answer, so that recloop's call fails cleanly instead of waiting
            return {"type": "error", "id": mid, "error": f"{type(exc).__name__}: {exc}"}


def serve_pipe(host):
    def send(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    send({"type": "handshake", "protocol": PROTOCOL, "name": NAME, "capabilities": CAPABILITIES})
    for line in sys.stdin:
        if line.strip():
            send(host.answer(json.loads(line)))


def serve_http(host, port):
    paths = {"/reset": "reset", "/chat": "chat", "/feedback": "feedback", "/recommend": "recommend"}

    class Handler(BaseHTTPRequestHandler):
        def reply(self, obj, status=200):
            body = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path != "/health":
                return self.reply({"type": "error", "error": "not found"}, 404)
            self.reply(host.answer({"type": "health"}))

        def do_POST(self):
            if self.path not in paths:
                return self.reply({"type": "error", "error": "not found"}, 404)
            msg = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            self.reply(host.answer(msg))

        def log_message(self, fmt, *args):
            pass  # quiet: one line per request would drown recloop's log

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--http", type=int, metavar="PORT", help="serve HTTP on this port (0 picks a free one) instead of stdin/stdout")
    args = ap.parse_args()
    host = Host()
    if args.http is None:
        serve_pipe(host)
    else:
        serve_http(host, args.http)


if __name__ == "__main__":
    main()
