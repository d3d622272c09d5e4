package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/fidelity"
	"github.com/recloop/recloop/llm"
)

var personasCommand = command{
	name:    "personas",
	summary: "derive personas from an interaction log (personas from-logs)",
	run:     personasCmd,
}

func personasCmd(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 || args[0] != "from-logs" {
		fmt.Fprint(env.stderr, "Usage: recloop personas from-logs [flags]\n\nSubcommands:\n  from-logs  derive one persona per user (or a seeded sample) from a log\n")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return flag.ErrHelp
		}
		return usageError{err: errors.New("personas: want the subcommand from-logs"), printed: true}
	}
	return fromLogs(ctx, env, args[1:])
}

// logFlags are the flags that say where a log comes from and how it is
// split, shared by personas from-logs and fidelity.
type logFlags struct {
	log, catalog, movieLens string
	derive                  fidelity.DeriveOptions
	seed                    uint64
	llm                     string
}

// source names the log, as the derived files' headers record it.
func (lf *logFlags) source() string {
	if lf.movieLens != "" {
		return lf.movieLens
	}
	return lf.log
}

func addLogFlags(fs *flag.FlagSet, lf *logFlags) {
	fs.StringVar(&lf.log, "log", "", "interaction log (.csv with user,item,rating,timestamp columns, or .jsonl); needs --catalog")
	fs.StringVar(&lf.catalog, "catalog", "", "catalog file for --log (.yaml, .json, .jsonl or .csv)")
	fs.StringVar(&lf.movieLens, "movielens", "", "a MovieLens directory (ml-100k, ml-1m, ml-latest or ml-latest-small): catalog and log in one")
	fs.IntVar(&lf.derive.Sample, "sample", 0, "derive a seeded sample of this many users (0 = every user)")
	fs.Uint64Var(&lf.seed, "seed", 1, "seed of the sample and of every random draw")
	fs.StringVar(&lf.derive.Split, "split", fidelity.PerUser, "how the log is split: per-user (each user's most recent interactions held out) or global-time (everything after one moment held out)")
	fs.Float64Var(&lf.derive.HoldOut, "holdout", 0.2, "share held out: of each user's interactions (per-user), or of the whole log (global-time)")
	fs.IntVar(&lf.derive.MinInteractions, "min-interactions", 5, "skip users with fewer interactions")
	fs.StringVar(&lf.llm, "llm", "", "YAML file with an LLM provider section (the keys of a scenario's llm:)")
}

// load reads the catalog and the log and derives the dataset.
func (lf *logFlags) load() (*fidelity.Dataset, string, error) {
	var (
		cat    *catalog.Catalog
		log    []catalog.Interaction
		err    error
		source string
	)
	switch {
	case lf.movieLens != "" && (lf.log != "" || lf.catalog != ""):
		return nil, "", usageError{err: errors.New("give either --movielens or --log with --catalog, not both")}
	case lf.movieLens != "":
		source = lf.movieLens
		cat, log, lf.derive.Tags, err = catalog.LoadMovieLensTagged(lf.movieLens)
	case lf.log != "" && lf.catalog != "":
		source = lf.log
		if cat, err = catalog.Load(lf.catalog); err == nil {
			log, err = catalog.LoadInteractions(lf.log)
		}
	default:
		return nil, "", usageError{err: errors.New("give --movielens <dir>, or --log <file> with --catalog <file>")}
	}
	if errors.Is(err, catalog.ErrFormat) || errors.Is(err, catalog.ErrNotMovieLens) || errors.Is(err, os.ErrNotExist) {
		return nil, "", usageError{err: err}
	}
	if err != nil {
		return nil, "", err
	}
	if lf.derive.HoldOut <= 0 || lf.derive.HoldOut >= 1 {
		return nil, "", usageError{err: fmt.Errorf("--holdout %g: want a share between 0 and 1", lf.derive.HoldOut)}
	}
	if lf.derive.Split != fidelity.PerUser && lf.derive.Split != fidelity.GlobalTime {
		return nil, "", usageError{err: fmt.Errorf("--split %q: want %s or %s", lf.derive.Split, fidelity.PerUser, fidelity.GlobalTime)}
	}
	lf.derive.Seed = lf.seed
	ds, err := fidelity.Derive(cat, log, lf.derive)
	if err != nil {
		return nil, "", withExitCode(ExitInvalid, err)
	}
	return ds, source, nil
}

// llmStack opens the provider configured by --llm, or returns nil.
func (lf *logFlags) llmStack(env *cliEnv) (*llm.Stack, error) {
	if lf.llm == "" {
		return nil, nil
	}
	data, err := os.ReadFile(lf.llm)
	if err != nil {
		return nil, usageError{err: err}
	}
	var cfg llm.Config
	doc := config.Parse(lf.llm, data, &cfg)
	if err := doc.Errors().Err(); err != nil {
		return nil, err
	}
	s, err := llm.New(cfg, llm.WithLogger(env.log))
	if err != nil {
		return nil, withExitCode(ExitInvalid, fmt.Errorf("%s: %w", lf.llm, err))
	}
	return s, nil
}

func fromLogs(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "personas from-logs", "")
	var lf logFlags
	addLogFlags(fs, &lf)
	out := fs.String("out", "personas.yaml", "persona file to write (- for standard output)")
	tastePath := fs.String("taste-model", "", "taste model file to write beside the personas (default: the persona file's name with .taste.json; none with --out -)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *tastePath == "" && *out != "-" {
		*tastePath = strings.TrimSuffix(*out, filepath.Ext(*out)) + ".taste.json"
	}
	ds, source, err := lf.load()
	if err != nil {
		return err
	}
	client, err := lf.llmStack(env)
	if err != nil {
		return err
	}
	if client != nil {
		if err := fidelity.Summarise(ctx, client, ds); err != nil {
			return err
		}
	}
	tasteName := ""
	if *tastePath != "" {
		ds.Taste.Source = source
		if err := writeOutputWith(*tastePath, ds.Taste.WriteJSON); err != nil {
			return err
		}
		tasteName = *tastePath
		if *out != "-" {
			if rel, err := filepath.Rel(filepath.Dir(*out), *tastePath); err == nil {
				tasteName = rel
			}
		}
	}
	data, err := fidelity.PersonasYAML(ds, source, tasteName)
	if err != nil {
		return err
	}
	if *out == "-" {
		_, err = env.stdout.Write(data)
		return err
	}
	if err := writeFileAtomic(*out, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "wrote %d personas to %s (%d skipped with fewer than %d interactions)\n",
		len(ds.Users), *out, ds.Skipped, ds.Options.MinInteractions)
	if *tastePath != "" {
		fmt.Fprintf(env.stdout, "wrote their taste model to %s\n", *tastePath)
	}
	return nil
}
