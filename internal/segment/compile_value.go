package segment

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// value renders a comparison of source->key (a jsonb object column) with a
// value. Numbers compare numerically when both sides are numbers, otherwise
// as strings (byte order); a missing key never matches except NOT_EXISTS.
func (c *compiler) value(source, key string, op ValueOp, v any, values []any) string {
	k := c.arg(key)
	field := source + "->" + k
	exists := "COALESCE(" + source + " ? " + k + ", false)"
	switch op {
	case ValueExists:
		return exists
	case ValueNotExists:
		return "NOT " + exists
	case ValueContains:
		s := c.arg(fmt.Sprint(v))
		return "COALESCE(CASE jsonb_typeof(" + field + ") WHEN 'string' THEN strpos(" + field + " #>> '{}', " + s +
			") > 0 WHEN 'array' THEN " + field + " ? " + s + " ELSE false END, false)"
	case ValueIn, ValueNotIn:
		eqs := make([]string, len(values))
		for i, x := range values {
			eqs[i] = c.scalarCompare(field, "=", x)
		}
		any := "(" + strings.Join(eqs, " OR ") + ")"
		if op == ValueNotIn {
			return exists + " AND NOT " + any
		}
		return exists + " AND " + any
	}
	return exists + " AND " + c.scalarCompare(field, valueSQLOp(op), v)
}

func valueSQLOp(op ValueOp) string { return sqlOp(CompareOp(op)) }

// scalarCompare compares a jsonb field with one value; the result is never
// NULL. Arrays, objects and nulls match no comparison.
func (c *compiler) scalarCompare(field, op string, v any) string {
	scalar := "jsonb_typeof(" + field + ") IN ('string', 'number', 'boolean')"
	if n, ok := number(v); ok {
		return "COALESCE(" + scalar + " AND CASE WHEN jsonb_typeof(" + field + ") = 'number' THEN (" + field + ")::numeric " + op + " " +
			c.arg(n) + "::numeric ELSE (" + field + " #>> '{}') COLLATE \"C\" " + op + " " + c.arg(formatNumber(n)) + " END, false)"
	}
	return "COALESCE(" + scalar + " AND (" + field + " #>> '{}') COLLATE \"C\" " + op + " " + c.arg(scalarText(v)) + ", false)"
}

// number reports whether a rule value is a JSON number.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func formatNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// scalarText is a value as PostgreSQL's ->> renders it.
func scalarText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	}
	if n, ok := number(v); ok {
		return formatNumber(n)
	}
	return fmt.Sprint(v)
}
