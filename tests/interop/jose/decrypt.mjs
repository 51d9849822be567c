// Decrypts a JWE (General JSON) with panva's jose, as a CRM's Node receiver would.
// stdin: {"jwk": <private JWK>, "jwe": <General JSON JWE>}; stdout: the plaintext.
import { generalDecrypt, importJWK } from "jose";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { jwk, jwe } = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const key = await importJWK(jwk, "ECDH-ES+A256KW");
const { plaintext, protectedHeader, unprotectedHeader } = await generalDecrypt(jwe, key, {
  keyManagementAlgorithms: ["ECDH-ES+A256KW"],
  contentEncryptionAlgorithms: ["A256GCM"],
});
if (unprotectedHeader?.kid !== undefined && unprotectedHeader.kid !== jwk.kid) {
  throw new Error("decrypted with another recipient's key");
}
process.stdout.write(new TextDecoder().decode(plaintext));
