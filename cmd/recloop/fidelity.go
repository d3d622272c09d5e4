package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/fidelity"
	"github.com/recloop/recloop/personas"
)

const (
	fidelityFile = "fidelity.json"
	fittedFile   = "fitted-behaviour.yaml"
)

var fidelityCommand = command{
	name:    "fidelity",
	summary: "check a behaviour model against the held-out part of a log (--fit tunes the utility model)",
	run:     fidelityCmd,
}

// behaviourFile is a scenario fragment naming a behaviour and its
// parameters, as --fit writes it.
type behaviourFile struct {
	Behaviour struct {
		Model  string         `yaml:"model"`
		Params map[string]any `yaml:"params"`
	} `yaml:"behaviour"`
}

func fidelityCmd(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "fidelity", "")
	var lf logFlags
	addLogFlags(fs, &lf)
	behaviour := fs.String("behaviour", "", "YAML file with behaviour: {model: utility|llm, params: {...}} (default: the utility model's defaults)")
	fit := fs.Bool("fit", false, "tune the utility model's global coefficients on the seed part, evaluate the fitted model and write "+fittedFile)
	out := fs.String("out", ".", "directory for "+fidelityFile+" (and "+fittedFile+")")
	recs := fs.String("recommenders", strings.Join(fidelity.DefaultRecommenders, ","), "comma-separated recommenders ranked by the verdict check (fewer than two skips it)")
	rounds := fs.Int("rounds", 5, "simulated rounds of the verdict check")
	slate := fs.Int("slate", 10, "slate size of the verdict check")
	personaFile := fs.String("personas", "", "evaluate the personas of this file (written by personas from-logs, perhaps edited) instead of fresh ones; the split still comes from the log")
	quiet := fs.Bool("quiet", false, "print no table")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	name, params, err := readBehaviour(*behaviour)
	if err != nil {
		return err
	}
	if *fit && name != personas.UtilityName {
		return usageError{err: fmt.Errorf("--fit tunes the utility model, but --behaviour names %q", name)}
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
	if client != nil {
		bEnv.LLM = client
	}
	opt := fidelity.Options{Seed: lf.seed, Rounds: *rounds, SlateSize: *slate, Recommenders: splitList(*recs)}
	var fitRep *fidelity.FitReport
	if *fit {
		fitted, rep, err := fidelity.Fit(ctx, ds, params, opt)
		if err != nil {
			return err
		}
		params, fitRep = fitted, rep
		comment := fmt.Sprintf("Fitted by recloop fidelity --fit (seed %d) on the seed part of %d users.\nInclude it in a scenario, or pass it to recloop fidelity --behaviour.", lf.seed, len(ds.Users))
		path := filepath.Join(*out, fittedFile)
		if err := writeOutput(path, fidelity.BehaviourYAML(params, comment)); err != nil {
			return err
		}
	}
	b, err := personas.NewBehaviour(name, bEnv, params)
	if err != nil {
		return withExitCode(ExitInvalid, err)
	}
	rep, err := fidelity.Evaluate(ctx, ds, b, name, params, opt)
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
			fmt.Fprintf(env.stdout, "wrote %s\n", filepath.Join(*out, fittedFile))
		}
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
	var f behaviourFile
	doc := config.Parse(path, data, &f)
	if err := doc.Errors().Err(); err != nil {
		return "", nil, err
	}
	name := f.Behaviour.Model
	if name == "" {
		name = personas.UtilityName
	}
	spec, ok := personas.LookupBehaviour(name)
	if !ok {
		doc.Add("behaviour.model", "unknown behaviour %q (known: %s)", name, strings.Join(personas.BehaviourNames(), ", "))
		return "", nil, doc.Errors().Err()
	}
	params, errs := spec.Resolve(doc, "behaviour.params", f.Behaviour.Params)
	if err := errs.Err(); err != nil {
		return "", nil, err
	}
	return name, params, nil
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
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return writeFileAtomic(path, func(w io.Writer) error { _, err := w.Write(data); return err })
}
