package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/recloop/recloop/internal/redact"
	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/reports"
	"github.com/recloop/recloop/trajectory"
)

// The files of a run directory. Only RunDir names them.
const (
	recordFile       = "run.json"
	resultsFile      = "results.json"
	trajectoriesFile = "trajectories.jsonl"
	verdictsFile     = "verdicts.jsonl"
	junitFile        = "junit.xml"
	summaryFile      = "summary.md"
	reportFile       = "report.html"
	// FidelityFile is what recloop fidelity writes; a report rendered from a
	// directory that holds one gains a fidelity section.
	FidelityFile = "fidelity.json"
)

// RunDir is a run directory: it owns the layout, so that nothing else
// spells a file name.
type RunDir struct{ Path string }

func (d RunDir) file(name string) string { return filepath.Join(d.Path, name) }

// Results is the path of results.json.
func (d RunDir) Results() string { return d.file(resultsFile) }

// Trajectories is the path of the run's trajectories as they were written:
// trajectories.jsonl, or with .gz or .zst when compressed.
func (d RunDir) Trajectories() string { return trajectory.Find(d.file(trajectoriesFile)) }

// Verdicts is the path of the run's verdicts, compressed or not.
func (d RunDir) Verdicts() string { return trajectory.Find(d.file(verdictsFile)) }

// OpenTrajectories opens the trajectories for reading, decompressed.
func (d RunDir) OpenTrajectories() (io.ReadCloser, error) { return trajectory.Open(d.Trajectories()) }

// createTrajectories and createVerdicts create the event files, compressed
// as compression says.
func (d RunDir) createTrajectories(compression string) (*outputFile, error) {
	return createEvents(d.file(trajectoriesFile), compression)
}

func (d RunDir) createVerdicts(compression string) (*outputFile, error) {
	return createEvents(d.file(verdictsFile), compression)
}

// Report is the path of report.html.
func (d RunDir) Report() string { return d.file(reportFile) }

// Fidelity is the path of fidelity.json.
func (d RunDir) Fidelity() string { return d.file(FidelityFile) }

// Create makes the directory.
func (d RunDir) Create() error {
	if err := os.MkdirAll(d.Path, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	return nil
}

// Record is what a run directory remembers besides its events: the scenario
// that made it, so the run can be judged or reported again, and the
// accounting that lives in clients rather than in events, so that a re-judge
// or a merge reports what the simulation spent.
type Record struct {
	Scenario string `json:"scenario"`
	// Baseline is the results.json the run was compared with (--baseline).
	Baseline string `json:"baseline,omitempty"`
	// Shard is set in a shard's directory; Worlds counts the run's worlds.
	Shard  *trajectory.Shard `json:"shard,omitempty"`
	Worlds int               `json:"worlds,omitempty"`
	Accounting
}

// WriteRecord writes run.json atomically.
func (d RunDir) WriteRecord(rec Record) error {
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return d.WriteFile(recordFile, func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	})
}

// ReadRecord reads run.json.
func (d RunDir) ReadRecord() (Record, error) {
	var rec Record
	data, err := os.ReadFile(d.file(recordFile))
	if err != nil {
		return rec, WithExitCode(ExitInvalid, fmt.Errorf("%s is not a recloop run directory: %w", d.Path, err))
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return rec, fmt.Errorf("%s: %w", d.file(recordFile), err)
	}
	return rec, nil
}

// ReadResults reads the run's results.json.
func (d RunDir) ReadResults() (*metrics.Results, error) {
	if _, err := os.Stat(d.Results()); err != nil {
		return nil, WithExitCode(ExitInvalid, fmt.Errorf("%s is not a recloop run directory: %w", d.Path, err))
	}
	return ReadResults(d.Results())
}

// ReadResults reads a results.json file.
func ReadResults(path string) (*metrics.Results, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, WithExitCode(ExitInvalid, err)
	}
	defer f.Close()
	r, err := reports.ReadJSON(f)
	if err != nil {
		return nil, WithExitCode(ExitInvalid, fmt.Errorf("%s: %w", path, err))
	}
	return r, nil
}

// HTMLOptions opens the run's trajectories, verdicts and fidelity report
// for the HTML report, each only if it is there.
func (d RunDir) HTMLOptions() reports.HTMLOptions {
	var o reports.HTMLOptions
	if p := d.Trajectories(); isFile(p) {
		o.Trajectories = opener(p)
	}
	if p := d.Verdicts(); isFile(p) {
		o.Verdicts = opener(p)
	}
	if p := d.Fidelity(); isFile(p) {
		o.Fidelity = opener(p)
	}
	return o
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

func opener(path string) reports.Opener {
	return func() (io.ReadCloser, error) { return trajectory.Open(path) }
}

// writeOutputs writes results.json, report.html and, for a run with gates
// or comparisons, junit.xml and summary.md.
func (d RunDir) writeOutputs(results *metrics.Results, html bool, titles func(string) string, logger *slog.Logger) error {
	if err := d.WriteFile(resultsFile, func(w io.Writer) error { return reports.WriteJSON(w, results) }); err != nil {
		return err
	}
	if len(results.Gates) > 0 || len(results.Comparisons) > 0 {
		if err := d.WriteFile(junitFile, func(w io.Writer) error { return reports.JUnit(w, results) }); err != nil {
			return err
		}
		if err := d.WriteFile(summaryFile, func(w io.Writer) error { return reports.Summary(w, results) }); err != nil {
			return err
		}
	}
	if !html {
		return nil
	}
	opts := d.HTMLOptions()
	opts.Titles, opts.Logger = titles, logger
	return d.WriteFile(reportFile, func(w io.Writer) error { return reports.WriteHTML(w, results, opts) })
}

// WriteFile writes one of the run's files through a temporary file, so a
// reader never sees half a file.
func (d RunDir) WriteFile(name string, write func(io.Writer) error) error {
	return WriteFileAtomic(d.file(name), write)
}

// WriteFileAtomic writes path through a temporary file in its directory,
// creating the directory first.
func WriteFileAtomic(path string, write func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	err = tmp.Chmod(0o644)
	if err == nil {
		// The last line of defence: no run file holds a secret's value.
		rw := redact.FromEnviron().Writer(tmp)
		if err = write(rw); err == nil {
			err = rw.Close()
		}
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// sameDir reports whether two paths name one directory.
func sameDir(a, b string) bool {
	x, err1 := filepath.Abs(a)
	y, err2 := filepath.Abs(b)
	return errors.Join(err1, err2) == nil && x == y
}
