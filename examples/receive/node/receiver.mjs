// Receive Herald's webhooks in Node.js, standard library only.
//   SECRET=whsec_... PORT=4001 node receiver.mjs
import { createServer } from "node:http";
import { createHmac, timingSafeEqual } from "node:crypto";

const secret = process.env.SECRET;
const toleranceSeconds = 5 * 60;

const same = (a, b) => a.length === b.length && timingSafeEqual(a, b);

// Standard Webhooks: webhook-signature holds "v1,<base64>" signatures of
// `${id}.${timestamp}.${body}`, keyed with the base64-decoded secret after
// "whsec_" (or the secret's bytes, for one without it). Two are present for
// a day after the secret is rotated.
function verifyStandard(headers, body) {
  const id = headers["webhook-id"];
  const ts = headers["webhook-timestamp"];
  const signatures = headers["webhook-signature"];
  if (!id || !ts || !signatures) return false;
  if (Math.abs(Date.now() / 1000 - Number(ts)) > toleranceSeconds) return false;
  const key = secret.startsWith("whsec_") ? Buffer.from(secret.slice(6), "base64") : Buffer.from(secret);
  const expected = createHmac("sha256", key).update(`${id}.${ts}.`).update(body).digest();
  return signatures.split(" ").some((s) => {
    const [version, sig] = s.split(",");
    return version === "v1" && same(Buffer.from(sig ?? "", "base64"), expected);
  });
}

// Twenty: x-twenty-webhook-signature is the hex HMAC of `${timestamp}:${body}`,
// keyed with the secret string itself; the timestamp is in milliseconds.
function verifyTwenty(headers, body) {
  const ts = headers["x-twenty-webhook-timestamp"];
  const sig = headers["x-twenty-webhook-signature"];
  if (!ts || !sig) return false;
  if (Math.abs(Date.now() - Number(ts)) > toleranceSeconds * 1000) return false;
  const expected = createHmac("sha256", secret).update(`${ts}:`).update(body).digest();
  return same(Buffer.from(sig, "hex"), expected);
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    // Verify the raw bytes: re-serialised JSON would not match.
    const body = Buffer.concat(chunks);
    // One scheme is enough; this example checks both.
    if (!verifyStandard(req.headers, body) || !verifyTwenty(req.headers, body)) {
      res.writeHead(401).end("bad signature");
      return;
    }
    const event = JSON.parse(body);
    // Deliveries are at least once: dedupe on event.id if it matters.
    console.log(`verified ${event.event} ${event.id}`);
    res.writeHead(204).end();
  });
});
server.listen(Number(process.env.PORT ?? 4001), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
