package segment

import (
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEveryRuleFieldIsAKind: each field of Rule, set alone, is a
// registered kind under its JSON name, in the order of the fields, so a
// field added to Rule without a kind (or a kind without its field) fails
// here; the compiler then checks that the kind has every part.
func TestEveryRuleFieldIsAKind(t *testing.T) {
	t.Parallel()
	typ := reflect.TypeFor[Rule]()
	require.Len(t, ruleKinds, typ.NumField())
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		require.Equal(t, name, ruleKinds[i].field, "kind %d", i)

		var r Rule
		v := reflect.ValueOf(&r).Elem().Field(i)
		switch f.Type.Kind() {
		case reflect.Pointer:
			v.Set(reflect.New(f.Type.Elem()))
		case reflect.Slice:
			v.Set(reflect.MakeSlice(f.Type, 0, 0))
		default:
			t.Fatalf("field %s of Rule is a %s: a kind is a pointer or a list", f.Name, f.Type)
		}
		k, field := r.kind()
		require.NotNil(t, k, name)
		require.Equal(t, name, field)
		require.Equal(t, []string{name}, r.setFields())
		var empty Rule
		require.Nil(t, ruleKinds[i].of(&empty), "%s of an empty node", name)
	}
}
