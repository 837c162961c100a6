package ingest_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent/event"
	"github.com/pulse-analytics/pulse/internal/ingest"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	const (
		iphone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
		ipad    = "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
		android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/124.0 Mobile Safari/537.36"
		tab     = "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
		windows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
		mac     = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Safari/605.1.15"
		curl    = "curl/8.5.0"
	)
	tests := []struct {
		name string
		ctx  ingest.Context
		want event.Platform
	}{
		{"device type mobile", ingest.Context{DeviceType: "mobile", UserAgent: windows}, event.PlatformMOBILE},
		{"analytics-ios device type", ingest.Context{DeviceType: "ios"}, event.PlatformMOBILE},
		{"device type tablet", ingest.Context{DeviceType: "Tablet"}, event.PlatformTABLET},
		{"device type desktop", ingest.Context{DeviceType: "desktop", UserAgent: iphone}, event.PlatformDESKTOP},
		{"unknown device type falls through to os", ingest.Context{DeviceType: "tv", OSName: "Android"}, event.PlatformMOBILE},
		{"os iPadOS", ingest.Context{OSName: "iPadOS"}, event.PlatformTABLET},
		{"os Mac OS X", ingest.Context{OSName: "Mac OS X"}, event.PlatformDESKTOP},
		{"os Windows", ingest.Context{OSName: "Windows"}, event.PlatformDESKTOP},
		{"ua iPhone", ingest.Context{UserAgent: iphone}, event.PlatformMOBILE},
		{"ua iPad", ingest.Context{UserAgent: ipad}, event.PlatformTABLET},
		{"ua Android phone", ingest.Context{UserAgent: android}, event.PlatformMOBILE},
		{"ua Android tablet", ingest.Context{UserAgent: tab}, event.PlatformTABLET},
		{"ua Windows", ingest.Context{UserAgent: windows}, event.PlatformDESKTOP},
		{"ua Mac", ingest.Context{UserAgent: mac}, event.PlatformDESKTOP},
		{"ua curl", ingest.Context{UserAgent: curl}, event.PlatformOTHER},
		{"nothing", ingest.Context{}, event.PlatformOTHER},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, ingest.Classify(tt.ctx), tt.name)
	}
}
