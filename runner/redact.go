package runner

import (
	"os"

	"github.com/recloop/recloop/internal/redact"
)

// outputFile is a streamed run file (trajectories, verdicts) that masks the
// values of the environment's secrets in everything written to it: the
// last line of defence, whatever the scenario or a service put in an event.
type outputFile struct {
	f *os.File
	w *redact.Writer
}

func createOutput(path string) (*outputFile, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &outputFile{f: f, w: redact.FromEnviron().Writer(f)}, nil
}

func (o *outputFile) Write(p []byte) (int, error) { return o.w.Write(p) }

// Close writes what the redactor holds back and closes the file.
func (o *outputFile) Close() error {
	err := o.w.Close()
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	return err
}
