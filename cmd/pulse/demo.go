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

// demoAddr is where --demo listens when no address is given: the demo
// hands its keys to every page, which only this machine should reach.
const demoAddr = "127.0.0.1:8080"

// demoFlags are the settings of pulse serve --demo.
type demoFlags struct {
	enabled   bool
	keysFile  string
	users     int
	shareKeys bool
}

func (d *demoFlags) register(fs *flag.FlagSet, c *config) {
	fs.BoolVar(&d.enabled, "demo", c.envBool("PULSE_DEMO"),
		"create, seed and animate a demo project; listens on "+demoAddr+" unless --addr or PULSE_ADDR says otherwise, "+
			"and hands its keys to the dashboard when the listen address is a loopback one (env PULSE_DEMO)")
	fs.BoolVar(&d.shareKeys, "demo-share-keys", c.envBool("PULSE_DEMO_SHARE_KEYS"),
		"hand the demo's READ and ADMIN keys to every dashboard page, even when listening beyond loopback: anyone who reaches the server gets them (env PULSE_DEMO_SHARE_KEYS)")
	fs.StringVar(&d.keysFile, "demo-keys-file", env("PULSE_DEMO_KEYS_FILE", ""),
		"where --demo keeps its keys (mode 0600) so a restart shows the same ones; default: the user's config directory (env PULSE_DEMO_KEYS_FILE)")
	fs.IntVar(&d.users, "demo-users", int(c.envInt64("PULSE_DEMO_USERS", 500)),
		"users --demo seeds on first start (env PULSE_DEMO_USERS)")
}

// defaultAddr makes --demo listen on demoAddr when neither --addr nor
// PULSE_ADDR chose an address.
func (d demoFlags) defaultAddr(fs *flag.FlagSet, c *config) {
	if !d.enabled || env("PULSE_ADDR", "") != "" {
		return
	}
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "addr" })
	if !given {
		c.Addr = demoAddr
	}
}

// sharesKeys reports whether the demo hands its keys to every page of a
// server listening on addr: with --demo-share-keys, or when addr is a
// loopback address, which only this machine can reach. Requests are never
// looked at: a proxy on this machine makes their peer and headers what it
// likes.
func (d demoFlags) sharesKeys(addr net.Addr) bool {
	return d.shareKeys || isLoopback(addr)
}

// isLoopback is whether the server listens on a loopback address only.
func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// setUpDashboard makes the dashboard of web and, with --demo, the demo
// project it shows; the demo is returned for its banner and its trickle.
// addr is where the server listens, which decides whether the demo's keys
// are handed out.
func setUpDashboard(ctx context.Context, db *sql.DB, web *webOptions, enqueuer *recompute.Enqueuer, flags demoFlags, addr net.Addr, dsn string, logger *slog.Logger) (*demo.Demo, error) {
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
		opts.Demo = true
		if flags.sharesKeys(addr) {
			opts.SharedKeys = &dashboard.Keys{Read: d.Keys.Read, Admin: d.Keys.Admin}
		}
		opts.HistoryWindowSeconds = 3600 // the demo's segments move every few seconds
	}
	if web.dashboard, err = dashboard.New(opts); err != nil {
		return nil, err
	}
	return d, nil
}

// printDemoBanner tells a newcomer where to look and which keys to use.
func printDemoBanner(w io.Writer, d *demo.Demo, addr net.Addr, shared bool) {
	access := "The dashboard opens without a key: this server listens on a loopback\n" +
		"  address, which only this machine reaches (a proxy in front of it would\n" +
		"  pass the keys on to its visitors)."
	if shared && !isLoopback(addr) {
		access = "The dashboard opens without a key for anyone who reaches this server:\n" +
			"  --demo-share-keys hands the demo's keys to every page."
	}
	if !shared {
		access = "This server listens beyond loopback, so the dashboard asks for a key:\n" +
			"  paste the READ key (or ADMIN, to recompute). To skip the prompt, listen\n" +
			"  on 127.0.0.1 (--addr 127.0.0.1:8080) or pass --demo-share-keys."
	}
	fmt.Fprintf(w, `
  Pulse demo is running: open http://%s/

  Project %q (id %d): synthetic users, the template segments, and new
  activity every few seconds. Its keys (kept in the demo keys file):
    INGEST  %s
    READ    %s
    ADMIN   %s

  %s

`, displayAddr(addr), d.ProjectName(), d.ProjectID, d.Keys.Ingest, d.Keys.Read, d.Keys.Admin, access)
}
