package simulator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/recloop/recloop/personas"
	"github.com/recloop/recloop/recommenders"
	"github.com/recloop/recloop/trajectory"
)

// fresh builds a new recommender for every world and counts them.
func (f fixture) fresh(t testing.TB, name string, built *atomic.Int32) func(context.Context, World) (recommenders.Recommender, error) {
	return func(context.Context, World) (recommenders.Recommender, error) {
		built.Add(1)
		return f.builtin(t, name), nil
	}
}

func inCells(f fixture, cells int) fixture {
	for i, st := range f.states {
		st.Persona.Cell = i % cells
	}
	return f
}

func TestEveryWorldHasItsOwnRecommender(t *testing.T) {
	f := inCells(newFixture(t, 300, 2), 3)
	f.states = personas.Replicate(f.states, 2, 11)
	var built atomic.Int32
	variants := []Variant{
		{Name: "popular", Recommender: "popular", New: f.fresh(t, "popular", &built)},
		{Name: "itemknn", Recommender: "itemknn", New: f.fresh(t, "itemknn", &built)},
	}
	if _, _, err := run(t, f, f.config(4), variants); err != nil {
		t.Fatal(err)
	}
	// 2 variants × 2 replicates × 3 cells.
	if got := built.Load(); got != 12 {
		t.Errorf("built %d recommenders, want 12", got)
	}
	if got := Units(len(variants), f.states); got != 12 {
		t.Errorf("Units = %d, want 12", got)
	}
}

// A cell is a world of its own: its personas' steps are exactly what they
// would be if the other cells did not exist.
func TestCellsDoNotLeak(t *testing.T) {
	all := inCells(newFixture(t, 300, 2), 2)
	var built atomic.Int32
	_, both, err := run(t, all, all.config(4), []Variant{{Name: "itemknn", Recommender: "itemknn", New: all.fresh(t, "itemknn", &built)}})
	if err != nil {
		t.Fatal(err)
	}
	alone := inCells(newFixture(t, 300, 2), 2)
	var cell0 []*personas.State
	for _, st := range alone.states {
		if st.Persona.Cell == 0 {
			cell0 = append(cell0, st)
		}
	}
	alone.states = cell0
	_, only, err := run(t, alone, alone.config(4), []Variant{{Name: "itemknn", Recommender: "itemknn", New: alone.fresh(t, "itemknn", &built)}})
	if err != nil {
		t.Fatal(err)
	}
	want := stepLines(only, func(string) bool { return true })
	got := stepLines(both, func(persona string) bool {
		for _, st := range cell0 {
			if st.Persona.ID == persona {
				return true
			}
		}
		return false
	})
	if len(want) == 0 || !slicesEqual(got, want) {
		t.Fatalf("cell 0's steps changed when cell 1 ran beside it (%d vs %d steps)", len(got), len(want))
	}
}

func stepLines(out []byte, keep func(persona string) bool) []string {
	var lines []string
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.Contains(line, `"kind":"step"`) {
			continue
		}
		_, rest, _ := strings.Cut(line, `"persona":"`)
		persona, _, _ := strings.Cut(rest, `"`)
		if keep(persona) {
			lines = append(lines, line)
		}
	}
	return lines
}

func slicesEqual(a, b []string) bool {
	return strings.Join(a, "\n") == strings.Join(b, "\n")
}

// runShards runs a 2-variant, 2-replicate, 2-cell run as n shards and
// returns each shard's trajectories.
func runShards(t *testing.T, n int) (whole []byte, shards [][]byte) {
	t.Helper()
	setup := func() (fixture, []Variant) {
		f := inCells(newFixture(t, 300, 2), 2)
		f.states = personas.Replicate(f.states, 2, 11)
		var built atomic.Int32
		return f, []Variant{
			{Name: "popular", Recommender: "popular", New: f.fresh(t, "popular", &built)},
			{Name: "itemknn", Recommender: "itemknn", New: f.fresh(t, "itemknn", &built)},
		}
	}
	f, variants := setup()
	_, whole, err := run(t, f, f.config(3), variants)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		f, variants := setup()
		cfg := f.config(3)
		cfg.Shard = &trajectory.Shard{Index: i, Count: n}
		_, out, err := run(t, f, cfg, variants)
		if err != nil {
			t.Fatal(err)
		}
		shards = append(shards, out)
	}
	return whole, shards
}

