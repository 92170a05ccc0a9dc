"""An OpenAI-compatible stand-in that answers every request after a fixed delay, many at once.

It answers with the letter of the first choice, and logs when each request arrived and
was answered, with a hash of its prompt, so a benchmark can measure throughput and
re-asked questions from the server's side.

    python bench/delay_server.py --port 9000 --delay 0.1 --log requests.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    delay = 0.1
    log = None
    lock = threading.Lock()
    reply = staticmethod(lambda prompt: "Answer: A")  # the chat reply to a prompt

    def log_message(self, *args):  # quiet
        pass

    def _send(self, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._send({"object": "list", "data": [{"id": "delay-model", "object": "model", "owned_by": "bench"}]})

    def do_POST(self):
        started = time.time()
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        prompt = body.get("prompt") or json.dumps(body.get("messages"))
        time.sleep(self.delay)
        if self.path.endswith("/completions") and "chat" not in self.path:
            top = {" A": -0.5, " B": -1.5, " C": -2.0, " D": -2.5}
            self._send({"object": "text_completion", "model": "delay-model",
                        "choices": [{"index": 0, "text": " A", "finish_reason": "length",
                                     "logprobs": {"tokens": [" A"], "token_logprobs": [-0.5], "top_logprobs": [top]}}]})
        else:
            self._send({"object": "chat.completion", "model": "delay-model",
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": self.reply(prompt)}}]})
        if self.log is not None:
            entry = {"start": started, "end": time.time(), "prompt": hashlib.sha256(prompt.encode()).hexdigest()[:16]}
            with self.lock:
                self.log.write(json.dumps(entry) + "\n")
                self.log.flush()


def serve(port: int, delay: float, log_path: str | None, reply=None) -> ThreadingHTTPServer:
    Handler.delay = delay
    if reply is not None:
        Handler.reply = staticmethod(reply)
    Handler.log = open(log_path, "a") if log_path else None
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.request_queue_size = 256
    return server


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--log")
    args = parser.parse_args()
    serve(args.port, args.delay, args.log).serve_forever()
