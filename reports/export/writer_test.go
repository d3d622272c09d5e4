package export

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/recloop/recloop/reports/export/exporttest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

var testOptions = Options{
	Start:      time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
	RoundEvery: 24 * time.Hour,
	Item: func(id string) (string, string) {
		if id == "item-1" {
			return "The First Film", "drama"
		}
		return "", ""
	},
}

// export writes testdata/run.jsonl in a format.
func export(t *testing.T, format string) []byte {
	t.Helper()
	f, err := Lookup(format)
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(filepath.Join("testdata", "run.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var out bytes.Buffer
	w, err := f.New(&out)
	if err != nil {
		t.Fatal(err)
	}
	if err := Convert(in, testOptions, w.Write); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestFormatsMatchTheirGoldenFilesAndSchemas(t *testing.T) {
	if got := strings.Join(Names(), ","); got != "amplitude,mixpanel,parquet,segment" {
		t.Errorf("formats: %s", got)
	}
	for _, format := range []string{"segment", "amplitude", "mixpanel"} {
		t.Run(format, func(t *testing.T) {
			got := export(t, format)
			exporttest.ValidateLines(t, format, got)
			if again := export(t, format); !bytes.Equal(got, again) {
				t.Error("two exports of one run differ")
			}
			golden := filepath.Join("testdata", format+".golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s (go test -update rewrites it):\n%s", format, golden, got)
			}
			for _, must := range []string{`"synthetic":true`, `"recloop-ann"`, `"The First Film"`, `"Popular <this> week & more"`} {
				if !bytes.Contains(got, []byte(must)) {
					t.Errorf("%s output lacks %s", format, must)
				}
			}
		})
	}
}

func TestMixpanelInsertIDsFit(t *testing.T) {
	valid := regexp.MustCompile(`^[A-Za-z0-9-]{1,36}$`)
	for _, line := range bytes.Split(bytes.TrimSpace(export(t, "mixpanel")), []byte("\n")) {
		var ev struct {
			Properties map[string]any `json:"properties"`
		}
		if err := json.Unmarshal(line, &ev); err != nil {
			t.Fatal(err)
		}
		if id, _ := ev.Properties["$insert_id"].(string); !valid.MatchString(id) {
			t.Errorf("$insert_id %q does not fit Mixpanel's rule", id)
		}
	}
}

func TestAmplitudeBatches(t *testing.T) {
	var out bytes.Buffer
	w, _ := newAmplitude(&out)
	for i := range 2*amplitudeBatchEvents + 1 {
		e := testEvent(ListViewed, i)
		e.ListID, e.RecommendationID, e.Impressions = "v/"+SurfaceSlate, e.ID, []string{"item-1"}
		e.Products = []Product{{ProductID: "item-1", Position: 1}}
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := exporttest.ValidateLines(t, "amplitude", out.Bytes()); n != 3 {
		t.Errorf("%d events in %d batches, want 3", 2*amplitudeBatchEvents+1, n)
	}

	// Large events cut batches by size, before the count.
	out.Reset()
	w, _ = newAmplitude(&out)
	big := strings.Repeat("x", 100<<10)
	for range 20 {
		e := testEvent(MessageSent, 0)
		e.Text = big
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for i, line := range bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n")) {
		if len(line) > 1<<20 {
			t.Errorf("batch %d is %d bytes, over Amplitude's 1 MB", i+1, len(line))
		}
	}
}

func testEvent(name string, i int) *Event {
	return &Event{ID: strings.Repeat("a", 32), Name: name, UserID: "someone", RunID: "0123456789abcdef",
		Time: testOptions.Start.Add(time.Duration(i) * time.Millisecond), RoundStart: testOptions.Start}
}

func TestTimeChecks(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	for _, tc := range []struct {
		format      string
		first, last time.Time
		wantErr     string
	}{
		{"mixpanel", now.Add(-10 * day), now.Add(-day), ""},
		{"mixpanel", now.Add(-day), now.Add(59 * time.Minute), ""},
		{"mixpanel", now.Add(-day), now.Add(2 * time.Hour), "Mixpanel /import refuses events after 2026-12-03T13:00:00Z"},
		{"mixpanel", time.Date(1970, 6, 1, 0, 0, 0, 0, time.UTC), now, "refuses events before 1971-01-01"},
		{"amplitude", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), now, ""},
		{"amplitude", time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC), now, "Amplitude refuses events before 2000-01-01"},
		{"amplitude", now.Add(-day), now.Add(time.Minute), "choose an earlier --start"},
	} {
		f, err := Lookup(tc.format)
		if err != nil {
			t.Fatal(err)
		}
		err = f.CheckTimes(tc.first, tc.last, now)
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s %s..%s: %v, want %q", tc.format, tc.first, tc.last, err, tc.wantErr)
		}
	}
	if _, err := Lookup("csv"); err == nil || !strings.Contains(err.Error(), "known: amplitude, mixpanel, parquet, segment") {
		t.Errorf("unknown format: %v", err)
	}
}

// The example in docs/export.md is a line the export writes.
func TestDocsExampleIsValid(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "export.md"))
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile(filepath.Join("testdata", "segment.golden"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if bytes.HasPrefix(line, []byte(`{"type":"track"`)) {
			n++
			exporttest.ValidateLines(t, "segment", append(line, '\n'))
			if !bytes.Contains(golden, line) {
				t.Errorf("docs/export.md shows a line the export does not write:\n%s", line)
			}
		}
	}
	if n == 0 {
		t.Error("docs/export.md shows no Segment line")
	}
}
