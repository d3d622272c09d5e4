package export

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// parquetExport writes testdata/run.jsonl as Parquet tables into a new
// directory and returns it.
func parquetExport(t *testing.T) string {
	t.Helper()
	f, err := Lookup("parquet")
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(filepath.Join("testdata", "run.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	dir := t.TempDir()
	w, err := f.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := Convert(in, testOptions, w.Write); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func readRows[T any](t *testing.T, path string) []T {
	t.Helper()
	rows, err := parquet.ReadFile[T](path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

// The Parquet tables hold the events the JSON formats hold: tracks has
// every one, each event table its own, with typed columns.
func TestParquetTablesHoldEveryEvent(t *testing.T) {
	dir := parquetExport(t)
	byName := map[string]int{}
	var events []*Event
	in, err := os.Open(filepath.Join("testdata", "run.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := Convert(in, testOptions, func(e *Event) error { events = append(events, e); byName[SnakeCase(e.Name)]++; return nil }); err != nil {
		t.Fatal(err)
	}
	tracks := readRows[trackRow](t, filepath.Join(dir, TracksTable+".parquet"))
	if len(tracks) != len(events) {
		t.Fatalf("tracks has %d rows for %d events", len(tracks), len(events))
	}
	for i, r := range tracks {
		e := events[i]
		if r.ID != e.ID || r.EventText != e.Name || !r.Timestamp.Equal(e.Time) || !r.Synthetic || r.Round != int64(e.Round) || !slices.Equal(r.Segments, e.Segments) {
			t.Fatalf("tracks row %d = %+v, event %+v", i, r, e)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.parquet"))
	if len(files) != len(byName)+1 {
		t.Fatalf("%d files for %d event names and tracks", len(files), len(byName))
	}
	for name, n := range byName {
		if got := readRows[trackRow](t, filepath.Join(dir, name+".parquet")); len(got) != n {
			t.Errorf("%s has %d rows, want %d", name, len(got), n)
		}
	}
	lists := readRows[listRow](t, filepath.Join(dir, "product_list_viewed.parquet"))
	for _, l := range lists {
		if len(l.Products) == 0 || len(l.Products) != len(l.Impressions) || l.Products[0].Position != 1 || l.Products[0].ProductID != l.Impressions[0] {
			t.Fatalf("list %+v", l)
		}
	}
	clicks := readRows[productRow](t, filepath.Join(dir, "product_clicked.parquet"))
	if len(clicks) == 0 || clicks[0].ProductID == "" || clicks[0].Position < 1 {
		t.Fatalf("clicks %+v", clicks)
	}
}

func TestParquetIsDeterministic(t *testing.T) {
	a, b := parquetExport(t), parquetExport(t)
	files, _ := filepath.Glob(filepath.Join(a, "*.parquet"))
	for _, f := range files {
		x, _ := os.ReadFile(f)
		y, err := os.ReadFile(filepath.Join(b, filepath.Base(f)))
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs between two exports of the same run", filepath.Base(f))
		}
	}
}

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"Product List Viewed": "product_list_viewed", "Add To Cart Reached": "add_to_cart_reached",
		"Chat Message Sent": "chat_message_sent", " Odd--Name! ": "odd_name",
	} {
		if got := SnakeCase(in); got != want {
			t.Errorf("SnakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}
