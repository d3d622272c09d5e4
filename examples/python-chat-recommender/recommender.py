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
genres and tags ("comedy", "not horror") and for years ("from 1990",
"from 1990 to 2009", "the 1990s", "before 2000", "after 1985"), asks one
question when it has learned nothing yet, and otherwise proposes the most
popular items that fit,
boosted by what users accepted before, each with an explanation naming
the slots it matched. Replace `World.chat` and `World.learn` with your own.

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

QUESTION = "What genre are you in the mood for?"
# A word in one of these, up to 20 characters before a genre, makes it an
# exclusion: "not horror", "no horror or gore", "nothing too dark".
NEGATION = re.compile(r"\b(?:not|no|nothing|without|except|never|don't|dont|avoid|hate)\b[\w\s'-]{0,20}$")
SOFT = re.compile(r"\b(?:love|loves|enjoy|usually|tend to like|fan of)\b")
YEAR_RANGE = re.compile(r"\b(?:from|between)\s+(\d{4})\s*(?:to|and|until|-)\s*(\d{4})\b")
DECADE = re.compile(r"\b(\d{3})0s\b|(?<![\w'])'?([2-9])0s\b")
FROM = re.compile(r"\b(?:from|since)\s+(\d{4})\b")
AFTER = re.compile(r"\b(?:after|newer than|later than)\s+(\d{4})\b")
BEFORE = re.compile(r"\b(?:before|older than|earlier than)\s+(\d{4})\b")
UNTIL = re.compile(r"\b(?:until|up to|through)\s+(\d{4})\b")


def log(*args):
    """stderr only: in subprocess mode stdout carries nothing but protocol lines."""
    print(NAME + ":", *args, file=sys.stderr, flush=True)


def find_word(text, word):
    """Where word occurs in text as a whole word ('-' is part of words), or -1."""
    for m in re.finditer(re.escape(word), text):
        a, b = m.start(), m.end()
        if (a == 0 or not (text[a - 1].isalnum() or text[a - 1] == "-")) and (
            b == len(text) or not (text[b].isalnum() or text[b] == "-")
        ):
            return a
    return -1


def read_years(clause, slots):
    """Fills the year slots from one clause; a later clause overrides."""
    if m := YEAR_RANGE.search(clause):
        slots.year_min, slots.year_max = int(m.group(1)), int(m.group(2))
        return
    if m := DECADE.search(clause):
        start = int(m.group(1) + "0") if m.group(1) else 1900 + int(m.group(2)) * 10
        slots.year_min, slots.year_max = start, start + 9
        return
    if m := FROM.search(clause):
        slots.year_min = int(m.group(1))
    if m := AFTER.search(clause):
        slots.year_min = int(m.group(1)) + 1
    if m := BEFORE.search(clause):
        slots.year_max = int(m.group(1)) - 1
    if m := UNTIL.search(clause):
        slots.year_max = int(m.group(1))


class Slots:
    """What the user asked for so far."""

    def __init__(self):
        self.want, self.avoid, self.likes = set(), set(), set()
        self.year_min, self.year_max = None, None

    def add(self, word, kind):
        """Records word in one slot. A later "want" or "not" overrides an
        earlier one ("comedy ... actually, no comedy"); a soft "I enjoy"
        never weakens a firm one, since users repeat their tastes softly."""
        if kind == "like":
            if word not in self.want and word not in self.avoid:
                self.likes.add(word)
            return
        for s in (self.want, self.avoid, self.likes):
            s.discard(word)
        (self.want if kind == "want" else self.avoid).add(word)

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

    def years(self):
        if self.year_min and self.year_max:
            return f"from {self.year_min} to {self.year_max}"
        if self.year_min:
            return f"from {self.year_min} on"
        if self.year_max:
            return f"up to {self.year_max}"
        return ""

    def describe(self):
        parts = sorted(self.want) + ([self.years()] if self.years() else [])
        return ", ".join(parts + [f"no {a}" for a in sorted(self.avoid)])

    def explain(self, item):
        """Why item fits: the slots it matched, by name."""
        labels = set(item.get("categories", [])) | set(item.get("tags", []))
        matched = sorted(self.want & labels)
        liked = sorted((self.likes & labels) - self.want)
        genres = "/".join(item.get("categories", [])) or "title"
        why = f"A {genres}"
        if item.get("year") is not None:
            why += f" from {item['year']}"
        reasons = []
        if matched:
            reasons.append("you asked for " + " and ".join(matched))
        if self.years():
            reasons.append(f"released {self.years()}")
        if liked:
            reasons.append("you enjoy " + " and ".join(liked))
        if self.avoid:
            reasons.append("no " + " or ".join(sorted(self.avoid)))
        if not reasons:
            return why + ", popular with everyone."
        return why + ": " + "; ".join(reasons) + "."


