package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/fidelity"
	fidreport "github.com/recloop/recloop/fidelity/report"
	"github.com/recloop/recloop/personas"
	"github.com/recloop/recloop/recommenders"
)

const (
	fidelityFile = "fidelity.json"
	fittedFile   = "fitted-behaviour.yaml"
	tasteFile    = "taste-model.json"
)

var fidelityCommand = command{
	name:    "fidelity",
	summary: "check a behaviour model against the held-out part of a log, beside baselines (--fit fits the utility model)",
	run:     fidelityCmd,
}

func fidelityCmd(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "fidelity", "")
	var lf logFlags
	addLogFlags(fs, &lf)
	behaviour := fs.String("behaviour", "", "YAML file with behaviour: {model: utility|llm, params: {...}} (default: the utility model's defaults with the taste model learned from the log)")
	fit := fs.Bool("fit", false, "fit the utility model's coefficients and taste model on the seed part, evaluate the fitted model, and write "+fittedFile+" and "+tasteFile)
	out := fs.String("out", ".", "directory for "+fidelityFile+" (and, with --fit, "+fittedFile+" and "+tasteFile+")")
	recs := fs.String("recommenders", strings.Join(fidelity.DefaultRecommenders, ","), "comma-separated recommenders ranked by the verdict check (fewer than two skips it)")
	baselines := fs.String("baselines", strings.Join(fidelity.DefaultBaselines, ","), "comma-separated recommenders that score the same probes as the simulator")
	rounds := fs.Int("rounds", 5, "simulated rounds of the verdict check")
	slate := fs.Int("slate", 10, "slate size of the verdict check")
	dump := fs.String("dump", "", "write every probe (user, item, label, scores, popularity) to this JSON-lines file")
	personaFile := fs.String("personas", "", "evaluate (and, with --fit, fit) the personas of this file (written by personas from-logs, perhaps edited) instead of fresh ones; the split still comes from the log")
	quiet := fs.Bool("quiet", false, "print no table")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	name, params, err := readBehaviour(*behaviour)
	if err != nil {
		return err
	}
	if *fit && name != personas.UtilityName {
		return usageError{err: fmt.Errorf("--fit fits the utility model, but --behaviour names %q", name)}
	}
	ds, _, err := lf.load()
	if err != nil {
		return err
	}
	if *personaFile != "" {
		ps, errs := personas.LoadFile(*personaFile)
		if err := errs.Err(); err != nil {
			return err
		}
		if err := ds.Use(ps); err != nil {
			return withExitCode(ExitInvalid, err)
		}
	}
	client, err := lf.llmStack(env)
	if err != nil {
		return err
	}
	bEnv := personas.BehaviourEnv{Catalog: ds.Catalog, Seed: lf.seed}
	if *behaviour != "" {
		bEnv.Dir = filepath.Dir(*behaviour)
	}
	// Only the utility model reads a taste model file; without one it uses
	// the taste model learned from the log.
	tasteModel := ""
	if name == personas.UtilityName {
		r := params.Reader(name)
		tasteModel = r.String("taste_model")
		if err := r.Err(); err != nil {
			return err
		}
	}
	if tasteModel == "" {
		bEnv.Taste = ds.Taste
	}
	if client != nil {
		bEnv.LLM = client
	}
	opt := fidelity.Options{Seed: lf.seed, Rounds: *rounds, SlateSize: *slate, Recommenders: splitList(*recs), Baselines: splitList(*baselines)}
	if err := checkRecommenders(slices.Concat(opt.Recommenders, opt.Baselines)); err != nil {
		return err
	}
	var fitRep *fidreport.Fit
	if *fit {
		fitted, taste, rep, err := fidelity.Fit(ctx, ds, params, opt)
		if err != nil {
			return err
		}
		taste.Source = lf.source()
		if err := writeOutputWith(filepath.Join(*out, tasteFile), taste.WriteJSON); err != nil {
			return err
		}
		params, fitRep, bEnv.Taste = fitted, rep, taste
		params["taste_model"] = tasteFile
		comment := fmt.Sprintf("Fitted by recloop fidelity --fit (seed %d) on the seed part of %d users.\n"+
			"taste_model is relative to the directory of the file that names it (a scenario's directory).\n"+
			"Include it in a scenario, or pass it to recloop fidelity --behaviour.", lf.seed, len(ds.Users))
		if err := writeOutput(filepath.Join(*out, fittedFile), fidelity.BehaviourYAML(params, comment)); err != nil {
			return err
		}
	}
	b, err := personas.NewBehaviour(name, bEnv, params)
	if err != nil {
		return withExitCode(ExitInvalid, err)
	}
	var rep *fidreport.Report
	evaluate := func(dump io.Writer) error {
		opt.Dump = dump
		rep, err = fidelity.Evaluate(ctx, ds, b, name, params, opt)
		return err
	}
	if *dump != "" {
		err = writeOutputWith(*dump, evaluate)
	} else {
		err = evaluate(nil)
	}
	if err != nil {
		return err
	}
	rep.Fit = fitRep
	data, err := rep.JSON()
	if err != nil {
		return err
	}
	if err := writeOutput(filepath.Join(*out, fidelityFile), data); err != nil {
		return err
	}
	if !*quiet {
		if err := rep.WriteTable(env.stdout); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "\nwrote %s\n", filepath.Join(*out, fidelityFile))
		if *fit {
			fmt.Fprintf(env.stdout, "wrote %s and %s\n", filepath.Join(*out, fittedFile), filepath.Join(*out, tasteFile))
		}
		if *dump != "" {
			fmt.Fprintf(env.stdout, "wrote %s\n", *dump)
		}
	}
	return nil
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
		return usageError{err: fmt.Errorf("%s", strings.Join(bad, "; "))}
	}
	return nil
}

// readBehaviour reads a behaviour file, validating its parameters against
// the behaviour's spec; without a file it is the utility model's defaults.
func readBehaviour(path string) (string, config.Params, error) {
	if path == "" {
		spec, _ := personas.LookupBehaviour(personas.UtilityName)
		return personas.UtilityName, spec.Defaults(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", nil, usageError{err: err}
	}
	name, params, errs := personas.ParseBehaviourFile(path, data)
	return name, params, errs.Err()
}

func splitList(s string) []string {
	out := []string{}
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func writeOutput(path string, data []byte) error {
	return writeOutputWith(path, func(w io.Writer) error { _, err := w.Write(data); return err })
}

// writeOutputWith creates path's directory and writes path atomically
// with write.
func writeOutputWith(path string, write func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return writeFileAtomic(path, write)
}
