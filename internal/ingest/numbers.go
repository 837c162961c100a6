package ingest

import (
	"bytes"
	"strconv"
)

// PostgreSQL's numeric, which jsonb keeps numbers in, holds at most
// 131,072 digits before the decimal point and 16,383 after it. JSON has no
// such limit: 1e1000000 or 0.000…1 with 20,000 zeros are valid JSON that
// jsonb refuses ("value overflows numeric format"), which would fail the
// whole batch. numberFault finds them before the database does.
const (
	maxNumericIntegerDigits  = 131_072
	maxNumericFractionDigits = 16_383
)

// reasonNumber is a rejection's reason for such a number.
const reasonNumber = "is a number out of the range that can be stored (at most 131072 digits before the decimal point and 16383 after)"

// numberFault reports whether the JSON number literal lit is out of the
// range of PostgreSQL's numeric.
func numberFault(lit []byte) bool {
	mantissa, exponentPart, hasExponent := bytes.Cut(bytes.TrimLeft(lit, "-"), []byte{'e'})
	if !hasExponent {
		mantissa, exponentPart, hasExponent = bytes.Cut(mantissa, []byte{'E'})
	}
	exponent := 0
	if hasExponent {
		e, err := strconv.ParseInt(string(exponentPart), 10, 32)
		if err != nil || e >= 1<<30 || e <= -(1<<30) {
			return true // PostgreSQL refuses such an exponent whatever the digits
		}
		exponent = int(e)
	}
	integer, fraction, _ := bytes.Cut(mantissa, []byte{'.'})
	if len(fraction)-exponent > maxNumericFractionDigits {
		return true
	}
	digits := append(integer[:len(integer):len(integer)], fraction...)
	first := bytes.IndexFunc(digits, func(r rune) bool { return r != '0' })
	if first < 0 {
		return false // zero
	}
	// The first significant digit's place before the decimal point.
	return len(integer)-first+exponent > maxNumericIntegerDigits
}

// mayHoldBadNumber is a cheap test of valid JSON raw for numbers
// numberFault could refuse: those have an exponent (a digit or point then
// e or E, which true and false cannot be mistaken for) or are too long for
// a small message. A string may make it say yes; numberPath then tells.
func mayHoldBadNumber(raw []byte) bool {
	if len(raw) > maxNumericFractionDigits {
		return true
	}
	if len(raw) < 2 {
		return false
	}
	for _, e := range []byte{'e', 'E'} {
		for i := 1; ; i++ {
			j := bytes.IndexByte(raw[i:], e)
			if j < 0 {
				break
			}
			if i += j; raw[i-1] >= '0' && raw[i-1] <= '9' || raw[i-1] == '.' {
				return true
			}
		}
	}
	return false
}

// numberPath finds a number numberFault refuses in the valid JSON value
// raw: its path below path, or ok false.
func numberPath(raw []byte, path string) (string, bool) {
	found, ok := "", false
	switch c := raw[skipSpace(raw, 0)]; {
	case c == '{':
		scanMembers(raw, func(key, rest []byte) int {
			n := valueEnd(rest, 0)
			if !ok {
				found, ok = numberPath(rest[:n], joinPath(path, string(key)))
			}
			return n
		})
	case c == '[':
		index := 0
		scanElements(raw, func(rest []byte) int {
			n := valueEnd(rest, 0)
			if !ok {
				found, ok = numberPath(rest[:n], path+"["+strconv.Itoa(index)+"]")
			}
			index++
			return n
		})
	case c == '-' || c >= '0' && c <= '9':
		return path, numberFault(bytes.TrimSpace(raw))
	}
	return found, ok
}
