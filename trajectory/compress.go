package trajectory

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// Compressions a run's event files may be written with.
const (
	CompressNone = "none"
	CompressGzip = "gzip"
	CompressZstd = "zstd"
)

// Compressions lists them.
var Compressions = []string{CompressNone, CompressGzip, CompressZstd}

// Suffix is what a compression adds to a file's name.
func Suffix(compression string) string {
	switch compression {
	case CompressGzip:
		return ".gz"
	case CompressZstd:
		return ".zst"
	}
	return ""
}

// Find is the event file at path as it was written: path itself, or
// path with a compression's suffix; path when none exists.
func Find(path string) string {
	for _, c := range Compressions {
		if p := path + Suffix(c); fileExists(p) {
			return p
		}
	}
	return path
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// Open opens an event file for reading, decompressing it by its name.
func Open(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	var r io.Reader
	var closeCodec func()
	switch {
	case strings.HasSuffix(path, Suffix(CompressGzip)):
		zr, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<16))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("trajectory: %s: %w", path, err)
		}
		r, closeCodec = zr, func() { zr.Close() }
	case strings.HasSuffix(path, Suffix(CompressZstd)):
		zr, err := zstd.NewReader(bufio.NewReaderSize(f, 1<<16), zstd.WithDecoderConcurrency(1))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("trajectory: %s: %w", path, err)
		}
		r, closeCodec = zr, zr.Close
	default:
		return f, nil
	}
	return &decompressed{Reader: r, f: f, close: closeCodec}, nil
}

type decompressed struct {
	io.Reader
	f     *os.File
	close func()
}

func (d *decompressed) Close() error {
	d.close()
	return d.f.Close()
}

// Compressor wraps w so that what is written to it lands compressed;
// Close ends the compressed stream but does not close w. No compression
// returns a Close that does nothing.
func Compressor(w io.Writer, compression string) (io.WriteCloser, error) {
	switch compression {
	case CompressGzip:
		return gzip.NewWriterLevel(w, gzip.DefaultCompression)
	case CompressZstd:
		// One encoder goroutine at the fastest level: the simulator's cores
		// are busier elsewhere, and event lines compress well even so.
		return zstd.NewWriter(w, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedFastest))
	case "", CompressNone:
		return nopCloser{w}, nil
	}
	return nil, fmt.Errorf("trajectory: unknown compression %q", compression)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
