package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/fidelity"
	fidreport "github.com/recloop/recloop/fidelity/report"
	"github.com/recloop/recloop/llm/llmtest"
	"github.com/recloop/recloop/personas"
	"github.com/recloop/recloop/runner"
)

// loggedWorld writes a synthetic catalog (catalog.yaml) and the log (log.csv)
// that library personas (8 of each archetype, patience high enough to stay)
// produce against random slates, and returns their paths.
func loggedWorld(t *testing.T) (catPath, logPath string) {
	t.Helper()
	dir := t.TempDir()
	cat, err := catalog.Synthetic(catalog.SyntheticConfig{Items: 300, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	lib, err := personas.Library()
	if err != nil {
		t.Fatal(err)
	}
	personas.Adapt(lib, cat)
	var pops []personas.Population
	for _, p := range lib {
		pops = append(pops, personas.Population{Archetype: p.ID, Count: 8})
	}
	ps, err := personas.Expand(pops, lib, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ps {
		ps[i].HistorySize = 0
	}
	states, err := personas.Build(ps, cat, 3)
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := personas.LookupBehaviour(personas.UtilityName)
	params := spec.Defaults()
	params["patience"] = 1e6
	b, err := personas.NewBehaviour(personas.UtilityName, personas.BehaviourEnv{Catalog: cat}, params)
	if err != nil {
		t.Fatal(err)
	}
	log, err := fidelity.SimulateLog(context.Background(), cat, states, b, fidelity.LogOptions{Seed: 3, Rounds: 40, SlateSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	items, err := yaml.Marshal(map[string]any{"items": cat.Items()})
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, "catalog.yaml", string(items)), writeFile(t, dir, "log.csv", string(fidelity.WriteLogCSV(log)))
}

func TestPersonasFromLogs(t *testing.T) {
	catPath, logPath := loggedWorld(t)
	out := filepath.Join(t.TempDir(), "derived.yaml")
	code, stdout, stderr := cli(t, context.Background(), "personas", "from-logs", "--log", logPath, "--catalog", catPath, "--sample", "20", "--out", out)
	if code != runner.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "wrote 20 personas") {
		t.Errorf("stdout: %s", stdout)
	}
	// The file is a valid persona file for the same catalog.
	ps, errs := personas.LoadFile(out)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	cat, err := catalog.Load(catPath)
	if err != nil {
		t.Fatal(err)
	}
	if verrs := personas.Validate(ps, cat, 0); len(verrs) > 0 {
		t.Fatal(verrs)
	}
	if len(ps) != 20 || ps[0].Description == "" || len(ps[0].History) == 0 {
		t.Errorf("derived %d personas, first %+v", len(ps), ps[0])
	}
	// Their taste model is written beside them, and the file says so.
	taste := strings.TrimSuffix(out, ".yaml") + ".taste.json"
	if !strings.Contains(stdout, "wrote their taste model to "+taste) {
		t.Errorf("stdout: %s", stdout)
	}
	if _, err := personas.ReadTasteModel(taste); err != nil {
		t.Errorf("taste model: %v", err)
	}
	if head, _ := os.ReadFile(out); !bytes.Contains(head, []byte("taste_model: derived.taste.json")) {
		t.Errorf("the persona file does not name its taste model:\n%.600s", head)
	}
	// Same flags, same bytes.
	again := filepath.Join(t.TempDir(), "again.yaml")
	if code, _, stderr := cli(t, context.Background(), "personas", "from-logs", "--log", logPath, "--catalog", catPath, "--sample", "20", "--out", again); code != runner.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// The headers name each file's own taste model; all else is the same.
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(again)
	a = bytes.ReplaceAll(a, []byte("derived.taste.json"), []byte("X"))
	b = bytes.ReplaceAll(b, []byte("again.taste.json"), []byte("X"))
	if !bytes.Equal(a, b) {
		t.Error("two derivations with the same seed differ")
	}
	ta, _ := os.ReadFile(taste)
	tb, _ := os.ReadFile(strings.TrimSuffix(again, ".yaml") + ".taste.json")
	if len(ta) == 0 || !bytes.Equal(ta, tb) {
		t.Error("two derivations with the same seed learned different taste models")
	}
}

func TestPersonasFromLogsUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", []string{"personas"}, "from-logs"},
		{"no input", []string{"personas", "from-logs"}, "--movielens"},
		{"both inputs", []string{"personas", "from-logs", "--movielens", "x", "--log", "y.csv"}, "not both"},
		{"too few users", []string{"personas", "from-logs", "--movielens", "../../catalog/testdata/ml-100k"}, "no usable users"},
		{"bad holdout", []string{"personas", "from-logs", "--movielens", "../../catalog/testdata/ml-100k", "--holdout", "1.5"}, "--holdout"},
		{"not movielens", []string{"personas", "from-logs", "--movielens", "."}, "not a MovieLens directory"},
	}
	for _, tc := range tests {
		code, _, stderr := cli(t, context.Background(), tc.args...)
		if code != runner.ExitInvalid || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d mentioning %q", tc.name, code, stderr, runner.ExitInvalid, tc.want)
		}
	}
}

