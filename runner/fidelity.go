package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/fidelity"
	fidreport "github.com/recloop/recloop/fidelity/report"
	"github.com/recloop/recloop/llm"
	"github.com/recloop/recloop/personas"
	"github.com/recloop/recloop/recommenders"
)

// What recloop fidelity --fit writes beside fidelity.json.
const (
	FittedFile = "fitted-behaviour.yaml"
	TasteFile  = "taste-model.json"
)

// LogSource says where an interaction log comes from and how it is split:
// a MovieLens directory, or a log with its catalog.
type LogSource struct {
	Log, Catalog, MovieLens string
	Derive                  fidelity.DeriveOptions
	Seed                    uint64
	// LLMConfig is a YAML file with an LLM provider section (the keys of a
	// scenario's llm:), or "" for none.
	LLMConfig string
	// Logger hears the LLM client's warnings (nil: nobody).
	Logger *slog.Logger
}

// Name is the log's name, as the derived files' headers record it.
func (s LogSource) Name() string {
	if s.MovieLens != "" {
		return s.MovieLens
	}
	return s.Log
}

// load reads the catalog and the log and derives the dataset.
func (s LogSource) load() (*fidelity.Dataset, error) {
	var (
		cat *catalog.Catalog
		log []catalog.Interaction
		err error
	)
	switch {
	case s.MovieLens != "" && (s.Log != "" || s.Catalog != ""):
		return nil, WithExitCode(ExitInvalid, errors.New("give either --movielens or --log with --catalog, not both"))
	case s.MovieLens != "":
		cat, log, s.Derive.Tags, err = catalog.LoadMovieLensTagged(s.MovieLens)
	case s.Log != "" && s.Catalog != "":
		if cat, err = catalog.Load(s.Catalog); err == nil {
			log, err = catalog.LoadInteractions(s.Log)
		}
	default:
		return nil, WithExitCode(ExitInvalid, errors.New("give --movielens <dir>, or --log <file> with --catalog <file>"))
	}
	if errors.Is(err, catalog.ErrFormat) || errors.Is(err, catalog.ErrNotMovieLens) || errors.Is(err, os.ErrNotExist) {
		return nil, WithExitCode(ExitInvalid, err)
	}
	if err != nil {
		return nil, err
	}
	if s.Derive.HoldOut <= 0 || s.Derive.HoldOut >= 1 {
		return nil, WithExitCode(ExitInvalid, fmt.Errorf("--holdout %g: want a share between 0 and 1", s.Derive.HoldOut))
	}
	if s.Derive.Split != fidelity.PerUser && s.Derive.Split != fidelity.GlobalTime {
		return nil, WithExitCode(ExitInvalid, fmt.Errorf("--split %q: want %s or %s", s.Derive.Split, fidelity.PerUser, fidelity.GlobalTime))
	}
	s.Derive.Seed = s.Seed
	ds, err := fidelity.Derive(cat, log, s.Derive)
	return ds, WithExitCode(ExitInvalid, err)
}

// llmStack opens the provider of LLMConfig, or returns nil.
func (s LogSource) llmStack() (*llm.Stack, error) {
	if s.LLMConfig == "" {
		return nil, nil
	}
	data, err := os.ReadFile(s.LLMConfig)
	if err != nil {
		return nil, WithExitCode(ExitInvalid, err)
	}
	var cfg llm.Config
	doc := config.Parse(s.LLMConfig, data, &cfg)
	if err := doc.Errors().Err(); err != nil {
		return nil, err
	}
	var opts []llm.Option
	if s.Logger != nil {
		opts = append(opts, llm.WithLogger(s.Logger))
	}
	stack, err := llm.New(cfg, opts...)
	if err != nil {
		return nil, WithExitCode(ExitInvalid, fmt.Errorf("%s: %w", s.LLMConfig, err))
	}
	return stack, nil
}

// FromLogsOptions say what personas from-logs writes.
type FromLogsOptions struct {
	Source LogSource
	// Out is the persona file ("-": Stdout).
	Out    string
	Stdout io.Writer
	// TasteModel is the taste model file written beside the personas ("":
	// the persona file's name with .taste.json; none when Out is "-").
	TasteModel string
}

// FromLogs derives one persona per user of a log (or a seeded sample) and
// writes them, with the taste model learned from the log; it returns the
// dataset and the taste model's path ("" when none was written).
func FromLogs(ctx context.Context, opts FromLogsOptions) (*fidelity.Dataset, string, error) {
	if opts.TasteModel == "" && opts.Out != "-" {
		opts.TasteModel = strings.TrimSuffix(opts.Out, filepath.Ext(opts.Out)) + ".taste.json"
	}
	ds, err := opts.Source.load()
	if err != nil {
		return nil, "", err
	}
	client, err := opts.Source.llmStack()
	if err != nil {
		return nil, "", err
	}
	if client != nil {
		if err := fidelity.Summarise(ctx, client, ds); err != nil {
			return nil, "", err
		}
	}
	source := opts.Source.Name()
	tasteName := ""
	if opts.TasteModel != "" {
		ds.Taste.Source = source
		if err := WriteFileAtomic(opts.TasteModel, ds.Taste.WriteJSON); err != nil {
			return nil, "", err
		}
		tasteName = opts.TasteModel
		if opts.Out != "-" {
			if rel, err := filepath.Rel(filepath.Dir(opts.Out), opts.TasteModel); err == nil {
				tasteName = rel
			}
		}
	}
	data, err := fidelity.PersonasYAML(ds, source, tasteName)
	if err != nil {
		return nil, "", err
	}
	if opts.Out == "-" {
		_, err = opts.Stdout.Write(data)
		return ds, "", err
	}
	return ds, opts.TasteModel, writeBytes(opts.Out, data)
}

