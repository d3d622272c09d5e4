package judges

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/trajectory"
)

// recordingJudge scores every case 3 and remembers what it saw.
type recordingJudge struct {
	mu    sync.Mutex
	cases []Case
	fail  error
}

func (r *recordingJudge) Judge(_ context.Context, c Case) (Verdict, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cases = append(r.cases, c)
	if r.fail != nil {
		return Verdict{}, r.fail
	}
	return Verdict{Scores: map[string]float64{Faithfulness: 3}}, nil
}

func runnerCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	var items []catalog.Item
	for i := range 20 {
		items = append(items, catalog.Item{ID: fmt.Sprintf("i%02d", i), Title: fmt.Sprintf("Title %d", i), Categories: []string{"drama"}})
	}
	cat, err := catalog.New(items)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// writeRun writes 2 variants × 2 rounds × 4 personas (segments a, a, a, b),
// slates of 3 explained items; every persona clicks its first item.
func writeRun(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "trajectories.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := trajectory.NewWriter(f)
	emit := func(ev trajectory.Event) {
		ev.V = trajectory.SchemaVersion
		if err := w.Write(&ev); err != nil {
			t.Fatal(err)
		}
	}
	emit(trajectory.Event{Kind: trajectory.KindRun, Run: &trajectory.RunInfo{Variants: []trajectory.VariantInfo{{Name: "A"}, {Name: "B"}}, Rounds: 2}})
	for p, seg := range []string{"a", "a", "a", "b"} {
		emit(trajectory.Event{Kind: trajectory.KindPersona, Persona: fmt.Sprintf("p%d", p),
			Profile: &trajectory.Profile{Name: "P", Segments: []string{seg}, History: []string{"i19"}}})
	}
	for r := range 2 {
		for _, v := range []string{"A", "B"} {
			for p := range 4 {
				var slate []trajectory.Shown
				for k := range 3 {
					item := fmt.Sprintf("i%02d", (p*4+r*2+k)%18)
					slate = append(slate, trajectory.Shown{Item: item, Explanation: "because " + item, Clicked: k == 0, Rating: 4})
				}
				emit(trajectory.Event{Kind: trajectory.KindStep, Variant: v, Round: r, Persona: fmt.Sprintf("p%d", p), Step: &trajectory.Step{Slate: slate}})
			}
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}

type collect struct{ events []trajectory.Event }

func (c *collect) Write(ev *trajectory.Event) error {
	c.events = append(c.events, *ev)
	return nil
}

func TestRunJudgesEveryExplanationAndASample(t *testing.T) {
	cat := runnerCatalog(t)
	path := writeRun(t)
	all, sampled := &recordingJudge{}, &recordingJudge{}
	panel := []Panelist{{Name: "all", Judge: all}, {Name: "some", Judge: sampled, Sampled: true}}
	var out collect
	sum, err := Run(context.Background(), cat, path, panel, RunConfig{Sample: 8, Seed: 1, Concurrency: 4}, &out)
	if err != nil {
		t.Fatal(err)
	}
	// 2 variants × 2 rounds × 4 personas × 3 items = 48 explanations.
	if sum.Explanations != 48 || len(all.cases) != 48 || sum.Verdicts["all"] != 48 {
		t.Fatalf("all-slot judge: %+v, %d cases", sum, len(all.cases))
	}
	// 8 per variant, stratified: segment a holds 18 of 24 explanations per
	// variant, so it gets 8·18/24 = 6 and segment b gets 2.
	perVariant := map[string]map[string]int{"A": {}, "B": {}}
	for _, c := range sampled.cases {
		seg := "a"
		if c.Persona == "p3" {
			seg = "b"
		}
		perVariant[c.Variant][seg]++
	}
	for v, bySeg := range perVariant {
		if bySeg["a"] != 6 || bySeg["b"] != 2 {
			t.Errorf("variant %s sampled %v, want a:6 b:2", v, bySeg)
		}
	}
	if len(out.events) != 48+16 {
		t.Errorf("%d verdict events, want 64", len(out.events))
	}
	// Verdicts come out in trajectory order, judges in panel order.
	first := out.events[0]
	if first.Kind != trajectory.KindVerdict || first.Variant != "A" || first.Round != 0 || first.Persona != "p0" || first.Verdict.Rank != 1 || first.Verdict.Judge != "all" {
		t.Errorf("first verdict %+v %+v", first, first.Verdict)
	}
}

func TestRunRebuildsTheVisibleHistory(t *testing.T) {
	cat := runnerCatalog(t)
	judge := &recordingJudge{}
	if _, err := Run(context.Background(), cat, writeRun(t), []Panelist{{Name: "all", Judge: judge}}, RunConfig{Concurrency: 1}, &collect{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range judge.cases {
		if c.Variant != "A" || c.Persona != "p0" {
			continue
		}
		// Seed history i19; in round 0 p0 clicked its first item i00.
		want := 1 + c.Round
		if len(c.History) != want || c.History[0].Title != "Title 19" {
			t.Fatalf("round %d history %+v, want %d items starting with Title 19", c.Round, c.History, want)
		}
		if c.Round == 1 && c.History[1].Item != "i00" {
			t.Fatalf("round 1 history %+v lacks the round-0 click", c.History)
		}
		if len(c.Slate) != 3 || c.PersonaSummary == "" {
			t.Fatalf("case %+v", c)
		}
	}
}

func TestRunSampleIsDeterministic(t *testing.T) {
	cat := runnerCatalog(t)
	path := writeRun(t)
	picks := func(seed uint64) []string {
		j := &recordingJudge{}
		var out collect
		if _, err := Run(context.Background(), cat, path, []Panelist{{Name: "s", Judge: j, Sampled: true}}, RunConfig{Sample: 5, Seed: seed, Concurrency: 8}, &out); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, ev := range out.events {
			ids = append(ids, fmt.Sprint(ev.Variant, ev.Round, ev.Persona, ev.Verdict.Rank))
		}
		return ids
	}
	a, b, c := picks(1), picks(1), picks(2)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Error("the same seed drew different samples")
	}
	if fmt.Sprint(a) == fmt.Sprint(c) {
		t.Error("different seeds drew the same sample")
	}
}

func TestRunCountsFailuresAndStopsOnFatalOnes(t *testing.T) {
	cat := runnerCatalog(t)
	path := writeRun(t)
	soft := &recordingJudge{fail: errors.New("garbled")}
	sum, err := Run(context.Background(), cat, path, []Panelist{{Name: "soft", Judge: soft}}, RunConfig{}, &collect{})
	if err != nil || sum.Errors["soft"] != 48 || sum.Verdicts["soft"] != 0 {
		t.Fatalf("soft failures: %v %+v", err, sum)
	}
	budget := errors.New("budget gone")
	hard := &recordingJudge{fail: budget}
	_, err = Run(context.Background(), cat, path, []Panelist{{Name: "hard", Judge: hard}}, RunConfig{Stop: func(e error) bool { return errors.Is(e, budget) }}, &collect{})
	if !errors.Is(err, budget) {
		t.Fatalf("fatal failure: %v", err)
	}
}

// rankJudge scores an explanation by its rank plus an offset.
type rankJudge struct{ offset float64 }

func (r rankJudge) Judge(_ context.Context, c Case) (Verdict, error) {
	return Verdict{Scores: map[string]float64{Faithfulness: float64(c.Rank) + r.offset}}, nil
}

func TestRunReportsAgreementBetweenJudges(t *testing.T) {
	cat := runnerCatalog(t)
	path := writeRun(t)
	panel := []Panelist{{Name: "a", Judge: rankJudge{2}}, {Name: "b", Judge: rankJudge{2}}, {Name: "c", Judge: &recordingJudge{}}}
	sum, err := Run(context.Background(), cat, path, panel, RunConfig{}, &collect{})
	if err != nil {
		t.Fatal(err)
	}
	// Three judges score faithfulness on all 48 explanations; a and b agree
	// exactly, c always says 3, so agreement is below 1 but defined.
	if len(sum.Agreement) != 1 || sum.Agreement[0].Units != 48 || fmt.Sprint(sum.Agreement[0].Judges) != "[a b c]" {
		t.Fatalf("agreement %+v", sum.Agreement)
	}
	if a := sum.Agreement[0].Alpha; !(a < 1) || a != a {
		t.Errorf("α = %v, want defined and below 1", a)
	}
	sum, _ = Run(context.Background(), cat, path, panel[:2], RunConfig{}, &collect{})
	if len(sum.Agreement) != 1 || sum.Agreement[0].Alpha != 1 {
		t.Errorf("identical judges: %+v, want α = 1", sum.Agreement)
	}
}

// fakePair prefers the candidate on rank-1 items, ties otherwise, and is
// position-biased on rank-3 items.
type fakePair struct{}

func (fakePair) Compare(_ context.Context, a, b Case) (PairVerdict, error) {
	if a.Persona != b.Persona || a.Item.ID != b.Item.ID || a.Variant == b.Variant {
		return PairVerdict{}, fmt.Errorf("mismatched pair %s/%s", a.Variant, b.Variant)
	}
	switch a.Rank {
	case 1:
		return PairVerdict{Winner: WinnerB}, nil
	case 3:
		return PairVerdict{Winner: WinnerTie, PositionBias: true}, nil
	}
	return PairVerdict{Winner: WinnerTie}, nil
}

func TestRunPairwise(t *testing.T) {
	cat := runnerCatalog(t)
	path := writeRun(t)
	// Both variants explain the same 24 slots (4 personas × 2 rounds × 3).
	res, err := RunPairwise(context.Background(), cat, path, fakePair{}, RunConfig{Sample: 100, Seed: 3, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	want := PairResult{Baseline: "A", Candidate: "B", Compared: 24, CandidateWins: 8, Ties: 16, PositionBiased: 8}
	if len(res) != 1 || res[0] != want {
		t.Fatalf("got %+v, want %+v", res, want)
	}
	res, _ = RunPairwise(context.Background(), cat, path, fakePair{}, RunConfig{Sample: 10, Seed: 3})
	if res[0].Compared != 10 {
		t.Errorf("sample of 10 compared %d", res[0].Compared)
	}
}
