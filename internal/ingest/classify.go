package ingest

import (
	"strings"

	"github.com/pulse-analytics/pulse/ent/event"
)

// Classify decides the platform of an event from what the SDK says about the
// device, most explicit signal first:
//
//  1. context.device.type: "mobile"/"phone"/"ios"/"android" → MOBILE,
//     "tablet"/"ipad" → TABLET, "desktop"/"computer"/"pc"/"mac"/"web" →
//     DESKTOP (analytics-ios and analytics-android send ios/android here);
//  2. context.os.name: iOS, iPadOS, Android → MOBILE (iPadOS → TABLET);
//     Windows, macOS/Mac OS X, Linux, Chrome OS, Ubuntu → DESKTOP;
//  3. the user agent: "iPad", or "Android" without "Mobile" → TABLET;
//     "Mobi", "iPhone", "iPod", "Android" → MOBILE; a known desktop OS token
//     (Windows NT, Macintosh, X11, Linux, CrOS) → DESKTOP;
//  4. otherwise OTHER (servers, bots, consoles, nothing said).
func Classify(c Context) event.Platform {
	if p, ok := byDeviceType(strings.ToLower(strings.TrimSpace(c.DeviceType))); ok {
		return p
	}
	if p, ok := byOSName(strings.ToLower(strings.TrimSpace(c.OSName))); ok {
		return p
	}
	if p, ok := byUserAgent(c.UserAgent); ok {
		return p
	}
	return event.PlatformOTHER
}

func byDeviceType(t string) (event.Platform, bool) {
	switch t {
	case "mobile", "phone", "smartphone", "ios", "android", "handset":
		return event.PlatformMOBILE, true
	case "tablet", "ipad":
		return event.PlatformTABLET, true
	case "desktop", "computer", "pc", "mac", "laptop", "web":
		return event.PlatformDESKTOP, true
	}
	return "", false
}

func byOSName(os string) (event.Platform, bool) {
	switch {
	case os == "":
		return "", false
	case os == "ipados":
		return event.PlatformTABLET, true
	case os == "ios" || os == "iphone os" || os == "android":
		return event.PlatformMOBILE, true
	case strings.HasPrefix(os, "windows") || strings.HasPrefix(os, "mac") || os == "linux" ||
		os == "chrome os" || os == "chromeos" || os == "ubuntu":
		return event.PlatformDESKTOP, true
	}
	return "", false
}

func byUserAgent(ua string) (event.Platform, bool) {
	switch {
	case ua == "":
		return "", false
	case strings.Contains(ua, "iPad") || (strings.Contains(ua, "Android") && !strings.Contains(ua, "Mobile")):
		return event.PlatformTABLET, true
	case strings.Contains(ua, "Mobi") || strings.Contains(ua, "iPhone") || strings.Contains(ua, "iPod") ||
		strings.Contains(ua, "Android"):
		return event.PlatformMOBILE, true
	case strings.Contains(ua, "Windows NT") || strings.Contains(ua, "Macintosh") || strings.Contains(ua, "X11") ||
		strings.Contains(ua, "Linux") || strings.Contains(ua, "CrOS"):
		return event.PlatformDESKTOP, true
	}
	return "", false
}
