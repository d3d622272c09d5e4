package config

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// The limits every input is held to, in one place (docs/scenarios.md lists
// them). validate checks them before anything is allocated, so a scenario
// validate accepts does not then fail the run, or exhaust memory, for its
// size.
const (
	// MaxPersonas bounds the personas of a scenario: files, inline
	// personas and every population's count added up.
	MaxPersonas = 100_000
	// MaxPlays bounds personas × replicates × variants: the persona
	// states a run keeps.
	MaxPlays = 1_000_000
	// MaxCompositionDepth bounds how many wrappers a recommender name
	// nests, as in mmr(explore(itemknn)).
	MaxCompositionDepth = 16
	// MaxMagnitude bounds the absolute value of every number with a
	// fraction in a configuration file, so that sums and products of them
	// stay finite.
	MaxMagnitude = 1e12
	// MaxYAMLBytes bounds a YAML or JSON configuration file (scenario,
	// personas, rubric, behaviour file).
	MaxYAMLBytes = 64 << 20
	// MaxDataBytes bounds a data file (catalog, interactions, MovieLens).
	MaxDataBytes = 4 << 30
)

// ErrNotRegular is returned for an input that is not a regular file (a
// directory, a device such as /dev/zero, a FIFO).
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is returned for an input larger than its limit.
var ErrTooLarge = errors.New("file too large")

// OpenFile opens path for reading if it is a regular file of at most limit
// bytes. It looks before it opens, so that a FIFO does not block.
func OpenFile(path string, limit int64) (*os.File, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := checkInfo(path, info, limit); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if info, err = f.Stat(); err == nil {
		err = checkInfo(path, info, limit)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func checkInfo(path string, info os.FileInfo, limit int64) error {
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s: %w", path, ErrNotRegular)
	}
	if info.Size() > limit {
		return fmt.Errorf("%s: %w (%d bytes; the limit is %d)", path, ErrTooLarge, info.Size(), limit)
	}
	return nil
}

// ReadFile reads a regular file of at most limit bytes (see OpenFile).
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := OpenFile(path, limit)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: %w (the limit is %d bytes)", path, ErrTooLarge, limit)
	}
	return data, nil
}

// finite reports whether x is a number a configuration may hold: finite and
// within MaxMagnitude.
func finite(x float64) bool {
	return !math.IsNaN(x) && !math.IsInf(x, 0) && math.Abs(x) <= MaxMagnitude
}