// FidelityOptions say what recloop fidelity checks and writes.
type FidelityOptions struct {
	Source LogSource
	// Behaviour is a YAML file with behaviour: {model, params} ("": the
	// utility model's defaults with the taste model learned from the log).
	Behaviour string
	// Fit fits the utility model on the seed part and evaluates the fitted
	// model, writing FittedFile and TasteFile.
	Fit bool
	// Out is the directory of fidelity.json and the fitted files.
	Out string
	// Personas evaluates (and fits) the personas of this file instead of
	// fresh ones; the split still comes from the log.
	Personas string
	// Dump writes every probe to this JSON-lines file ("": none).
	Dump string
	// Evaluation is the protocol's seed-independent settings.
	Evaluation fidelity.Options
}

// Fidelity checks a behaviour model against the held-out part of a log,
// beside baselines, and writes fidelity.json (and, with Fit, the fitted
// model) into opts.Out.
func Fidelity(ctx context.Context, opts FidelityOptions) (*fidreport.Report, error) {
	name, params, err := readBehaviour(opts.Behaviour)
	if err != nil {
		return nil, err
	}
	if opts.Fit && name != personas.UtilityName {
		return nil, WithExitCode(ExitInvalid, fmt.Errorf("--fit fits the utility model, but --behaviour names %q", name))
	}
	ds, err := opts.Source.load()
	if err != nil {
		return nil, err
	}
	if opts.Personas != "" {
		ps, errs := personas.LoadFile(opts.Personas)
		if err := errs.Err(); err != nil {
			return nil, err
		}
		if err := ds.Use(ps); err != nil {
			return nil, WithExitCode(ExitInvalid, err)
		}
	}
	client, err := opts.Source.llmStack()
	if err != nil {
		return nil, err
	}
	seed := opts.Source.Seed
	env := personas.BehaviourEnv{Catalog: ds.Catalog, Seed: seed}
	if opts.Behaviour != "" {
		env.Dir = filepath.Dir(opts.Behaviour)
	}
	// Only the utility model reads a taste model file; without one it uses
	// the taste model learned from the log.
	tasteModel := ""
	if name == personas.UtilityName {
		r := params.Reader(name)
		tasteModel = r.String("taste_model")
		if err := r.Err(); err != nil {
			return nil, err
		}
	}
	if tasteModel == "" {
		env.Taste = ds.Taste
	}
	if client != nil {
		env.LLM = client
	}
	eval := opts.Evaluation
	eval.Seed = seed
	if err := checkRecommenders(slices.Concat(eval.Recommenders, eval.Baselines)); err != nil {
		return nil, err
	}
	var fitRep *fidreport.Fit
	if opts.Fit {
		fitted, taste, rep, err := fidelity.Fit(ctx, ds, params, eval)
		if err != nil {
			return nil, err
		}
		taste.Source = opts.Source.Name()
		if err := WriteFileAtomic(filepath.Join(opts.Out, TasteFile), taste.WriteJSON); err != nil {
			return nil, err
		}
		params, fitRep, env.Taste = fitted, rep, taste
		params["taste_model"] = TasteFile
		comment := fmt.Sprintf("Fitted by recloop fidelity --fit (seed %d) on the seed part of %d users.\n"+
			"taste_model is relative to the directory of the file that names it (a scenario's directory).\n"+
			"Include it in a scenario, or pass it to recloop fidelity --behaviour.", seed, len(ds.Users))
		if err := writeBytes(filepath.Join(opts.Out, FittedFile), fidelity.BehaviourYAML(params, comment)); err != nil {
			return nil, err
		}
	}
	b, err := personas.NewBehaviour(name, env, params)
	if err != nil {
		return nil, WithExitCode(ExitInvalid, err)
	}
	var rep *fidreport.Report
	evaluate := func(dump io.Writer) error {
		eval.Dump = dump
		rep, err = fidelity.Evaluate(ctx, ds, b, name, params, eval)
		return err
	}
	if opts.Dump != "" {
		err = WriteFileAtomic(opts.Dump, evaluate)
	} else {
		err = evaluate(nil)
	}
	if err != nil {
		return nil, err
	}
	rep.Fit = fitRep
	data, err := rep.JSON()
	if err != nil {
		return nil, err
	}
	return rep, writeBytes(filepath.Join(opts.Out, FidelityFile), data)
}

// readBehaviour reads a behaviour file, validating its parameters against
// the behaviour's spec; without a file it is the utility model's defaults.
func readBehaviour(path string) (string, config.Params, error) {
	if path == "" {
		spec, _ := personas.LookupBehaviour(personas.UtilityName)
		return personas.UtilityName, spec.Defaults(), nil
	}
	data, err := config.ReadFile(path, config.MaxYAMLBytes)
	if err != nil {
		return "", nil, WithExitCode(ExitInvalid, err)
	}
	name, params, errs := personas.ParseBehaviourFile(path, data)
	return name, params, errs.Err()
}

// checkRecommenders reports every name that is not a registered
// recommender or a well-formed composition, before anything is computed.
func checkRecommenders(names []string) error {
	var bad []string
	for _, n := range names {
		if err := recommenders.Check(n); err != nil {
			bad = append(bad, err.Error())
		}
	}
	if len(bad) > 0 {
		return WithExitCode(ExitInvalid, errors.New(strings.Join(bad, "; ")))
	}
	return nil
}

func writeBytes(path string, data []byte) error {
	return WriteFileAtomic(path, func(w io.Writer) error { _, err := w.Write(data); return err })
}
