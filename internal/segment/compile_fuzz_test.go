package segment_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/pulse-analytics/pulse/internal/segment"
)

// FuzzCompile decodes arbitrary JSON as a rule and compiles what validates,
// for every user and for a list of users, and its crossers: it must never
// panic, and the SQL text must not depend on any string in the rule (names,
// keys, values): those only ever travel as bind parameters.
func FuzzCompile(f *testing.F) {
	for _, seed := range []string{
		`{"trait":{"key":"plan","op":"EQ","value":"pro'; DROP TABLE users; --"}}`,
		`{"and":[{"event":{"name":"export\"","where":[{"property":"a') OR 1=1 --","op":"IN","values":["x",1,true]}],"count":{"op":"GTE","value":3},"withinDays":30}},{"not":{"inSegment":4}}]}`,
		`{"or":[{"platform":{"platform":"MOBILE","minShare":0.7,"withinDays":28}},{"activity":{"activeDays":{"op":"GTE","value":5},"withinDays":7}}]}`,
		`{"feedback":{"kind":"BUG","npsCategory":"DETRACTOR","rating":{"op":"LTE","value":2},"withinDays":90}}`,
		`{"survey":{"surveyId":3,"questionId":4,"answerIn":["dev$1"],"score":{"op":"GT","value":8}}}`,
		`{"lastSeen":{"moreThanDaysAgo":30}}`,
		`{"trait":{"key":"tags","op":"CONTAINS","value":"x"}}`,
	} {
		f.Add([]byte(seed))
	}
	env := segment.Env{ProjectID: 1, Now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := segment.Decode(data)
		if err != nil || segment.Validate(r) != nil {
			return
		}
		q, err := segment.Compile(r, env)
		if err != nil {
			t.Fatalf("a valid rule did not compile: %v", err)
		}
		blank := blankStrings(t, r)
		qb, err := segment.Compile(blank, env)
		if err != nil {
			t.Fatalf("compile with blanked strings: %v", err)
		}
		if q.SQL != qb.SQL {
			t.Fatalf("the SQL text depends on a string of the rule:\n%s\n%s", q.SQL, qb.SQL)
		}
		if len(q.Args) != len(qb.Args) {
			t.Fatalf("%d args, %d with blanked strings", len(q.Args), len(qb.Args))
		}
		restricted := env
		restricted.Users = []int64{3, 4}
		qr, err := segment.Compile(r, restricted)
		if err != nil {
			t.Fatalf("a valid rule did not compile for a list of users: %v", err)
		}
		qrb, err := segment.Compile(blank, restricted)
		if err != nil || qr.SQL != qrb.SQL {
			t.Fatalf("the restricted SQL text depends on a string of the rule (%v):\n%s\n%s", err, qr.SQL, qrb.SQL)
		}
		// Crossers merges the windows of equal names, so its shape may
		// change when names are blanked; it must still compile.
		if _, err := segment.Crossers(r, env, env.Now, env.Now.Add(time.Second)); err != nil {
			t.Fatalf("crossers of a valid rule: %v", err)
		}
	})
}

// blankStrings returns a copy of r with every string replaced by "s".
func blankStrings(t *testing.T, r *segment.Rule) *segment.Rule {
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		t.Fatal(err)
	}
	var blank func(v any, key string) any
	blank = func(v any, key string) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = blank(e, k)
			}
		case []any:
			for i, e := range x {
				x[i] = blank(e, key)
			}
		case string:
			// Enum values (operators, platforms, kinds) shape the SQL by
			// design; user-supplied strings must not.
			switch key {
			case "key", "name", "property", "value", "values", "answerIn":
				return "s"
			}
		}
		return v
	}
	out, err := json.Marshal(blank(tree, ""))
	if err != nil {
		t.Fatal(err)
	}
	b, err := segment.Decode(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
