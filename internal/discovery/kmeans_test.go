package discovery_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/discovery"
)

// planted draws Gaussian blobs (standard deviation 1) around centres, sizes[i]
// points around centres[i], and returns the points with their true labels.
func planted(seed uint64, centres [][]float64, sizes []int) ([][]float64, []int) {
	rng := rand.New(rand.NewPCG(seed, 1))
	var points [][]float64
	var labels []int
	for c, centre := range centres {
		for range sizes[c] {
			p := make([]float64, len(centre))
			for d, v := range centre {
				p[d] = v + rng.NormFloat64()
			}
			points = append(points, p)
			labels = append(labels, c)
		}
	}
	// Shuffle so cluster order in the input says nothing.
	rng.Shuffle(len(points), func(i, j int) {
		points[i], points[j] = points[j], points[i]
		labels[i], labels[j] = labels[j], labels[i]
	})
	return points, labels
}

// randomCentres places k centres in dim dimensions, each coordinate uniform
// in [-spread, spread].
func randomCentres(seed uint64, k, dim int, spread float64) [][]float64 {
	rng := rand.New(rand.NewPCG(seed, 2))
	centres := make([][]float64, k)
	for c := range centres {
		centres[c] = make([]float64, dim)
		for d := range centres[c] {
			centres[c][d] = (rng.Float64()*2 - 1) * spread
		}
	}
	return centres
}

func TestKMeansRecoversPlantedClusters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		seed  uint64
		sizes []int
		dim   int
	}{
		{"four equal clusters in 6 dimensions", 1, []int{300, 300, 300, 300}, 6},
		{"three unequal clusters", 2, []int{60, 240, 900}, 6},
		{"six clusters", 3, []int{200, 150, 250, 100, 300, 120}, 6},
		{"two clusters in 2 dimensions", 4, []int{500, 80}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			points, truth := planted(tt.seed, randomCentres(tt.seed, len(tt.sizes), tt.dim, 6), tt.sizes)
			c := discovery.KMeans(points, len(tt.sizes), 42)
			ari := adjustedRand(truth, c.Labels)
			t.Logf("adjusted Rand index %.4f", ari)
			require.GreaterOrEqual(t, ari, 0.9)
			require.Len(t, c.Centroids, len(tt.sizes))
			sizes := clusterSizes(c.Labels, c.K)
			for i := 1; i < len(sizes); i++ {
				require.GreaterOrEqual(t, sizes[i-1], sizes[i], "clusters are numbered largest first")
			}
		})
	}
}

func TestKMeansIsDeterministicForASeed(t *testing.T) {
	t.Parallel()
	// Overlapping blobs, so different seedings can really end differently.
	points, _ := planted(7, randomCentres(7, 5, 6, 1.5), []int{200, 200, 200, 200, 200})
	first := discovery.KMeans(points, 5, 99)
	for range 3 {
		again := discovery.KMeans(points, 5, 99)
		require.Equal(t, first.Labels, again.Labels)
		require.Equal(t, first.Centroids, again.Centroids)
		require.Equal(t, first.Inertia, again.Inertia)
	}
	k, scores := discovery.ChooseK(points, 5)
	k2, scores2 := discovery.ChooseK(points, 5)
	require.Equal(t, k, k2)
	require.Equal(t, scores, scores2)
}

func TestChooseKFindsThePlantedNumber(t *testing.T) {
	t.Parallel()
	for _, k := range []int{2, 3, 5} {
		points, _ := planted(uint64(10+k), randomCentres(uint64(10+k), k, 6, 8), equalSizes(k, 150))
		got, scores := discovery.ChooseK(points, 1)
		require.Equal(t, k, got, "scores %+v", scores)
		require.Len(t, scores, discovery.MaxK-discovery.MinK+1)
		require.Equal(t, discovery.MinK, scores[0].K)
	}
}

func TestChooseKSamplesLargeInputs(t *testing.T) {
	t.Parallel()
	points, truth := planted(21, randomCentres(21, 3, 6, 8), []int{9_000, 8_000, 7_000})
	require.Greater(t, len(points), discovery.MaxChooseSample)
	k, _ := discovery.ChooseK(points, 3)
	require.Equal(t, 3, k)
	require.GreaterOrEqual(t, adjustedRand(truth, discovery.KMeans(points, k, 3).Labels), 0.9)
}

// TestSilhouetteByHand: two clusters {0, 1} and {10, 11} on a line. For 0:
// a = 1, b = (10 + 11) / 2 = 10.5, s = 9.5 / 10.5; for 1: a = 1, b = 9.5,
// s = 8.5 / 9.5; the other cluster mirrors it.
func TestSilhouetteByHand(t *testing.T) {
	t.Parallel()
	points := [][]float64{{0}, {1}, {10}, {11}}
	labels := []int{0, 0, 1, 1}
	want := (9.5/10.5 + 8.5/9.5) / 2
	require.InDelta(t, want, discovery.Silhouette(points, labels, 2, []int{0, 1, 2, 3}), 1e-12)
	// Without 11, the point 10 is alone in its cluster and counts 0; 0 has
	// a = 1, b = 10 and 1 has a = 1, b = 9.
	require.InDelta(t, (9.0/10+8.0/9)/3, discovery.Silhouette(points[:3], labels[:3], 2, []int{0, 1, 2}), 1e-12)
}

func TestAdjustedRandByHand(t *testing.T) {
	t.Parallel()
	require.InDelta(t, 1, adjustedRand([]int{0, 0, 1, 1}, []int{1, 1, 0, 0}), 1e-12, "labels are names")
	// Contingency [[2,0],[1,1]]: index 1, row pairs 2, column pairs 3,
	// expected 2*3/6 = 1, max (2+3)/2: (1-1)/(2.5-1) = 0.
	require.InDelta(t, 0, adjustedRand([]int{0, 0, 1, 1}, []int{0, 0, 0, 1}), 1e-12)
	// All cells 1: index 0, expected 2*2/6, max 2.
	require.InDelta(t, -0.5, adjustedRand([]int{0, 0, 1, 1}, []int{0, 1, 0, 1}), 1e-12)
}

func equalSizes(k, n int) []int {
	sizes := make([]int, k)
	for i := range sizes {
		sizes[i] = n
	}
	return sizes
}

func clusterSizes(labels []int, k int) []int {
	sizes := make([]int, k)
	for _, l := range labels {
		sizes[l]++
	}
	return sizes
}

// adjustedRand is the adjusted Rand index of two partitions (Hubert and
// Arabie): 1 for identical partitions, about 0 for independent ones.
func adjustedRand(a, b []int) float64 {
	type pair struct{ x, y int }
	table := map[pair]int{}
	rows, cols := map[int]int{}, map[int]int{}
	for i := range a {
		table[pair{a[i], b[i]}]++
		rows[a[i]]++
		cols[b[i]]++
	}
	choose2 := func(n int) float64 { return float64(n) * float64(n-1) / 2 }
	var index, sumRows, sumCols float64
	for _, n := range table {
		index += choose2(n)
	}
	for _, n := range rows {
		sumRows += choose2(n)
	}
	for _, n := range cols {
		sumCols += choose2(n)
	}
	expected := sumRows * sumCols / choose2(len(a))
	maximum := (sumRows + sumCols) / 2
	if maximum == expected {
		return math.NaN()
	}
	return (index - expected) / (maximum - expected)
}
