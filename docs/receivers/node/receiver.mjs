// A gaprelay webhook receiver in Node: the Standard Webhooks signature checked with npm
// `standardwebhooks`, `data` decrypted with npm `jose`. Prints each event as a JSON line.
//
//   WEBHOOK_SECRET=whsec_... DECRYPTION_KEY='{"kty": ...}' PORT=8000 node receiver.mjs
//
// DECRYPTION_KEY: the `encryption_key` JWK the relay returned (`jwe`), your private JWK
// (`jwe-receiver`), or unset (`none`). PORT=0 picks a free port.
import { createServer } from "node:http";
import { Webhook } from "standardwebhooks";
import { flattenedDecrypt, generalDecrypt, importJWK } from "jose";

const webhook = new Webhook(process.env.WEBHOOK_SECRET);
const jwk = process.env.DECRYPTION_KEY ? JSON.parse(process.env.DECRYPTION_KEY) : null;
const key = jwk && (await importJWK(jwk, jwk.kty === "oct" ? "dir" : "ECDH-ES+A256KW"));

// The payload: `data` itself, or the plaintext of the JWE it holds.
async function openData(data) {
  if (!("ciphertext" in data)) return data;
  const { plaintext } = "recipients" in data
    ? await generalDecrypt(data, key) // jwe-receiver: one recipient per public key
    : await flattenedDecrypt(data, key); // jwe: the shared key
  return JSON.parse(new TextDecoder().decode(plaintext));
}

createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", async () => {
    try {
      // Throws unless signed with the secret and timestamped within 5 minutes.
      const event = webhook.verify(Buffer.concat(chunks).toString("utf8"), req.headers);
      const data = await openData(event.data);
      // Store it, deduplicating on webhook-id (retries repeat it), then answer 2xx.
      console.log(JSON.stringify({ id: req.headers["webhook-id"], type: event.type, data }));
      res.writeHead(204).end();
    } catch (refused) {
      console.error(`refused: ${refused.name}`);
      res.writeHead(400).end();
    }
  });
}).listen(Number(process.env.PORT ?? 8000), "127.0.0.1", function () {
  console.error(`listening on ${this.address().port}`);
});
