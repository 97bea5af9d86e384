package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/heraldhq/herald"
)

const apikeyUsage = `Usage:
  herald apikey create [--name LABEL] [--workspace NAME [--create-workspace]]
                                 print a new API key (only the key, on stdout)
  herald apikey list [--workspace NAME]
                                 list the workspace's keys
  herald apikey revoke [--workspace NAME] ID
                                 revoke a key: it stops working at once

Flags:
`

func apikey(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, apikeyUsage)
		return errUsage
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("apikey "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	database := fs.String("database", defaultDatabase, "database (env HERALD_DATABASE_URL)")
	workspace := fs.String("workspace", "default", "workspace name")
	createWorkspace := fs.Bool("create-workspace", false, "create the workspace if it does not exist (create)")
	name := fs.String("name", "", "a label for the key (create)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), apikeyUsage)
		fs.PrintDefaults()
	}
	switch sub {
	case "-h", "-help", "--help", "help":
		fs.SetOutput(stdout)
		fs.Usage()
		return nil
	}
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
		label := *name
		if label == "" {
			label = "created " + time.Now().UTC().Format(time.DateOnly)
		}
		label, err := herald.CheckKeyName(label)
		if err != nil {
			return err
		}
		var ws *herald.Workspace
		if *createWorkspace {
			var created bool
			if ws, created, err = store.EnsureWorkspace(ctx, *workspace); err == nil && created {
				fmt.Fprintf(stderr, "created workspace %q\n", ws.Name)
			}
		} else if ws, err = store.FindWorkspace(ctx, *workspace); herald.ErrorCode(err) == herald.ENOTFOUND {
			// A typo must not make a workspace nobody uses.
			return fmt.Errorf("no workspace is called %q: check the name, or add --create-workspace to create it", *workspace)
		}
		if err != nil {
			return err
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
			fmt.Fprintf(tw, "%s\t%s…\t%s\t%s\t%s\n", k.ID, k.Prefix, printable(k.Name), herald.FormatTime(k.CreatedAt), revoked)
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

// printable is s as a terminal may show it: quoted, with escapes, when
// it holds anything but printable text (a name stored before names were
// checked could hold a terminal escape).
func printable(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) < 0 {
		return s
	}
	return strconv.QuoteToGraphic(s)
}
