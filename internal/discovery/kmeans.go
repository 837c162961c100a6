// Package discovery finds segments nobody defined yet: it measures how each
// active user of a project behaves over a window (recency, events, active
// days, breadth of features used, mobile share, latest NPS), clusters the
// users with k-means++, describes each cluster in plain words and suggests a
// segment rule approximating it, with the rule's precision and recall
// against the cluster. Runs are River jobs; a cluster can then be saved as a
// segment.
package discovery

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
)

// Clustering is a partition of points into K clusters, numbered by size,
// largest first.
type Clustering struct {
	K int
	// Labels is the cluster of each point.
	Labels    []int
	Centroids [][]float64
	// Inertia is the sum of squared distances of points to their centroid.
	Inertia float64
}

// Tuning of KMeans.
const (
	restarts      = 4  // seedings tried; the lowest inertia wins
	maxIterations = 60 // Lloyd iterations per seeding
)

// KMeans clusters points (all of one dimension) into k clusters: k-means++
// seeding, then Lloyd iterations until no point changes cluster, keeping the
// best of several seedings. The result depends only on points, k and seed.
// It needs 1 <= k <= len(points).
func KMeans(points [][]float64, k int, seed uint64) Clustering {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	var best Clustering
	for r := range restarts {
		c := lloyd(points, seedCentroids(points, k, rng))
		if r == 0 || c.Inertia < best.Inertia {
			best = c
		}
	}
	return canonical(best)
}

// seedCentroids is k-means++: the first centre is a random point, each next
// one a point drawn with probability proportional to its squared distance
// to the nearest centre chosen so far.
func seedCentroids(points [][]float64, k int, rng *rand.Rand) [][]float64 {
	centroids := [][]float64{slices.Clone(points[rng.IntN(len(points))])}
	nearest := make([]float64, len(points))
	for i, p := range points {
		nearest[i] = sqDist(p, centroids[0])
	}
	for len(centroids) < k {
		var total float64
		for _, d := range nearest {
			total += d
		}
		next := rng.IntN(len(points))
		// All points sit on the centres already: any point will do.
		if total > 0 {
			target := rng.Float64() * total
			for i, d := range nearest {
				target -= d
				if target < 0 {
					next = i
					break
				}
			}
		}
		c := slices.Clone(points[next])
		centroids = append(centroids, c)
		for i, p := range points {
			nearest[i] = min(nearest[i], sqDist(p, c))
		}
	}
	return centroids
}

// lloyd alternates assigning points to their nearest centroid and moving
// centroids to the mean of their points.
func lloyd(points [][]float64, centroids [][]float64) Clustering {
	k, dim := len(centroids), len(points[0])
	labels := make([]int, len(points))
	for i := range labels {
		labels[i] = -1
	}
	for range maxIterations {
		if !assign(points, centroids, labels) {
			break
		}
		sums := make([][]float64, k)
		counts := make([]int, k)
		for c := range sums {
			sums[c] = make([]float64, dim)
		}
		for i, p := range points {
			counts[labels[i]]++
			for d, v := range p {
				sums[labels[i]][d] += v
			}
		}
		for c := range centroids {
			if counts[c] == 0 {
				// An emptied cluster restarts on the point worst served.
				centroids[c] = slices.Clone(points[farthest(points, centroids, labels)])
				continue
			}
			for d := range sums[c] {
				centroids[c][d] = sums[c][d] / float64(counts[c])
			}
		}
	}
	var inertia float64
	for i, p := range points {
		inertia += sqDist(p, centroids[labels[i]])
	}
	return Clustering{K: k, Labels: labels, Centroids: centroids, Inertia: inertia}
}

// assign puts each point in its nearest cluster and reports whether any
// point moved.
func assign(points [][]float64, centroids [][]float64, labels []int) bool {
	moved := false
	for i, p := range points {
		best, bestDist := 0, math.Inf(1)
		for c, centroid := range centroids {
			if d := sqDist(p, centroid); d < bestDist {
				best, bestDist = c, d
			}
		}
		if labels[i] != best {
			labels[i], moved = best, true
		}
	}
	return moved
}

func farthest(points [][]float64, centroids [][]float64, labels []int) int {
	worst, worstDist := 0, -1.0
	for i, p := range points {
		if d := sqDist(p, centroids[labels[i]]); d > worstDist {
			worst, worstDist = i, d
		}
	}
	return worst
}

// canonical renumbers clusters by size, largest first (ties by centroid),
// so equal partitions always come out with equal labels.
func canonical(c Clustering) Clustering {
	sizes := make([]int, c.K)
	for _, l := range c.Labels {
		sizes[l]++
	}
	order := make([]int, c.K)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if sizes[a] != sizes[b] {
			return cmp.Compare(sizes[b], sizes[a])
		}
		return slices.Compare(c.Centroids[a], c.Centroids[b])
	})
	renumber := make([]int, c.K)
	centroids := make([][]float64, c.K)
	for newLabel, old := range order {
		renumber[old] = newLabel
		centroids[newLabel] = c.Centroids[old]
	}
	labels := make([]int, len(c.Labels))
	for i, l := range c.Labels {
		labels[i] = renumber[l]
	}
	return Clustering{K: c.K, Labels: labels, Centroids: centroids, Inertia: c.Inertia}
}

func sqDist(a, b []float64) float64 {
	var s float64
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return s
}
