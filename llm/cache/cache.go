package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/singleflight"
)

// Mode says whether the cache is read, written, or bypassed.
type Mode string

const (
	ModeReadWrite Mode = "readwrite"
	ModeReplay    Mode = "replay"
	ModeOff       Mode = "off"
)

// ErrMiss: replay mode and the key is not in the cache.
var ErrMiss = errors.New("cache: miss")

// ParseMode reads a mode name; the empty string means readwrite.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case "":
		return ModeReadWrite, nil
	case ModeReadWrite, ModeReplay, ModeOff:
		return m, nil
	default:
		return "", fmt.Errorf("cache: unknown mode %q (valid: %s, %s, %s)", s, ModeReadWrite, ModeReplay, ModeOff)
	}
}

// Stats describes a cache: what this process did with it, and what is on disk.
type Stats struct {
	Hits    int64 `json:"hits"`
	Misses  int64 `json:"misses"`
	Writes  int64 `json:"writes"`
	Errors  int64 `json:"errors"`
	Entries int   `json:"entries"`
	Bytes   int64 `json:"bytes"`
}

// Cache is safe for concurrent use.
type Cache struct {
	dir    string
	mode   Mode
	flight singleflight.Group

	hits, misses, writes, errs atomic.Int64

	diskMu  sync.Mutex
	entries int
	bytes   int64

	log *slog.Logger
}

// Option adjusts a Cache.
type Option func(*Cache)

// WithLogger sets where warnings about unreadable entries and failed
// writes go (by default nowhere: the cache goes on without them).
func WithLogger(l *slog.Logger) Option {
	return func(c *Cache) {
		if l != nil {
			c.log = l
		}
	}
}

// Open opens the cache in dir. The directory is created by the first write,
// so validating or dry-running a scenario leaves nothing on disk.
func Open(dir string, mode Mode, opts ...Option) (*Cache, error) {
	mode, err := ParseMode(string(mode))
	if err != nil {
		return nil, err
	}
	c := &Cache{dir: dir, mode: mode, log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(c)
	}
	if mode == ModeOff {
		return c, nil
	}
	if dir == "" {
		return nil, errors.New("cache: no directory")
	}
	s, err := Scan(dir)
	if err != nil {
		return nil, err
	}
	c.entries, c.bytes = s.Entries, s.Bytes
	return c, nil
}

// Mode reports the mode the cache was opened with.
func (c *Cache) Mode() Mode { return c.mode }

// Dir reports the directory the cache was opened on.
func (c *Cache) Dir() string { return c.dir }

type result struct {
	value []byte
	hit   bool
}

// Do returns the value stored under key, or calls fill, stores what it
// returns (only when err is nil) and returns it. Concurrent calls with the
// same key share one fill; the fill runs with the context of the call that
// started it. In replay mode a miss is an error wrapping ErrMiss and fill is
// not called; in off mode fill is always called and nothing is stored. hit
// reports whether the value was read from disk.
func (c *Cache) Do(ctx context.Context, key, describe string, fill func(context.Context) ([]byte, error)) (value []byte, hit bool, err error) {
	if err := validateKey(key); err != nil {
		return nil, false, err
	}
	if c.mode == ModeOff {
		v, err := fill(ctx)
		return v, false, err
	}
	if v, err := c.read(key); err == nil {
		c.hits.Add(1)
		return v, true, nil
	}
	ch := c.flight.DoChan(key, func() (any, error) {
		return c.lookupOrFill(ctx, key, describe, fill)
	})
	select {
	case <-ctx.Done():
		return nil, false, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return nil, false, r.Err
		}
		res := r.Val.(result)
		if res.hit {
			c.hits.Add(1)
		}
		if r.Shared {
			// Every caller may keep and modify its own answer.
			return bytes.Clone(res.value), res.hit, nil
		}
		return res.value, res.hit, nil
	}
}

// lookupOrFill runs once per key in flight. It looks again because another
// flight may have stored the key since this caller's first read.
func (c *Cache) lookupOrFill(ctx context.Context, key, describe string, fill func(context.Context) ([]byte, error)) (result, error) {
	v, err := c.read(key)
	switch {
	case err == nil:
		return result{value: v, hit: true}, nil
	case errors.Is(err, errCorrupt):
		c.errs.Add(1)
		c.log.Warn("llm cache: corrupt entry, treating as a miss", "key", key, "err", err)
	case !errors.Is(err, fs.ErrNotExist):
		c.errs.Add(1)
		c.log.Warn("llm cache: unreadable entry, treating as a miss", "key", key, "err", err)
	}
	c.misses.Add(1)
	if c.mode == ModeReplay {
		return result{}, fmt.Errorf("%w: %s (key %s)", ErrMiss, describe, key[:12])
	}
	v, err = fill(ctx)
	if err != nil {
		return result{}, err
	}
	if err := c.write(key, describe, v); err != nil {
		// The answer is good and may have cost money; losing it from the
		// cache only costs a repeat call next time.
		c.errs.Add(1)
		c.log.Warn("llm cache: cannot store answer", "key", key, "err", err)
	}
	return result{value: v}, nil
}

func (c *Cache) read(key string) ([]byte, error) {
	data, err := os.ReadFile(entryPath(c.dir, key))
	if err != nil {
		return nil, err
	}
	return decodeEntry(key, data)
}

func (c *Cache) write(key, describe string, value []byte) error {
	data, err := encodeEntry(key, describe, value)
	if err != nil {
		return err
	}
	replaced, existed, err := writeFileAtomic(entryPath(c.dir, key), data)
	if err != nil {
		return err
	}
	c.writes.Add(1)
	c.diskMu.Lock()
	defer c.diskMu.Unlock()
	if existed {
		c.bytes -= replaced
	} else {
		c.entries++
	}
	c.bytes += int64(len(data))
	return nil
}

// Stats reports this process's hits, misses, writes and errors, and the
// entries and bytes on disk as counted at Open plus this process's writes.
func (c *Cache) Stats() Stats {
	c.diskMu.Lock()
	entries, size := c.entries, c.bytes
	c.diskMu.Unlock()
	return Stats{
		Hits:    c.hits.Load(),
		Misses:  c.misses.Load(),
		Writes:  c.writes.Load(),
		Errors:  c.errs.Load(),
		Entries: entries,
		Bytes:   size,
	}
}
