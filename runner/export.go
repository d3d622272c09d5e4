package runner

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/recloop/recloop/reports/export"
	"github.com/recloop/recloop/scenarios"
	"github.com/recloop/recloop/trajectory"
)

// DefaultRoundEvery is the time between two rounds in an export: a round
// is a day of visits.
const DefaultRoundEvery = 24 * time.Hour

// exportDir is where an export goes by default, inside the run directory.
const exportDir = "export"

// ExportOptions say how a run is exported to an analytics tool.
type ExportOptions struct {
	// Format is a registered export format (export.Names).
	Format string
	// Out is the file to write (default: <run-dir>/export/<format><ext>).
	Out string
	// Start is the time of round 0 (zero: the run's last round falls on
	// the day before its trajectories were written, so every event is in
	// the past).
	Start time.Time
	// RoundEvery is the time between rounds (zero: DefaultRoundEvery).
	RoundEvery time.Duration
	// Now is the clock the format's time rules are judged by (nil: time.Now).
	Now func() time.Time
}

// Export writes a run's events in an analytics tool's format and returns
// the path it wrote. It refuses, before writing anything, what the tool
// would reject or misread: a shard, a partial run, times out of the
// tool's range. The output appears whole or not at all.
func Export(ctx context.Context, path string, opts ExportOptions) (string, error) {
	format, err := export.Lookup(opts.Format)
	if err != nil {
		return "", WithExitCode(ExitInvalid, err)
	}
	dir := RunDir{Path: path}
	rec, err := dir.ReadRecord()
	if err != nil {
		return "", err
	}
	if rec.Shard != nil {
		return "", WithExitCode(ExitInvalid, fmt.Errorf("%s holds shard %d/%d of a run; merge the shards first (recloop merge), then export the merged run", path, rec.Shard.Index, rec.Shard.Count))
	}
	run, written, err := readRunInfo(dir)
	if err != nil {
		return "", err
	}
	if err := checkComplete(dir); err != nil {
		return "", err
	}
	if opts.RoundEvery == 0 {
		opts.RoundEvery = DefaultRoundEvery
	}
	if opts.RoundEvery < 0 {
		return "", WithExitCode(ExitInvalid, fmt.Errorf("the time between rounds must be positive, not %s", opts.RoundEvery))
	}
	span := time.Duration(run.Rounds) * opts.RoundEvery
	if opts.Start.IsZero() {
		opts.Start = DefaultExportStart(written, span)
	}
	if err := checkExportTimes(format, opts, opts.Start, opts.Start.Add(span)); err != nil {
		return "", WithExitCode(ExitInvalid, err)
	}
	out := opts.Out
	if out == "" {
		out = filepath.Join(dir.Path, exportDir, format.Name+format.Ext)
	}
	if sameDir(filepath.Dir(out), dir.Path) {
		// Among the run's own files an export could replace one of them.
		return "", WithExitCode(ExitInvalid, fmt.Errorf("--out %s is inside the run directory; write to %s or elsewhere", out, filepath.Join(dir.Path, exportDir)))
	}
	conv := export.Options{Start: opts.Start, RoundEvery: opts.RoundEvery, Item: catalogItems(ctx, rec.Scenario, run.Items)}
	convert := func(fw export.Writer) error {
		in, err := dir.openTrajectories()
		if err != nil {
			return err
		}
		defer in.Close()
		err = export.Convert(in, conv, func(e *export.Event) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return fw.Write(e)
		})
		if cerr := fw.Close(); err == nil {
			err = cerr
		}
		return err
	}
	if format.NewDir != nil {
		err = writeExportDir(out, func(tmp string) error {
			fw, err := format.NewDir(tmp)
			if err != nil {
				return err
			}
			return convert(fw)
		})
	} else {
		err = writeExport(out, func(w io.Writer) error {
			// Formats write an event at a time: buffer the file's writes.
			bw := bufio.NewWriterSize(w, 1<<16)
			fw, err := format.New(bw)
			if err != nil {
				return err
			}
			if err := convert(fw); err != nil {
				return err
			}
			return bw.Flush()
		})
	}
	switch {
	case errors.Is(err, export.ErrPartial) || errors.Is(err, trajectory.ErrSchema):
		return "", WithExitCode(ExitInvalid, fmt.Errorf("%s: %w", path, err))
	case err != nil:
		return "", err
	}
	return out, nil
}

// DefaultExportStart is the start of an export when none is given: the
// UTC midnight of the day the trajectories were written, moved back by
// the run's span, so the last round is the day before and every event is
// in the past, where ingest APIs take it.
func DefaultExportStart(written time.Time, span time.Duration) time.Time {
	y, m, d := written.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Add(-span)
}

