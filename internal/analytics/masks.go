package analytics

import (
	"fmt"
	"math/bits"
	"strings"
)

// Several analytics fold what each user did into bit masks in SQL: which
// event names they sent, in which buckets they were active. Grouping by
// user keeps PostgreSQL's hash table to one entry per user, where grouping
// by (user, name) or (user, bucket) would need one per pair; the users are
// then counted per combination of masks, few in practice, and the per-item
// sums are done in Go. Item i (1-based) is bit (i-1)%64 of mask (i-1)/64,
// so any number of items fits.

// bitsPerMask is how many items one bigint mask holds.
const bitsPerMask = 64

// maskCount is how many masks items items need.
func maskCount(items int) int { return max(1, (items+bitsPerMask-1)/bitsPerMask) }

// maskColumns are the aggregates folding each row's item, whose 0-based
// number is the SQL expression index, into masks m0, m1, ..., and the
// masks' names. The bit is computed on the row: cheaper than joining a
// table of the items' bits.
func maskColumns(masks int, index string) (aggregates, keys string) {
	if masks == 1 {
		// The usual case needs no per-row filter.
		return fmt.Sprintf("bit_or(1::bigint << (%s)) AS m0", index), "m0"
	}
	cols := make([]string, masks)
	names := make([]string, masks)
	for m := range masks {
		cols[m] = fmt.Sprintf("coalesce(bit_or(1::bigint << ((%[1]s) %% %[2]d)) FILTER (WHERE (%[1]s) / %[2]d = %[3]d), 0) AS m%[3]d",
			index, bitsPerMask, m)
		names[m] = fmt.Sprintf("m%d", m)
	}
	return strings.Join(cols, ", "), strings.Join(names, ", ")
}

// outerMasks are the masks of the subquery alias, read across an outer
// join: a user with no row there has no item set.
func outerMasks(alias string, masks int) string {
	keys := make([]string, masks)
	for m := range keys {
		keys[m] = fmt.Sprintf("coalesce(%s.m%d, 0)", alias, m)
	}
	return strings.Join(keys, ", ")
}

// bitset is one row's masks.
type bitset []int64

// dest are the scan destinations of the masks.
func (b bitset) dest() []any {
	out := make([]any, len(b))
	for i := range b {
		out[i] = &b[i]
	}
	return out
}

// has reports whether item i (0-based) is set.
func (b bitset) has(i int) bool {
	return i >= 0 && i/bitsPerMask < len(b) && uint64(b[i/bitsPerMask])&(1<<(i%bitsPerMask)) != 0
}

// each calls fn with every item set (0-based), in order.
func (b bitset) each(fn func(i int)) {
	for m, mask := range b {
		for rest := uint64(mask); rest != 0; rest &= rest - 1 {
			fn(m*bitsPerMask + bits.TrailingZeros64(rest))
		}
	}
}
