"""Receive Herald's webhooks in Python, standard library only.

    SECRET=whsec_... PORT=4002 python3 receiver.py
"""
import base64
import hashlib
import hmac
import json
import os
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

SECRET = os.environ["SECRET"]
TOLERANCE_SECONDS = 5 * 60


def verify_standard(headers, body):
    """Standard Webhooks: webhook-signature holds "v1,<base64>" signatures of
    id.timestamp.body, keyed with the base64-decoded secret after "whsec_"
    (or the secret's bytes, for one without it).
    Two are present for a day after the secret is rotated."""
    msg_id = headers.get("webhook-id")
    ts = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature")
    if not msg_id or not ts.isdigit() or not signatures:
        return False
    if abs(time.time() - int(ts)) > TOLERANCE_SECONDS:
        return False
    if SECRET.startswith("whsec_"):
        key = base64.b64decode(SECRET.removeprefix("whsec_"))
    else:
        key = SECRET.encode()
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256)
    expected = base64.b64encode(mac.digest()).decode()
    return any(
        hmac.compare_digest(s.removeprefix("v1,"), expected)
        for s in signatures.split(" ")
        if s.startswith("v1,")
    )


def verify_twenty(headers, body):
    """Twenty: x-twenty-webhook-signature is the hex HMAC of timestamp:body,
    keyed with the secret string itself; the timestamp is in milliseconds."""
    ts = headers.get("x-twenty-webhook-timestamp", "")
    sig = headers.get("x-twenty-webhook-signature", "")
    if not ts.isdigit() or not sig:
        return False
    if abs(time.time() * 1000 - int(ts)) > TOLERANCE_SECONDS * 1000:
        return False
    expected = hmac.new(SECRET.encode(), f"{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(sig, expected)


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        # Verify the raw bytes: re-serialised JSON would not match.
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        # One scheme is enough; this example checks both.
        if not (verify_standard(self.headers, body) and verify_twenty(self.headers, body)):
            self.send_response(401)
            self.end_headers()
            self.wfile.write(b"bad signature")
            return
        event = json.loads(body)
        # Deliveries are at least once: dedupe on event["id"] if it matters.
        print(f"verified {event['event']} {event['id']}", flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", int(os.environ.get("PORT", "4002"))), Receiver)
print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
