package audit_test

import (
	"testing"

	"github.com/pulse-analytics/pulse/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
