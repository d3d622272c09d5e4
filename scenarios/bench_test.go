package scenarios

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/simulator"
	"github.com/recloop/recloop/trajectory"
)

// benchScenario is the speed target: 10,000 personas × 30 rounds ×
// slate 10 on a 10,000-item catalog with itemknn.
// With patience the personas never exit, so every persona sees every round:
// the full 3,000,000 impressions.
// engaged adds a funnel, search and returning personas.
func benchScenario(rounds int, patience float64, engaged bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: bench\nseed: 1\nrounds: %d\nslate_size: 10\n", rounds)
	if engaged {
		b.WriteString("funnel: [click, add_to_cart, purchase]\nengagement: {search: true}\nreturning: {}\n")
	}
	if patience > 0 {
		fmt.Fprintf(&b, "behaviour: {model: utility, params: {patience: %g}}\n", patience)
	}
	b.WriteString("catalog:\n  synthetic: {items: 10000, new_items: 500, release_from: 5, release_to: 20}\n")
	b.WriteString("personas:\n  population:\n")
	for _, a := range []string{"blockbuster-fan", "channel-surfer", "cinephile", "documentary-learner", "family-parent",
		"horror-buff", "niche-explorer", "romantic", "scifi-geek", "thrill-seeker"} {
		fmt.Fprintf(&b, "    - {archetype: %s, count: 1000}\n", a)
	}
	b.WriteString("variants:\n  - {name: itemknn, recommender: itemknn}\n")
	return b.String()
}

// runWhole runs a plan the way `recloop run` does: trajectories streamed to
// a file, metrics aggregated on the fly, results computed at the end.
func runWhole(tb testing.TB, plan *Plan, dir string) (*metrics.Results, int) {
	tb.Helper()
	f, err := os.Create(filepath.Join(dir, "trajectories.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	agg := metrics.NewAggregator(plan.Catalog, plan.Metrics)
	sinks := trajectory.Sinks{trajectory.NewWriter(f), agg}
	sum, err := simulator.Run(context.Background(), plan.SimulatorConfig(0, "bench"), plan.Catalog, plan.States, plan.Variants, sinks)
	if err != nil {
		tb.Fatal(err)
	}
	return agg.Results(), sum.Steps
}

func BenchmarkWholeRun(b *testing.B) {
	for _, size := range []struct {
		name     string
		rounds   int
		patience float64
		engaged  bool
	}{
		{"rounds=10", 10, 0, false},
		{"rounds=30", 30, 0, false},
		{"rounds=30-no-exit", 30, 1e6, false},
		{"rounds=30-no-exit-funnel-returning", 30, 1e6, true},
	} {
		b.Run(size.name, func(b *testing.B) {
			s, errs := Parse("bench.yaml", []byte(benchScenario(size.rounds, size.patience, size.engaged)), ".")
			if err := errs.Err(); err != nil {
				b.Fatal(err)
			}
			dir := b.TempDir()
			var impressions int
			b.ReportAllocs()
			for b.Loop() {
				plan, err := s.build(b.Context(), nil, nil)
				if err != nil {
					b.Fatal(err)
				}
				res, _ := runWhole(b, plan, dir)
				impressions = countImpressions(b, filepath.Join(dir, "trajectories.jsonl"))
				if len(res.Variants) != 1 {
					b.Fatal("no results")
				}
			}
			b.ReportMetric(float64(impressions)*float64(b.N)/b.Elapsed().Seconds(), "impressions/s")
			b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
		})
	}
}

func countImpressions(tb testing.TB, path string) int {
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		n += bytes.Count(sc.Bytes(), []byte(`{"item":`))
	}
	return n
}

// peakRSSMiB is the process's high-water resident set (Linux), 0 elsewhere.
// It covers the whole benchmark process, so run one sub-benchmark at a time
// (-bench WholeRun/rounds=30) to read it per size.
func peakRSSMiB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return float64(kb) / 1024
		}
	}
	return 0
}

// BenchmarkConversational runs the built-in conversational scenario whole
// (simulation, trajectories, metrics) beside its slate twin: the same
// catalog, personas, replicates, seed and slate size, with the slate
// recommender closest to each chat variant (popular for chatpopular and
// clarify). Per-op time divided by the twin's is the cost of conversing.
func BenchmarkConversational(b *testing.B) {
	data, ok := Builtin("conversational")
	if !ok {
		b.Fatal("no built-in conversational scenario")
	}
	slate := regexp.MustCompile(`(?s)\nconversation:.*?\n\n`).ReplaceAll(data, []byte("\n"))
	slate = regexp.MustCompile(`recommender: (chatpopular|clarify)\n(    params: .*\n)?`).ReplaceAll(slate, []byte("recommender: popular\n"))
	slate = regexp.MustCompile(`(?s)\ngates:.*?\ninconclusive: fail\n`).ReplaceAll(slate, nil)
	for _, c := range []struct {
		name string
		yaml []byte
	}{{"conversational", data}, {"slate-twin", slate}} {
		b.Run(c.name, func(b *testing.B) {
			s, errs := Parse(c.name+".yaml", c.yaml, ".")
			if err := errs.Err(); err != nil {
				b.Fatal(err)
			}
			dir := b.TempDir()
			var units int
			b.ReportAllocs()
			for b.Loop() {
				plan, err := s.build(b.Context(), nil, nil)
				if err != nil {
					b.Fatal(err)
				}
				_, units = runWhole(b, plan, dir)
			}
			b.ReportMetric(float64(units)*float64(b.N)/b.Elapsed().Seconds(), "dialogues-or-slates/s")
		})
	}
}
