// Verifies webhooks with the official Standard Webhooks library, as a
// receiver would: reads a JSON array of {secret, headers, body} from the
// file named by its argument and prints, for each, "ok" or the library's
// error, one per line. The body is verified as the exact bytes received
// (given base64-encoded, so no JSON round trip can change them).
import { readFileSync } from "node:fs";
import { Webhook } from "standardwebhooks";

const messages = JSON.parse(readFileSync(process.argv[2], "utf8"));
for (const m of messages) {
  try {
    new Webhook(m.secret).verify(Buffer.from(m.body, "base64"), m.headers);
    console.log("ok");
  } catch (err) {
    console.log(`${err.name}: ${err.message}`);
  }
}
