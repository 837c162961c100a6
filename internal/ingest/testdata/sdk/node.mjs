// Drives a real server-side SDK against Pulse as an application would, with
// nothing changed but the host: node node.mjs segment|posthog, with
// PULSE_URL and PULSE_KEY in the environment. The Go tests (sdk_node_test.go)
// then read what Pulse stored. The calls are flushed in phases, so that the
// anonymous activity is stored before the identify that claims it, and the
// known user that an alias merges away exists before the alias, as they
// would over the life of a real application.
//
// The process exits non-zero when the SDK reported anything but delivery:
// an error event, a failed callback, an HTTP status that is not 2xx, or a
// call that was never acknowledged. SDKs log and drop what the server
// refuses, so without these hooks a 4xx from Pulse would pass unnoticed.
import { Analytics } from '@segment/analytics-node'
import { PostHog } from 'posthog-node'

const host = process.env.PULSE_URL
const key = process.env.PULSE_KEY
const sdk = process.argv[2]

const failures = []
const fail = (what, err) => failures.push(`${what}: ${err?.stack ?? err}`)

async function segment() {
  // Few retries: Pulse is on loopback, and a refusal should fail the test
  // in seconds, not after the SDK's default minutes of backoff.
  const analytics = new Analytics({ writeKey: key, host, maxRetries: 2 })
  analytics.on('error', (err) => fail('analytics-node error event', err?.reason ?? err))
  analytics.on('http_response', (res) => {
    if (res.status < 200 || res.status >= 300) fail('analytics-node HTTP response', `${res.status} ${res.statusText} from ${res.url}`)
  })
  let sent = 0
  let acknowledged = 0
  const done = (call) => {
    sent++
    return (err) => {
      acknowledged++
      if (err) fail(`analytics-node ${call} callback`, err)
    }
  }

  // A visitor browses before signing up, and an old account exists.
  analytics.page({ anonymousId: 'seg-visitor', name: 'Pricing', properties: { path: '/pricing', referrer: 'ad' } }, done('page'))
  analytics.track({ anonymousId: 'seg-visitor', event: 'Signup Started', properties: { plan: 'pro', seats: 3 } }, done('track'))
  analytics.track({ userId: 'seg-legacy', event: 'Legacy Login', properties: { source: 'import' } }, done('track'))
  await analytics.flush()

  // The visitor signs up and uses the product.
  analytics.identify({ anonymousId: 'seg-visitor', userId: 'seg-ann', traits: { email: 'ann@example.com', plan: 'pro' } }, done('identify'))
  analytics.track({ userId: 'seg-ann', event: 'Report Exported', properties: { format: 'csv', rows: 42, tags: ['q1', 'q2'] } }, done('track'))
  analytics.screen({ userId: 'seg-ann', name: 'Dashboard', properties: { tab: 'overview' } }, done('screen'))
  analytics.group({ userId: 'seg-ann', groupId: 'acme', traits: { name: 'Acme Inc' } }, done('group'))
  await analytics.flush()

  // The old account turns out to be the same person.
  analytics.alias({ userId: 'seg-ann', previousId: 'seg-legacy' }, done('alias'))
  await analytics.closeAndFlush({ timeout: 30_000 })
  if (acknowledged !== sent) fail('analytics-node', `${sent - acknowledged} of ${sent} calls were never acknowledged`)
}

async function posthog() {
  const client = new PostHog(key, { host, fetchRetryCount: 1 })
  client.on('error', (err) => fail('posthog-node error event', err))
  let delivered = 0
  client.on('flush', (messages) => {
    delivered += messages.length
  })
  const flush = async (phase) => {
    try {
      await client.flush()
    } catch (err) {
      fail(`posthog-node flush (${phase})`, err)
    }
  }

  // A server SDK knows its users: an old account exists.
  client.capture({ distinctId: 'ph-legacy', event: 'legacy login', properties: { source: 'import' } })
  await flush('legacy')

  client.identify({ distinctId: 'ph-ann', properties: { email: 'ann@example.com', plan: 'pro' } })
  client.capture({ distinctId: 'ph-ann', event: 'report exported', properties: { format: 'csv', rows: 42, $set: { role: 'owner' } } })
  client.capture({ distinctId: 'ph-ann', event: '$pageview', properties: { $current_url: 'https://app.example.com/reports' } })
  client.setPersonProperties({ distinctId: 'ph-ann', properties: { seats: 5 } })
  await flush('activity')

  client.alias({ distinctId: 'ph-ann', alias: 'ph-legacy' })
  try {
    await client.shutdown(30_000)
  } catch (err) {
    fail('posthog-node shutdown', err)
  }
  const calls = 6
  if (delivered !== calls) fail('posthog-node', `${delivered} of ${calls} calls were delivered`)
}

const scenarios = { segment, posthog }
if (!scenarios[sdk] || !host || !key) {
  console.error('usage: PULSE_URL=... PULSE_KEY=... node node.mjs segment|posthog')
  process.exit(2)
}
try {
  await scenarios[sdk]()
} catch (err) {
  fail(sdk, err)
}
if (failures.length > 0) {
  console.error(failures.join('\n'))
  process.exit(1)
}
