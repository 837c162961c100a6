package discovery

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/pulse-analytics/pulse/ent/schema/schematype"
)

// Sampling bounds. Silhouette costs the square of the points it looks at,
// and choosing k clusters the data once per candidate: past these sizes both
// work on a seeded random sample, which estimates them well (the final
// clustering always covers every user).
const (
	MaxSilhouetteSample = 2_000
	MaxChooseSample     = 20_000
)

// Candidates of k when the caller gives none.
const (
	MinK = 2
	MaxK = 8
)

// Silhouette is the mean silhouette of the points at the indexes of sample
// under labels, measured among the sample: for each point, (b - a) / max(a,
// b), where a is its mean distance to the other points of its cluster and b
// the smallest mean distance to the points of another cluster. It ranges
// from -1 to 1; higher means tighter, better separated clusters. A point
// alone in its cluster counts 0.
func Silhouette(points [][]float64, labels []int, k int, sample []int) float64 {
	if len(sample) < 2 {
		return 0
	}
	var total float64
	sums := make([]float64, k)
	counts := make([]int, k)
	for _, i := range sample {
		clear(sums)
		clear(counts)
		for _, j := range sample {
			if i == j {
				continue
			}
			sums[labels[j]] += math.Sqrt(sqDist(points[i], points[j]))
			counts[labels[j]]++
		}
		own := labels[i]
		if counts[own] == 0 {
			continue
		}
		a := sums[own] / float64(counts[own])
		b := math.Inf(1)
		for c := range k {
			if c != own && counts[c] > 0 {
				b = min(b, sums[c]/float64(counts[c]))
			}
		}
		if math.IsInf(b, 1) || max(a, b) == 0 {
			continue
		}
		total += (b - a) / max(a, b)
	}
	return total / float64(len(sample))
}

// sampleIndexes returns up to n distinct indexes of 0..size-1, in order,
// drawn with rng (all of them when size <= n).
func sampleIndexes(size, n int, rng *rand.Rand) []int {
	if size <= n {
		out := make([]int, size)
		for i := range out {
			out[i] = i
		}
		return out
	}
	out := rng.Perm(size)[:n]
	slices.Sort(out)
	return out
}

// ChooseK clusters a sample of points (all of them when few) for every k
// from MinK to MaxK that the sample allows and returns the k of the best
// silhouette (the smallest k on a tie), with every score.
func ChooseK(points [][]float64, seed uint64) (int, []schematype.DiscoveryKScore) {
	rng := rand.New(rand.NewPCG(seed, 0x2545f4914f6cdd1d))
	subset := points
	if len(points) > MaxChooseSample {
		idx := sampleIndexes(len(points), MaxChooseSample, rng)
		subset = make([][]float64, len(idx))
		for i, j := range idx {
			subset[i] = points[j]
		}
	}
	sample := sampleIndexes(len(subset), MaxSilhouetteSample, rng)
	bestK, bestScore := 0, math.Inf(-1)
	var scores []schematype.DiscoveryKScore
	for k := MinK; k <= MaxK && k < len(subset); k++ {
		c := KMeans(subset, k, seed)
		s := Silhouette(subset, c.Labels, k, sample)
		scores = append(scores, schematype.DiscoveryKScore{K: k, Silhouette: s})
		if s > bestScore {
			bestK, bestScore = k, s
		}
	}
	return bestK, scores
}
