#!/usr/bin/env python3
"""The agent desktop's bridge API for the compose stack test: answers every POST with 200 and
appends "METHOD PATH BODY" to a log file, one line per request.

    fake_bridge.py PORT LOG
"""
import http.server
import sys


class Bridge(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (the handler's name is http.server's)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace").replace("\n", " ")
        with open(sys.argv[2], "a", encoding="utf-8") as log:
            log.write(f"POST {self.path} {body}\n")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Bridge).serve_forever()
