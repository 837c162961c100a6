// The browser tests' page script (sdk_browser_test.go): the real
// analytics.js (@segment/analytics-next) and posthog-js, bundled by esbuild
// into one file with no code splitting, so that nothing is loaded from a
// CDN. Each scenario is configured as an application that points the SDK
// at Pulse would be, plus the options that keep the SDK from calling
// services Pulse does not serve. What the SDKs report as an error is kept
// in window.sdkErrors, which the test reads at the end.
import { AnalyticsBrowser } from '@segment/analytics-next'
import posthog from 'posthog-js'

window.sdkErrors = []
const fail = (what, err) => window.sdkErrors.push(`${what}: ${err?.stack ?? err}`)

// analytics.js resolves every call once all its destinations are done,
// Segment.io (the one that posts to Pulse) included: when this returns,
// Pulse has answered every call.
window.runAnalyticsJS = async ({ host, key }) => {
  const pulse = new URL(host)
  const [analytics] = await AnalyticsBrowser.load(
    {
      writeKey: key,
      // Settings given inline are never fetched from the CDN. Segment.io
      // is the destination that sends to the tracking API; sampleRate 0
      // turns off the SDK's own metrics, which it would post to <apiHost>/m.
      cdnSettings: { integrations: { 'Segment.io': { apiKey: key } }, metrics: { sampleRate: 0 } },
    },
    { integrations: { 'Segment.io': { apiHost: `${pulse.host}/v1`, protocol: pulse.protocol.replace(':', '') } } },
  )
  analytics.on('error', (err) => fail('analytics.js error event', err?.reason ?? err?.code ?? err))
  const delivered = (call, ctx) => {
    const failed = ctx.failedDelivery()
    if (failed) fail(`analytics.js ${call}`, failed.reason)
  }
  // A visitor browses before signing up, then signs up and uses the product.
  delivered('page', await analytics.page('Pricing', { plan: 'pro' }))
  delivered('track', await analytics.track('Signup Started', { plan: 'pro', seats: 3 }))
  delivered('identify', await analytics.identify('ajs-ann', { email: 'ann@example.com', plan: 'pro' }))
  delivered('track', await analytics.track('Report Exported', { format: 'csv', rows: 42 }))
  delivered('screen', await analytics.screen('Dashboard', { tab: 'overview' }))
  delivered('group', await analytics.group('acme', { name: 'Acme Inc' }))
  // The CRM knows the user by another id.
  delivered('alias', await analytics.alias('ajs-ann', 'ajs-crm-7'))
  return { anonymousId: analytics.user().anonymousId() }
}

// posthog-js queues events and posts them in batches on a timer, with no
// delivery promise: the test waits for them in the database.
window.runPostHogJS = ({ host, key }) =>
  new Promise((resolve) => {
    posthog.init(key, {
      api_host: host,
      // No feature flags and no remote config (/flags, /array/.../config),
      // no scripts loaded from the host (replay, surveys, site apps), and no
      // automatic capture but the page view on load.
      advanced_disable_flags: true,
      disable_external_dependency_loading: true,
      disable_session_recording: true,
      disable_surveys: true,
      autocapture: false,
      capture_pageleave: false,
      capture_heatmaps: false,
      capture_dead_clicks: false,
      capture_performance: false,
      capture_exceptions: false,
      // posthog-js drops the events of a browser whose user agent looks
      // like a bot, and headless Chrome says it is HeadlessChrome.
      opt_out_useragent_filter: true,
      on_request_error: (res) => fail('posthog-js request', `${res.statusCode} ${res.text ?? ''}`),
      loaded: (ph) => {
        ph.capture('signup started', { plan: 'pro' })
        ph.identify('phjs-ann', { email: 'ann@example.com', plan: 'pro' }, { first_plan: 'pro' })
        ph.capture('report exported', { format: 'csv', rows: 42 })
        ph.setPersonProperties({ seats: 5 })
        ph.alias('phjs-crm-7')
        resolve({ deviceId: ph.get_property('$device_id') })
      },
    })
  })