class World:
    """Everything one simulated world knows. recloop sends a reset per world."""

    def __init__(self, catalog):
        self.items = sorted(catalog, key=lambda it: (-it.get("popularity", 0), it["id"]))
        self.vocabulary = sorted({v.lower() for it in catalog for v in it.get("categories", []) + it.get("tags", [])})
        self.accepted = Counter()
        self.lock = threading.Lock()
        for it in self.items:
            it["categories"] = [c.lower() for c in it.get("categories") or []]
            it["tags"] = [t.lower() for t in it.get("tags") or []]
            year = (it.get("attributes") or {}).get("year")
            it["year"] = int(year) if isinstance(year, (int, float)) else None

    def read(self, messages):
        """The slots the user's messages fill, oldest first, so that later words win."""
        slots = Slots()
        for msg in messages:
            if msg["role"] != "user":
                continue
            for clause in re.split(r"[.,;:!?]|\bbut\b", msg["content"].lower()):
                soft = bool(SOFT.search(clause))
                for word in self.vocabulary:
                    at = find_word(clause, word)
                    if at < 0:
                        continue
                    if NEGATION.search(clause[:at]):
                        slots.add(word, "avoid")
                    else:
                        slots.add(word, "like" if soft else "want")
                read_years(clause, slots)
        return slots

    def chat(self, msg):
        """The recommender's turn: one question while it knows nothing, else up to k proposals."""
        slots = self.read(msg["messages"])
        asked = any(m["role"] == "recommender" and not m.get("items") for m in msg["messages"])
        if not slots.known() and not asked:
            return {"message": QUESTION}
        items = self.propose(msg, slots)
        if not items:
            return {"message": "I have nothing that fits all of that. Could you loosen something?"}
        wanted = slots.describe()
        return {"message": f"Here are some picks ({wanted})." if wanted else "Here are some popular picks.", "items": items}

    def propose(self, msg, slots):
        """Up to k items that fit the slots, most popular first (boosted by
        what users accepted and by what they said they enjoy), released by
        this round, neither consumed nor proposed before in this dialogue."""
        shown = {h["item"] for h in msg.get("history", [])}
        for m in msg.get("messages", []):
            shown.update(it["id"] for it in m.get("items") or [])
        with self.lock:
            accepted = dict(self.accepted)

        def score(it):
            labels = set(it.get("categories", [])) | set(it.get("tags", []))
            return it.get("popularity", 0) * (1 + len(slots.likes & labels)) * (1 + accepted.get(it["id"], 0))

        fitting = [it for it in self.items if it["id"] not in shown and it["release_round"] <= msg["round"] and slots.fits(it)]
        fitting.sort(key=lambda it: (-score(it), it["id"]))
        return [
            {"id": it["id"], "score": round(1.0 / (rank + 1), 6), "explanation": slots.explain(it)}
            for rank, it in enumerate(fitting[: msg["k"]])
        ]

    def learn(self, events):
        """Counts accepted items (clicked), which later proposals favour."""
        with self.lock:
            for e in events:
                if e.get("clicked"):
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
                health = {"type": "health", "protocol": PROTOCOL, "status": "ok", "name": NAME, "capabilities": CAPABILITIES}
                return health if mid is None else {**health, "id": mid}  # GET /health carries no id
            if kind == "reset":
                world = World(msg.get("catalog", []))
                with self.lock:
                    self.worlds[msg["world"]] = world
                return {"type": "ack", "id": mid}
            with self.lock:
                world = self.worlds.get(msg.get("world"))
            if world is None:
                return {"type": "error", "id": mid, "error": f"no reset for world {msg.get('world')!r} yet"}
            if kind == "chat":
                return {"type": "reply", "id": mid, **world.chat(msg)}
            if kind == "feedback":
                world.learn(msg["events"])
                return {"type": "ack", "id": mid}
            if kind == "recommend":  # slate scenarios: the most popular items
                return {"type": "slate", "id": mid, "items": world.propose(msg, Slots())}
            return {"type": "error", "id": mid, "error": f"unknown message type {kind!r}"}
        except Exception as exc:  # answer, so that recloop's call fails cleanly instead of waiting
            return {"type": "error", "id": mid, "error": f"{type(exc).__name__}: {exc}"}


def serve_pipe(host):
    def send(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    send({"type": "handshake", "protocol": PROTOCOL, "name": NAME, "capabilities": CAPABILITIES})
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            msg = json.loads(line)
        except ValueError as exc:  # nothing to answer: without an id recloop could not route it
            log(f"skipping a line that is not JSON: {exc}")
            continue
        send(host.answer(msg))


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
            try:
                msg = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            except ValueError as exc:
                return self.reply({"type": "error", "error": f"bad request body: {exc}"}, 400)
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