func merge(shards [][]byte) ([]byte, error) {
	var readers []io.Reader
	for _, s := range shards {
		readers = append(readers, bytes.NewReader(s))
	}
	var buf bytes.Buffer
	w := trajectory.NewWriter(&buf)
	if err := trajectory.Merge(readers, w); err != nil {
		return nil, err
	}
	err := w.Flush()
	return buf.Bytes(), err
}

func TestMergedShardsEqualTheWholeRun(t *testing.T) {
	for _, n := range []int{1, 3, 4, 8} {
		t.Run(fmt.Sprintf("%d shards", n), func(t *testing.T) {
			whole, shards := runShards(t, n)
			// Given in any order.
			shards[0], shards[len(shards)-1] = shards[len(shards)-1], shards[0]
			merged, err := merge(shards)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(merged, whole) {
				t.Fatalf("merged shards differ from the whole run (%d vs %d bytes)", len(merged), len(whole))
			}
		})
	}
}

func TestMergeRefusesShardsThatDoNotMakeARun(t *testing.T) {
	_, shards := runShards(t, 4)
	truncated := shards[2][:len(shards[2])-200]
	foreign := bytes.Replace(shards[3], []byte(`"seed":11`), []byte(`"seed":12`), 1)
	cases := []struct {
		name   string
		shards [][]byte
		want   string
	}{
		{"missing", shards[:3], "is one of 4 shards, but 3 were given"},
		{"twice", [][]byte{shards[0], shards[1], shards[1], shards[3]}, "shard 3/4 is missing"},
		{"cut off", [][]byte{shards[0], shards[1], truncated, shards[3]}, "shard 3/4 ends before its run_end"},
		{"another run", [][]byte{shards[0], shards[1], shards[2], foreign}, "come from different runs"},
		{"not a shard", [][]byte{[]byte(`{"v":1,"kind":"persona","persona":"x"}` + "\n")}, "is not a shard"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := merge(tc.shards)
			if !errors.Is(err, trajectory.ErrShards) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrShards saying %q", err, tc.want)
			}
		})
	}
}

func TestTooManyShards(t *testing.T) {
	f := newFixture(t, 200, 1)
	cfg := f.config(2)
	cfg.Shard = &trajectory.Shard{Index: 1, Count: 3}
	var built atomic.Int32
	_, err := Run(context.Background(), cfg, f.cat, f.states, []Variant{{Name: "p", Recommender: "popular", New: f.fresh(t, "popular", &built)}}, trajectory.NewWriter(io.Discard))
	if err == nil || !strings.Contains(err.Error(), "3 shards for 1 independent worlds") {
		t.Fatalf("error %v", err)
	}
}

// worldKey marks the context a run was given.
type worldKey struct{}

// Worlds are built under the run's context: an external recommender's
// handshake can be cancelled with the run.
func TestWorldsAreBuiltUnderTheRunsContext(t *testing.T) {
	f := inCells(newFixture(t, 200, 1), 2)
	ctx := context.WithValue(t.Context(), worldKey{}, "the run's")
	var built atomic.Int32
	build := func(ctx context.Context, at World) (recommenders.Recommender, error) {
		if ctx.Value(worldKey{}) != "the run's" {
			return nil, fmt.Errorf("world %+v built under another context", at)
		}
		built.Add(1)
		return f.builtin(t, "popular"), nil
	}
	_, err := Run(ctx, f.config(2), f.cat, f.states, []Variant{{Name: "p", Recommender: "popular", New: build}}, trajectory.NewWriter(io.Discard))
	if err != nil || built.Load() != 2 {
		t.Fatalf("built %d worlds, err %v; want 2 and no error", built.Load(), err)
	}
}
