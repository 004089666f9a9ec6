// Verifies webhook signatures the way a Node receiver does, with WebCrypto (RSASSA-PKCS1-v1_5,
// SHA-256). stdin: {"publicKey": "<PEM>", "deliveries": [{"body": "<base64 of the raw body>",
// "signature": "<rtk-signature>"}]}. stdout: for each delivery, [raw body verifies,
// JSON.stringify(JSON.parse(body)) verifies].
import { webcrypto } from "node:crypto";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const der = Buffer.from(
  input.publicKey.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""),
  "base64",
);
const algorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
const key = await webcrypto.subtle.importKey("spki", der, algorithm, false, ["verify"]);
const out = [];
for (const d of input.deliveries) {
  const raw = Buffer.from(d.body, "base64");
  const signature = Buffer.from(d.signature, "base64");
  const reserialised = Buffer.from(JSON.stringify(JSON.parse(raw.toString("utf8"))), "utf8");
  out.push([
    await webcrypto.subtle.verify(algorithm, key, signature, raw),
    await webcrypto.subtle.verify(algorithm, key, signature, reserialised),
  ]);
}
process.stdout.write(JSON.stringify(out));
