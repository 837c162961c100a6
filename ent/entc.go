//go:build ignore

// Command entc generates the ent client and the entgql GraphQL schema
// (schema/ent.graphql). Run through `go generate ./...`.
package main

import (
	"fmt"
	"log"
	"strings"

	"entgo.io/contrib/entgql"
	"entgo.io/ent/entc"
	"entgo.io/ent/entc/gen"
	"github.com/vektah/gqlparser/v2/ast"
)

func main() {
	ex, err := entgql.NewExtension(
		entgql.WithConfigPath("../gqlgen.yml"),
		entgql.WithSchemaGenerator(),
		entgql.WithSchemaPath("../schema/ent.graphql"),
		entgql.WithWhereInputs(true),
		entgql.WithSchemaHook(externalIDFilter),
	)
	if err != nil {
		log.Fatalf("create entgql extension: %v", err)
	}
	err = entc.Generate("./schema", &gen.Config{
		Features: []gen.Feature{
			gen.FeatureIntercept,
			gen.FeatureGlobalID,
			gen.FeatureVersionedMigration,
			gen.FeatureUpsert,
			gen.FeatureModifier,
			gen.FeatureExecQuery,
			gen.FeatureLock,
		},
	}, entc.Extensions(ex), pulseTemplates)
	if err != nil {
		log.Fatalf("run ent codegen: %v", err)
	}
}

// pulseTemplates replaces templates of entgql with Pulse's copies in
// template/ (each says what it changes). Added after the extension's, a
// template with the name of one of entgql's replaces it.
func pulseTemplates(cfg *gen.Config) error {
	t, err := gen.NewTemplate("pulse").Funcs(entgql.TemplateFuncs).ParseGlob("template/*.tmpl")
	if err != nil {
		return fmt.Errorf("parse templates: %w", err)
	}
	cfg.Templates = append(cfg.Templates, t)
	return nil
}

// externalIDFilter names the where-filters of User.externalId like the field
// (externalId, externalIdIn, ...) where entgql derives externalID from the
// column. entgql's names stay, deprecated, so existing queries keep working;
// both bind to the same Go field of ent.UserWhereInput.
func externalIDFilter(_ *gen.Graph, s *ast.Schema) error {
	where := s.Types["UserWhereInput"]
	if where == nil {
		return fmt.Errorf("entgql generated no UserWhereInput")
	}
	var fields, deprecated ast.FieldList
	for _, f := range where.Fields {
		op, ok := strings.CutPrefix(f.Name, "externalID")
		if !ok {
			fields = append(fields, f)
			continue
		}
		named := *f
		named.Name = "externalId" + op
		old := *f
		old.Description = ""
		old.Directives = ast.DirectiveList{{
			Name: "deprecated",
			Arguments: ast.ArgumentList{{
				Name:  "reason",
				Value: &ast.Value{Kind: ast.StringValue, Raw: "Use " + named.Name + "."},
			}},
		}}
		fields = append(fields, &named)
		deprecated = append(deprecated, &old)
	}
	if len(deprecated) == 0 {
		return fmt.Errorf("UserWhereInput has no externalID filters to rename")
	}
	where.Fields = append(fields, deprecated...)
	return nil
}
