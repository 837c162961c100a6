package schematype

import "encoding/json"

// DiscoveredCluster is one cluster of a segment discovery run: its users'
// average behaviour, in numbers and in words, and a rule that approximates
// it, with how well the rule matches the cluster.
type DiscoveredCluster struct {
	// Index is the cluster's position in the run, largest first.
	Index int `json:"index"`
	Size  int `json:"size"`
	// Share is Size over the users clustered.
	Share       float64       `json:"share"`
	Centre      ClusterCentre `json:"centre"`
	Description string        `json:"description"`
	// SuggestedRule is a segment rule (the stored JSON form).
	SuggestedRule     json.RawMessage `json:"suggestedRule"`
	SuggestedRuleText string          `json:"suggestedRuleText"`
	// SuggestedSize is how many users the rule selected when the run ended.
	SuggestedSize int `json:"suggestedSize"`
	// Precision is the share of the rule's users that are in the cluster;
	// Recall the share of the cluster the rule selects.
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
}

// ClusterCentre is the average behaviour of a cluster's users over the run's
// window.
type ClusterCentre struct {
	RecencyDays    float64 `json:"recencyDays"`
	Events         float64 `json:"events"`
	ActiveDays     float64 `json:"activeDays"`
	DistinctEvents float64 `json:"distinctEvents"`
	MobileShare    float64 `json:"mobileShare"`
	// Nps is the mean latest NPS score of the users who gave one in the
	// window; nil when none did.
	Nps *float64 `json:"nps,omitempty"`
	// NpsShare is the share of the cluster's users with an NPS score.
	NpsShare float64 `json:"npsShare"`
}

// DiscoveryKScore is the silhouette of a clustering into K clusters.
type DiscoveryKScore struct {
	K          int     `json:"k"`
	Silhouette float64 `json:"silhouette"`
}
