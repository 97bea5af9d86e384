package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/heraldhq/herald"
)

func apikey(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, "Usage: herald apikey create|list|revoke [flags]\n")
		return errUsage
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("apikey "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	database := fs.String("database", defaultDatabase, "database (env HERALD_DATABASE_URL)")
	workspace := fs.String("workspace", "default", "workspace name (created if it does not exist)")
	name := fs.String("name", "", "a label for the key (create)")
	if err := parseFlags(fs, args, getenv, map[string][]string{"database": {"HERALD_DATABASE_URL", "HERALD_DATABASE"}}); err != nil {
		return err
	}
	store, err := openStore(ctx, *database)
	if err != nil {
		return err
	}
	defer store.Close()

	switch sub {
	case "create":
		ws, created, err := store.EnsureWorkspace(ctx, *workspace)
		if err != nil {
			return err
		}
		if created {
			fmt.Fprintf(stderr, "created workspace %q\n", ws.Name)
		}
		label := *name
		if label == "" {
			label = "created " + time.Now().UTC().Format(time.DateOnly)
		}
		secret, key := herald.NewAPIKey(ws.ID, label, time.Now())
		if err := store.CreateAPIKey(ctx, key); err != nil {
			return err
		}
		// Only the key on stdout, so that KEY=$(herald apikey create) works.
		fmt.Fprintln(stdout, secret)
		return nil
	case "list":
		ws, err := store.FindWorkspace(ctx, *workspace)
		if err != nil {
			return err
		}
		keys, err := store.ListAPIKeys(ctx, ws.ID)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tPREFIX\tNAME\tCREATED\tREVOKED")
		for _, k := range keys {
			revoked := "-"
			if k.RevokedAt != nil {
				revoked = herald.FormatTime(*k.RevokedAt)
			}
			fmt.Fprintf(tw, "%s\t%s…\t%s\t%s\t%s\n", k.ID, k.Prefix, k.Name, herald.FormatTime(k.CreatedAt), revoked)
		}
		return tw.Flush()
	case "revoke":
		if fs.NArg() != 1 {
			return errors.New("apikey revoke takes one key id (see herald apikey list)")
		}
		ws, err := store.FindWorkspace(ctx, *workspace)
		if err != nil {
			return err
		}
		if err := store.RevokeAPIKey(ctx, ws.ID, fs.Arg(0), time.Now()); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "revoked", fs.Arg(0))
		return nil
	}
	fmt.Fprintf(stderr, "herald apikey: unknown subcommand %q (create, list, revoke)\n", sub)
	return errUsage
}
