#!/usr/bin/env python3
"""A recloop recommender as an HTTP service. Standard library only.

    python3 server.py --port 8000

Endpoints (JSON bodies, see docs/protocol.md):
    GET  /health     -> {"type": "health", "protocol": 1, "status": "ok"}
    POST /reset      a world starts: forget it, keep its catalog -> {"type": "ack", "id": ...}
    POST /recommend  -> {"type": "slate", "id": ..., "items": [{"id", "score", "explanation"}]}
    POST /feedback   one round of clicks -> {"type": "ack", "id": ...}

The model: items ranked by clicks earned during the run, then by catalog
popularity. Replace `World.recommend` and `World.learn` with your own.
If RECLOOP_TOKEN is set, every request must carry "Authorization: Bearer <token>".
"""
import argparse
import json
import os
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROTOCOL = 1
TOKEN = os.environ.get("RECLOOP_TOKEN")


class World:
    def __init__(self, catalog):
        self.catalog = sorted(catalog, key=lambda it: (-it["popularity"], it["id"]))
        self.clicks = Counter()
        self.lock = threading.Lock()

    def recommend(self, msg):
        seen = {h["item"] for h in msg["history"]}
        with self.lock:
            clicks = dict(self.clicks)
        eligible = [it for it in self.catalog if it["id"] not in seen and it["release_round"] <= msg["round"]]
        eligible.sort(key=lambda it: (-clicks.get(it["id"], 0), -it["popularity"], it["id"]))
        items = []
        for it in eligible[: msg["k"]]:
            n = clicks.get(it["id"], 0)
            why = f"{n} clicks this run" if n else "popular in the catalog"
            items.append({"id": it["id"], "score": n + it["popularity"], "explanation": why})
        return items

    def learn(self, events):
        with self.lock:
            for e in events:
                if e["clicked"]:
                    self.clicks[e["item"]] += 1


worlds = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: recloop reuses connections

    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def authorized(self):
        if TOKEN and self.headers.get("Authorization") != "Bearer " + TOKEN:
            self.reply(401, {"type": "error", "error": "missing or wrong token"})
            return False
        return True

    def do_GET(self):
        if not self.authorized():
            return
        if self.path == "/health":
            self.reply(200, {"type": "health", "protocol": PROTOCOL, "status": "ok", "name": "http-example"})
        else:
            self.reply(404, {"type": "error", "error": "not found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        msg = json.loads(self.rfile.read(length))
        if not self.authorized():
            return
        try:
            if self.path == "/reset":
                worlds[msg["world"]] = World(msg.get("catalog", []))
                self.reply(200, {"type": "ack", "id": msg["id"]})
            elif self.path == "/recommend":
                items = worlds[msg["world"]].recommend(msg)
                self.reply(200, {"type": "slate", "id": msg["id"], "items": items})
            elif self.path == "/feedback":
                worlds[msg["world"]].learn(msg["events"])
                self.reply(200, {"type": "ack", "id": msg["id"]})
            else:
                self.reply(404, {"type": "error", "error": "not found"})
        except KeyError as exc:
            self.reply(400, {"type": "error", "id": msg.get("id", ""), "error": f"unknown {exc}"})

    def log_message(self, *args):  # keep stdout quiet; one line per request is too much
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