func TestFidelityFit(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates and fits")
	}
	catPath, logPath := loggedWorld(t)
	out := t.TempDir()
	code, stdout, stderr := cli(t, context.Background(), "fidelity", "--log", logPath, "--catalog", catPath, "--fit", "--out", out)
	if code != runner.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"Discrimination, uniform negatives", "Discrimination, popularity-matched negatives", "Lift over the best baseline",
		"1:9", "Ratings of held-out items", "user + item bias", "Verdict agreement", "chance p", "calibrated(mf)", "Fit on the seed part",
		"Taste model:", "weight_factors", "Targets", "wrote "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	data, err := os.ReadFile(filepath.Join(out, "fidelity.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep fidreport.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Users == 0 || len(rep.Samplers) != 2 || len(rep.Verdicts.Recommenders) != len(fidelity.DefaultRecommenders) || len(rep.Fit.Fitted) != len(fidelity.FittedParams) {
		t.Errorf("fidelity.json: %s", data)
	}
	for _, s := range rep.Samplers {
		for _, d := range s.Ratios {
			if sim := d.Scorer(fidreport.SimulatorName); sim == nil || sim.AUC < 0.6 || len(d.Scorers) != 1+len(fidelity.DefaultBaselines) {
				t.Errorf("%s %s: %+v on data the utility model generated", s.Name, d.Ratio, d.Scorers)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(out, "taste-model.json")); err != nil {
		t.Errorf("--fit wrote no taste model: %v", err)
	}

	// The fitted YAML is a behaviour block a scenario beside it accepts…
	fitted := filepath.Join(out, "fitted-behaviour.yaml")
	block, err := os.ReadFile(fitted)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(block, []byte(`taste_model: "taste-model.json"`)) {
		t.Errorf("the fitted block names no taste model:\n%s", block)
	}
	scenario := writeFile(t, out, "s.yaml", "catalog: {file: "+catPath+"}\n"+smallScenarioWithoutCatalog+string(block))
	if code, _, stderr := cli(t, context.Background(), "validate", scenario); code != runner.ExitOK {
		t.Errorf("a scenario with the fitted block: exit %d: %s", code, stderr)
	}
	// …and one elsewhere, where the taste model is not, is refused at the
	// taste_model field.
	elsewhere := writeFile(t, t.TempDir(), "s.yaml", "catalog: {file: "+catPath+"}\n"+smallScenarioWithoutCatalog+string(block))
	if code, _, stderr := cli(t, context.Background(), "validate", elsewhere); code != runner.ExitInvalid || !strings.Contains(stderr, "behaviour.params.taste_model") {
		t.Errorf("a scenario whose taste model is missing: exit %d: %s", code, stderr)
	}
	// …and a behaviour file fidelity accepts back.
	out2 := t.TempDir()
	code, _, stderr = cli(t, context.Background(), "fidelity", "--log", logPath, "--catalog", catPath, "--behaviour", fitted,
		"--recommenders", "popular", "--quiet", "--out", out2)
	if code != runner.ExitOK {
		t.Fatalf("exit %d with the fitted behaviour: %s", code, stderr)
	}
	data2, err := os.ReadFile(filepath.Join(out2, "fidelity.json"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data2, []byte(`"verdicts"`)) {
		t.Error("one recommender should skip the verdict check")
	}
}

func TestFidelityBadBehaviour(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "b.yaml", "behaviour:\n  model: utility\n  params:\n    noise: -1\n    wieght: 2\n")
	code, _, stderr := cli(t, context.Background(), "fidelity", "--movielens", "../../catalog/testdata/ml-100k", "--behaviour", bad)
	if code != runner.ExitInvalid || !strings.Contains(stderr, "b.yaml:4") || !strings.Contains(stderr, "wieght") {
		t.Errorf("exit %d, stderr %q; want both problems located in b.yaml", code, stderr)
	}
	llmFit := writeFile(t, dir, "l.yaml", "behaviour:\n  model: llm\n")
	code, _, stderr = cli(t, context.Background(), "fidelity", "--movielens", "../../catalog/testdata/ml-100k", "--behaviour", llmFit, "--fit")
	if code != runner.ExitInvalid {
		t.Errorf("--fit with an llm behaviour: exit %d, stderr %q", code, stderr)
	}
}

func TestPersonasFromLogsWithLLMSummary(t *testing.T) {
	t.Setenv("RECLOOP_FIDELITY_TEST_KEY", "sk-test")
	server := llmtest.New(t)
	server.Handle(func(llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Reply{Content: "You like what the numbers say."}
	})
	catPath, logPath := loggedWorld(t)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "llm.yaml", "base_url: "+server.URL()+"\nmodel: test-model\napi_key_env: RECLOOP_FIDELITY_TEST_KEY\ncache: {dir: "+filepath.Join(dir, "cache")+"}\n")
	out := filepath.Join(dir, "p.yaml")
	code, _, stderr := cli(t, context.Background(), "personas", "from-logs", "--log", logPath, "--catalog", catPath, "--sample", "3", "--llm", cfg, "--out", out)
	if code != runner.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	ps, errs := personas.LoadFile(out)
	if len(errs) > 0 || len(ps) != 3 || server.Count() != 3 {
		t.Fatalf("%d personas (%v), %d calls", len(ps), errs, server.Count())
	}
	for _, p := range ps {
		if !strings.HasSuffix(p.Description, "You like what the numbers say.") {
			t.Errorf("%s: %q", p.ID, p.Description)
		}
	}
}

// An LLM persona is evaluated through slates: the scripted persona clicks
// the first item it is shown. A rerun is served from the cache.
func TestFidelityWithLLMPersona(t *testing.T) {
	t.Setenv("RECLOOP_FIDELITY_TEST_KEY", "sk-test")
	server := llmtest.New(t)
	server.Answer(scriptedPersonas)
	catPath, logPath := loggedWorld(t)
	dir := t.TempDir()
	provider := writeFile(t, dir, "llm.yaml", "base_url: "+server.URL()+"\nmodel: test-model\napi_key_env: RECLOOP_FIDELITY_TEST_KEY\ncache: {dir: "+filepath.Join(dir, "cache")+"}\n")
	behaviour := writeFile(t, dir, "b.yaml", "behaviour: {model: llm}\n")
	run := func() []byte {
		out := t.TempDir()
		code, _, stderr := cli(t, context.Background(), "fidelity", "--log", logPath, "--catalog", catPath, "--sample", "4",
			"--behaviour", behaviour, "--llm", provider, "--recommenders", "popular,content", "--rounds", "2", "--slate", "5", "--quiet", "--out", out)
		if code != runner.ExitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		data, err := os.ReadFile(filepath.Join(out, "fidelity.json"))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	first := run()
	calls := server.Count()
	var rep fidreport.Report
	if err := json.Unmarshal(first, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Behaviour != "llm" || len(rep.Samplers) != 2 || len(rep.Samplers[0].Ratios) != 3 {
		t.Fatalf("fidelity.json: %s", first)
	}
	if d := rep.Samplers[0].Ratios[0]; d.Shown == 0 || d.Clicks.TP+d.Clicks.FP == 0 || rep.Ratings.Expected != nil {
		t.Errorf("fidelity.json: %s", first)
	}
	if len(rep.Verdicts.Recommenders) != 2 || rep.Verdicts.Recommenders[0].CTR == 0 || calls == 0 {
		t.Errorf("verdicts %+v after %d calls", rep.Verdicts, calls)
	}
	if second := run(); !bytes.Equal(first, second) || server.Count() != calls {
		t.Errorf("the rerun made %d new calls; same bytes: %v", server.Count()-calls, bytes.Equal(first, second))
	}
}

// fidelity --personas evaluates the file's personas (here 5 of a
// from-logs sample, one with an edited description) on the log's split.
func TestFidelityWithPersonaFile(t *testing.T) {
	catPath, logPath := loggedWorld(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "p.yaml")
	if code, _, stderr := cli(t, context.Background(), "personas", "from-logs", "--log", logPath, "--catalog", catPath, "--sample", "5", "--out", file); code != runner.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	out := t.TempDir()
	code, _, stderr := cli(t, context.Background(), "fidelity", "--log", logPath, "--catalog", catPath, "--personas", file, "--recommenders", "", "--quiet", "--out", out)
	if code != runner.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	data, _ := os.ReadFile(filepath.Join(out, "fidelity.json"))
	if !bytes.Contains(data, []byte(`"users": 5,`)) {
		t.Errorf("fidelity.json: %s", data)
	}
	stranger := writeFile(t, dir, "s.yaml", "personas:\n  - id: u-nobody\n    interests: {categories: {drama: 1}}\n")
	code, _, stderr = cli(t, context.Background(), "fidelity", "--log", logPath, "--catalog", catPath, "--personas", stranger, "--quiet", "--out", out)
	if code != runner.ExitInvalid || !strings.Contains(stderr, "u-nobody") {
		t.Errorf("unknown persona: exit %d, %s", code, stderr)
	}
}

// smallScenarioWithoutCatalog is smallScenario for a catalog given apart.
const smallScenarioWithoutCatalog = `
name: small
seed: 7
rounds: 6
slate_size: 5
personas:
  population:
    - {archetype: cinephile, count: 12}
    - {archetype: blockbuster-fan, count: 12}
variants:
  - {name: popular, recommender: popular}
  - {name: content, recommender: content}
metrics: {bootstrap: 200}
`

// --dump writes one line per probe, as many as the report shows, and
// --split global-time is recorded in fidelity.json.
func TestFidelityDumpAndGlobalSplit(t *testing.T) {
	catPath, logPath := loggedWorld(t)
	out := t.TempDir()
	dump := filepath.Join(out, "probes", "p.jsonl")
	code, stdout, stderr := cli(t, context.Background(), "fidelity", "--log", logPath, "--catalog", catPath, "--split", "global-time",
		"--recommenders", "", "--dump", dump, "--out", out)
	if code != runner.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "global-time split") || !strings.Contains(stdout, "wrote "+dump) {
		t.Errorf("stdout: %s", stdout)
	}
	f, err := os.Open(dump)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	probes, err := fidelity.ReadProbes(f)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(out, "fidelity.json"))
	var rep fidreport.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	shown := 0
	for _, s := range rep.Samplers {
		for _, d := range s.Ratios {
			shown += d.Shown
			got := fidelity.ProbeAUC(probes, s.Name, d.Ratio, func(p *fidelity.Probe) float64 { return p.Score })
			if sim := d.Scorer(fidreport.SimulatorName); math.Abs(got-float64(sim.AUC)) > 1e-12 {
				t.Errorf("%s %s: the dump gives AUC %.6f, the report %.6f", s.Name, d.Ratio, got, float64(sim.AUC))
			}
		}
	}
	if rep.Split != "global-time" || shown == 0 || len(probes) != shown {
		t.Errorf("split %q; %d probes dumped, %d shown", rep.Split, len(probes), shown)
	}
	code, _, stderr = cli(t, context.Background(), "fidelity", "--log", logPath, "--catalog", catPath, "--split", "sideways", "--out", out)
	if code != runner.ExitInvalid || !strings.Contains(stderr, "--split") {
		t.Errorf("bad split: exit %d, %s", code, stderr)
	}
	code, _, stderr = cli(t, context.Background(), "fidelity", "--log", logPath, "--catalog", catPath, "--baselines", "popular,nosuch", "--out", out)
	if code != runner.ExitInvalid || !strings.Contains(stderr, "nosuch") {
		t.Errorf("bad baseline: exit %d, %s", code, stderr)
	}
}
