package ingest

import (
	"time"

	"github.com/lib/pq"
)

// timestampText is t as PostgreSQL reads a timestamptz, the text lib/pq
// sends for a time.Time ("2006-01-02 15:04:05.999999999Z", in UTC), built
// digit by digit: every event carries one, and time.Format's general
// machinery cost 5% of the Go side of ingest. Years outside 1–9999 go
// through lib/pq.
func timestampText(t time.Time) string {
	t = t.UTC()
	year := t.Year()
	if year < 1 || year > 9999 {
		return string(pq.FormatTimestamp(t))
	}
	month, day := t.Month(), t.Day()
	hour, minute, second := t.Clock()
	var b [len("2006-01-02 15:04:05.999999999Z")]byte
	put := func(at, value, digits int) {
		for i := at + digits - 1; i >= at; i-- {
			b[i] = byte('0' + value%10)
			value /= 10
		}
	}
	put(0, year, 4)
	b[4] = '-'
	put(5, int(month), 2)
	b[7] = '-'
	put(8, day, 2)
	b[10] = ' '
	put(11, hour, 2)
	b[13] = ':'
	put(14, minute, 2)
	b[16] = ':'
	put(17, second, 2)
	n := 19
	if nanos := t.Nanosecond(); nanos > 0 {
		b[19] = '.'
		put(20, nanos, 9)
		n = 29
		for b[n-1] == '0' {
			n--
		}
	}
	b[n] = 'Z'
	return string(b[:n+1])
}
