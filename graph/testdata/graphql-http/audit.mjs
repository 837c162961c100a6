// Runs graphql-http's GraphQL-over-HTTP audit suite against PULSE_URL and
// prints one JSON line per result. It exits non-zero when any result is a
// warning or an error, after printing them all.
import { auditServer } from 'graphql-http';

const url = process.env.PULSE_URL;
if (!url) {
  console.error('PULSE_URL is not set');
  process.exit(2);
}
const results = await auditServer({ url });
let failed = 0;
for (const result of results) {
  const line = { status: result.status, id: result.id, name: result.name };
  if (result.status !== 'ok') {
    line.reason = result.reason;
    if (result.response) {
      line.response = {
        status: result.response.status,
        contentType: result.response.headers.get('content-type'),
        body: await result.response.text().catch((err) => String(err)),
      };
    }
  }
  if (result.status === 'warn' || result.status === 'error') failed++;
  console.log(JSON.stringify(line));
}
const counts = {};
for (const { status } of results) counts[status] = (counts[status] ?? 0) + 1;
console.log(JSON.stringify({ summary: counts }));
process.exit(failed ? 1 : 0);