// checkExportTimes refuses times no format can write (RFC 3339 has four
// digits of year) and those the format's API rejects.
func checkExportTimes(format export.Format, opts ExportOptions, first, last time.Time) error {
	if first.Year() < 1 || last.Year() > 9999 {
		return fmt.Errorf("export: the run would span %d to %d; times must fall in the years 1 to 9999", first.Year(), last.Year())
	}
	if format.CheckTimes == nil {
		return nil
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	return format.CheckTimes(first, last, now())
}

// readRunInfo reads the run's first event, which says how many rounds it
// has, and when the trajectories were written.
func readRunInfo(dir RunDir) (*trajectory.RunInfo, time.Time, error) {
	st, err := os.Stat(dir.Trajectories())
	if err != nil {
		return nil, time.Time{}, WithExitCode(ExitInvalid, fmt.Errorf("%s has no trajectories to export: %w", dir.Path, err))
	}
	in, err := dir.openTrajectories()
	if err != nil {
		return nil, time.Time{}, WithExitCode(ExitInvalid, err)
	}
	defer in.Close()
	ev, err := trajectory.NewReader(in).Next()
	if err != nil {
		return nil, time.Time{}, WithExitCode(ExitInvalid, fmt.Errorf("%s: %w", dir.Trajectories(), err))
	}
	if ev.Kind != trajectory.KindRun {
		return nil, time.Time{}, WithExitCode(ExitInvalid, fmt.Errorf("%s does not start with the run's description", dir.Trajectories()))
	}
	if ev.Run.Shard != nil {
		return nil, time.Time{}, WithExitCode(ExitInvalid, fmt.Errorf("%s holds shard %d/%d of a run; merge the shards first (recloop merge)", dir.Path, ev.Run.Shard.Index, ev.Run.Shard.Count))
	}
	return ev.Run, st.ModTime(), nil
}

// checkComplete refuses a partial run before anything is written, from
// the last line of its trajectories; Convert checks again as it reads.
func checkComplete(dir RunDir) error {
	if dir.Trajectories() != dir.file(trajectoriesFile) {
		// A compressed file has no readable tail: Convert finds a missing
		// run_end as it reads, and the export's output is then discarded.
		return nil
	}
	f, err := os.Open(dir.Trajectories())
	if err != nil {
		return WithExitCode(ExitInvalid, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	const tail = 4 << 10 // a run_end line is short
	buf := make([]byte, min(st.Size(), tail))
	if _, err := f.ReadAt(buf, st.Size()-int64(len(buf))); err != nil {
		return err
	}
	buf = bytes.TrimRight(buf, "\n")
	last := buf[bytes.LastIndexByte(buf, '\n')+1:]
	var ev struct {
		Kind trajectory.Kind `json:"kind"`
	}
	if json.Unmarshal(last, &ev) != nil || ev.Kind != trajectory.KindRunEnd {
		return WithExitCode(ExitInvalid, fmt.Errorf("%s: %w", dir.Path, export.ErrPartial))
	}
	return nil
}

// openTrajectories opens the run's trajectories for reading. It stands in
// for RunDir.OpenTrajectories (compressed trajectories, issue 17), which
// should replace it when both land.
func (d RunDir) openTrajectories() (io.ReadCloser, error) {
	f, err := d.OpenTrajectories()
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{bufio.NewReaderSize(f, 1<<16), f}, nil
}

// catalogItems names and categorises items when the run's scenario still
// builds the catalog the run used (same number of items); otherwise the
// export carries item ids only.
func catalogItems(ctx context.Context, scenario string, items int) func(string) (string, string) {
	if scenario == "" {
		return nil
	}
	plan, err := scenarios.Prepare(ctx, scenario, scenarios.Options{})
	if err != nil {
		return nil
	}
	defer plan.Close()
	if plan.Catalog == nil || plan.Catalog.Len() != items {
		return nil
	}
	type named struct{ name, category string }
	byID := make(map[string]named, plan.Catalog.Len())
	for _, it := range plan.Catalog.Items() {
		n := named{name: it.Title}
		if len(it.Categories) > 0 {
			n.category = it.Categories[0]
		}
		byID[it.ID] = n
	}
	return func(id string) (string, string) {
		n := byID[id]
		return n.name, n.category
	}
}

// writeExport writes out through a temporary file renamed when complete;
// a directory it had to create for the file goes again when the export
// fails, so a failed export leaves the run directory as it found it. Text
// passes through the redaction of the environment's secrets, as every run
// file does.
// writeExportDir writes a format that is a directory of files into a
// temporary directory beside out and renames it into place when it is
// whole. An existing out is replaced only when it holds nothing but an
// earlier export's files (*.parquet), so --out never empties a directory
// of something else.
func writeExportDir(out string, write func(dir string) error) (err error) {
	undo := parentCleanup(out)
	defer func() {
		if err != nil {
			undo()
		}
	}()
	parent := filepath.Dir(out)
	if err := replaceable(out); err != nil {
		return err
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(out)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := write(tmp); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}

// replaceable refuses an out that exists and holds anything but an
// earlier export's tables.
func replaceable(out string) error {
	entries, err := os.ReadDir(out)
	switch {
	case os.IsNotExist(err):
		return nil
	case err != nil:
		return WithExitCode(ExitInvalid, fmt.Errorf("--out %s: %w", out, err))
	}
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != ".parquet" {
			return WithExitCode(ExitInvalid, fmt.Errorf("--out %s holds %s, which no export wrote; name a new or empty directory", out, e.Name()))
		}
	}
	return nil
}

// writeExport writes a one-file format atomically, through the redaction
// of secrets every run file gets.
func writeExport(out string, write func(io.Writer) error) (err error) {
	undo := parentCleanup(out)
	defer func() {
		if err != nil {
			undo()
		}
	}()
	return WriteFileAtomic(out, write)
}

// parentCleanup is what a failed export does about out's parent: removes
// it when the export had to create it (it is empty then: nothing was
// renamed into it), and nothing otherwise.
func parentCleanup(out string) func() {
	parent := filepath.Dir(out)
	if _, err := os.Stat(parent); os.IsNotExist(err) {
		return func() { os.Remove(parent) }
	}
	return func() {}
}
