// Command pulse is the Pulse server and its operator tools: serve, migrate,
// project, version.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/pulse-analytics/pulse/internal/gctune"
)

const usage = `pulse - active user segments and feedback management

USAGE
  pulse <command> [flags]

COMMANDS
  serve     run the GraphQL API and the jobs (migrates the database first)
  worker    run only the background jobs (pair with serve --no-workers)
  migrate   apply database migrations and exit
  project   manage projects: pulse project create --name NAME
  seed      generate a realistic synthetic workload into a project
  bench     measure against same-run floors: pulse bench ingest | segments | analytics | live | reads
  version   print the version

Run "pulse <command> --help" for the flags of a command. Every flag can also
be set by an environment variable, shown in its help; flags win.
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The process's collector, not run's: tests call run many times in one.
	tuner := gctune.Start(gctune.DefaultHeadroom)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	tuner.Stop()
	stop() // before os.Exit, which skips deferred calls
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "pulse:", err)
		}
		os.Exit(exitCode(err))
	}
}

func exitCode(err error) int {
	if errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

var errUsage = errors.New("usage")

// run dispatches to a subcommand. It never exits, so tests can call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: no command given", errUsage)
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serve(ctx, rest, stderr)
	case "worker":
		return worker(ctx, rest, stderr)
	case "migrate":
		return migrateCmd(ctx, rest, stderr)
	case "seed":
		return seedCmd(ctx, rest, stdout, stderr)
	case "project":
		return projectCmd(ctx, rest, stdout, stderr)
	case "bench":
		return benchCmd(ctx, rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "pulse", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}
}
