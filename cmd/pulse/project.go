package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
)

// projectCreated is the JSON printed by pulse project create.
type projectCreated struct {
	Project struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"project"`
	Keys struct {
		Ingest string `json:"ingest"`
		Read   string `json:"read"`
		Admin  string `json:"admin"`
	} `json:"keys"`
}

func projectCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(stderr, "USAGE\n  pulse project create --name NAME")
		return fmt.Errorf("%w: pulse project needs a subcommand: create", errUsage)
	}
	var (
		cfg  config
		name string
	)
	fs := newFlagSet("project create", "pulse project create --name NAME [--database-url URL]",
		`Creates a project and one API key of each role (INGEST, READ, ADMIN), and
prints them as one JSON object:
  {"project":{"id":..,"name":..},"keys":{"ingest":..,"read":..,"admin":..}}
The keys are shown only here: Pulse stores their hashes.`, stderr)
	cfg.registerDatabase(fs)
	fs.StringVar(&name, "name", "", "the project's name (required)")
	if err := cfg.parse(fs, args[1:]); err != nil {
		return err
	}
	if name == "" {
		return fmt.Errorf("%w: --name is required", errUsage)
	}
	logger, err := cfg.logger(stderr)
	if err != nil {
		return err
	}
	db, err := openMigrated(ctx, cfg.DatabaseURL, logger)
	if err != nil {
		return err
	}
	defer db.Close()
	created, err := auth.CreateProject(ctx, database.NewClient(db), name)
	if err != nil {
		return err
	}
	var out projectCreated
	out.Project.ID = fmt.Sprint(created.Project.ID)
	out.Project.Name = created.Project.Name
	out.Keys.Ingest = created.Ingest.Secret
	out.Keys.Read = created.Read.Secret
	out.Keys.Admin = created.Admin.Secret
	return json.NewEncoder(stdout).Encode(out)
}
