package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/fidelity"
	"github.com/recloop/recloop/llm/llmtest"
	"github.com/recloop/recloop/personas"
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
	if code != ExitOK {
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
	// Same flags, same bytes.
	again := filepath.Join(t.TempDir(), "again.yaml")
	if code, _, stderr := cli(t, context.Background(), "personas", "from-logs", "--log", logPath, "--catalog", catPath, "--sample", "20", "--out", again); code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(again)
	if !bytes.Equal(a, b) {
		t.Error("two derivations with the same seed differ")
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
		if code != ExitInvalid || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d mentioning %q", tc.name, code, stderr, ExitInvalid, tc.want)
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
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"Discrimination", "1:9", "Verdict agreement", "itemknn", "Fit on the seed part", "weight_popularity", "wrote "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	data, err := os.ReadFile(filepath.Join(out, "fidelity.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Users          int
		Discrimination []struct{ AUC float64 }
		Verdicts       struct{ Recommenders []struct{ Name string } }
		Fit            struct{ Fitted map[string]float64 }
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Users == 0 || len(rep.Discrimination) != 3 || len(rep.Verdicts.Recommenders) != 4 || len(rep.Fit.Fitted) != len(fidelity.FittedParams) {
		t.Errorf("fidelity.json: %s", data)
	}
	for _, d := range rep.Discrimination {
		if d.AUC < 0.6 {
			t.Errorf("AUC %.3f on data the utility model generated", d.AUC)
		}
	}

	// The fitted YAML is a behaviour block a scenario accepts…
	fitted := filepath.Join(out, "fitted-behaviour.yaml")
	block, err := os.ReadFile(fitted)
	if err != nil {
		t.Fatal(err)
	}
	scenario := writeFile(t, t.TempDir(), "s.yaml", smallScenario+string(block))
	if code, _, stderr := cli(t, context.Background(), "validate", scenario); code != ExitOK {
		t.Errorf("a scenario with the fitted block: exit %d: %s", code, stderr)
	}
	// …and a behaviour file fidelity accepts back.
	out2 := t.TempDir()
	code, _, stderr = cli(t, context.Background(), "fidelity", "--log", logPath, "--catalog", catPath, "--behaviour", fitted,
		"--recommenders", "popular", "--quiet", "--out", out2)
	if code != ExitOK {
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
	if code != ExitInvalid || !strings.Contains(stderr, "b.yaml:4") || !strings.Contains(stderr, "wieght") {
		t.Errorf("exit %d, stderr %q; want both problems located in b.yaml", code, stderr)
	}
	llmFit := writeFile(t, dir, "l.yaml", "behaviour:\n  model: llm\n")
	code, _, stderr = cli(t, context.Background(), "fidelity", "--movielens", "../../catalog/testdata/ml-100k", "--behaviour", llmFit, "--fit")
	if code != ExitInvalid {
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
	if code != ExitOK {
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
		if code != ExitOK {
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
	var rep struct {
		Behaviour      string
		Discrimination []struct{ Shown, TP, FP int }
		Verdicts       struct{ Recommenders []struct{ CTR float64 } }
	}
	if err := json.Unmarshal(first, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Behaviour != "llm" || len(rep.Discrimination) != 3 || rep.Discrimination[0].Shown == 0 || rep.Discrimination[0].TP+rep.Discrimination[0].FP == 0 {
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
	if code, _, stderr := cli(t, context.Background(), "personas", "from-logs", "--log", logPath, "--catalog", catPath, "--sample", "5", "--out", file); code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	out := t.TempDir()
	code, _, stderr := cli(t, context.Background(), "fidelity", "--log", logPath, "--catalog", catPath, "--personas", file, "--recommenders", "", "--quiet", "--out", out)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	data, _ := os.ReadFile(filepath.Join(out, "fidelity.json"))
	if !bytes.Contains(data, []byte(`"users": 5,`)) {
		t.Errorf("fidelity.json: %s", data)
	}
	stranger := writeFile(t, dir, "s.yaml", "personas:\n  - id: u-nobody\n    interests: {categories: {drama: 1}}\n")
	code, _, stderr = cli(t, context.Background(), "fidelity", "--log", logPath, "--catalog", catPath, "--personas", stranger, "--quiet", "--out", out)
	if code != ExitInvalid || !strings.Contains(stderr, "u-nobody") {
		t.Errorf("unknown persona: exit %d, %s", code, stderr)
	}
}
