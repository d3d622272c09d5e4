package runner

import (
	"io"
	"os"

	"github.com/recloop/recloop/internal/redact"
	"github.com/recloop/recloop/trajectory"
)

// outputFile is a streamed run file (trajectories, verdicts) that masks the
// values of the environment's secrets in everything written to it: the
// last line of defence, whatever the scenario or a service put in an event.
type outputFile struct {
	f      *os.File
	z      io.WriteCloser // the compressor, between the redactor and the file
	w      *redact.Writer
	closed bool
}

// createEvents creates an event file, compressed as the scenario says
// (path gains the compression's suffix). Secrets are redacted before the
// text is compressed. The file's other forms are removed, so that a reader
// never finds an older run's events beside this one's.
func createEvents(path, compression string) (*outputFile, error) {
	for _, c := range trajectory.Compressions {
		if c != compression {
			if err := os.Remove(path + trajectory.Suffix(c)); err != nil && !os.IsNotExist(err) {
				return nil, err
			}
		}
	}
	f, err := os.Create(path + trajectory.Suffix(compression))
	if err != nil {
		return nil, err
	}
	z, err := trajectory.Compressor(f, compression)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &outputFile{f: f, z: z, w: redact.FromEnviron().Writer(z)}, nil
}

func (o *outputFile) Write(p []byte) (int, error) { return o.w.Write(p) }

// Close writes what the redactor holds back, ends the compressed stream
// and closes the file. It is idempotent.
func (o *outputFile) Close() error {
	if o.closed {
		return nil
	}
	o.closed = true
	err := o.w.Close()
	if cerr := o.z.Close(); err == nil {
		err = cerr
	}
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	return err
}
