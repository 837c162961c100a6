package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/pulse-analytics/pulse/internal/dashboard"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/demo"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/recompute"
)

// demoFlags are the settings of pulse serve --demo.
type demoFlags struct {
	enabled  bool
	keysFile string
	users    int
}

func (d *demoFlags) register(fs *flag.FlagSet, c *config) {
	fs.BoolVar(&d.enabled, "demo", c.envBool("PULSE_DEMO"),
		"create, seed and animate a demo project, and open the dashboard to this machine without a key (env PULSE_DEMO)")
	fs.StringVar(&d.keysFile, "demo-keys-file", env("PULSE_DEMO_KEYS_FILE", ""),
		"where --demo keeps its keys (mode 0600) so a restart shows the same ones; default: the user's config directory (env PULSE_DEMO_KEYS_FILE)")
	fs.IntVar(&d.users, "demo-users", int(c.envInt64("PULSE_DEMO_USERS", 500)),
		"users --demo seeds on first start (env PULSE_DEMO_USERS)")
}

// setUpDashboard makes the dashboard of web and, with --demo, the demo
// project it shows; the demo is returned for its banner and its trickle.
func setUpDashboard(ctx context.Context, db *sql.DB, web *webOptions, enqueuer *recompute.Enqueuer, flags demoFlags, dsn string, logger *slog.Logger) (*demo.Demo, error) {
	var (
		opts dashboard.Options
		d    *demo.Demo
		err  error
	)
	if flags.enabled {
		keysFile := flags.keysFile
		if keysFile == "" {
			keysFile = demo.DefaultKeysFile(dsn)
		}
		logger.Info("preparing the demo project", "keys_file", keysFile)
		d, err = demo.Setup(ctx, db, database.NewClient(db), web.sink(ingest.NewWriter(db)), enqueuer, demo.Config{
			Users: flags.users, KeysFile: keysFile, Logger: logger,
		})
		if err != nil {
			return nil, err
		}
		opts.DemoKeys = &dashboard.Keys{Read: d.Keys.Read, Admin: d.Keys.Admin}
		opts.HistoryWindowSeconds = 3600 // the demo recomputes every few seconds
	}
	if web.dashboard, err = dashboard.New(opts); err != nil {
		return nil, err
	}
	return d, nil
}

// printDemoBanner tells a newcomer where to look and which keys to use.
func printDemoBanner(w io.Writer, d *demo.Demo, addr net.Addr) {
	fmt.Fprintf(w, `
  Pulse demo is running: open http://%s/

  Project %q (id %d): synthetic users, the template segments, and new
  activity every few seconds. Its keys (kept in the demo keys file):
    INGEST  %s
    READ    %s
    ADMIN   %s

`, displayAddr(addr), d.ProjectName(), d.ProjectID, d.Keys.Ingest, d.Keys.Read, d.Keys.Admin)
}
