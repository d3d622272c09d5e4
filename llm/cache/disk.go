package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const (
	entryExt   = ".json"
	tempPrefix = ".tmp-"
	// A temp file younger than this may belong to a writer that is about to
	// rename it, so Prune leaves it alone unless asked for a shorter age.
	tempGrace = 10 * time.Minute
)

func entryPath(dir, key string) string {
	return filepath.Join(dir, key[:2], key+entryExt)
}

// writeFileAtomic puts data at path via a temp file in the same directory,
// so readers see either the old file or the new one. It reports the size of
// the file it replaced, if any.
func writeFileAtomic(path string, data []byte) (replaced int64, existed bool, err error) {
	shard := filepath.Dir(path)
	if err := os.MkdirAll(shard, 0o755); err != nil {
		return 0, false, fmt.Errorf("cache: %w", err)
	}
	f, err := os.CreateTemp(shard, tempPrefix+filepath.Base(path)+"-*")
	if err != nil {
		return 0, false, fmt.Errorf("cache: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	_, err = f.Write(data)
	if err == nil {
		// Without the sync a crash after the rename could leave an empty file.
		err = f.Sync()
	}
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, false, fmt.Errorf("cache: write %s: %w", tmp, err)
	}
	if info, serr := os.Stat(path); serr == nil {
		replaced, existed = info.Size(), true
	}
	if err = os.Rename(tmp, path); err != nil {
		return 0, false, fmt.Errorf("cache: %w", err)
	}
	return replaced, existed, nil
}

type fileKind int

const (
	kindEntry fileKind = iota
	kindTemp
)

// walk visits every entry and temp file under dir, shard by shard in name
// order. Files that are neither are left alone: the directory may be shared.
// A missing dir is an empty cache.
func walk(dir string, visit func(path string, kind fileKind, info fs.FileInfo) error) error {
	shards, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	for _, shard := range shards {
		name := shard.Name()
		if !shard.IsDir() || len(name) != 2 || !isLowerHex(name[0]) || !isLowerHex(name[1]) {
			continue
		}
		shardDir := filepath.Join(dir, name)
		files, err := os.ReadDir(shardDir)
		if err != nil {
			return fmt.Errorf("cache: %w", err)
		}
		for _, file := range files {
			kind, ok := classify(name, file)
			if !ok {
				continue
			}
			info, err := file.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed by a concurrent Prune or rename
			}
			if err != nil {
				return fmt.Errorf("cache: %w", err)
			}
			if err := visit(filepath.Join(shardDir, file.Name()), kind, info); err != nil {
				return err
			}
		}
	}
	return nil
}

func classify(shard string, file fs.DirEntry) (fileKind, bool) {
	if !file.Type().IsRegular() {
		return 0, false
	}
	name := file.Name()
	if strings.HasPrefix(name, tempPrefix) {
		return kindTemp, true
	}
	key, ok := strings.CutSuffix(name, entryExt)
	if !ok || validateKey(key) != nil || key[:2] != shard {
		return 0, false
	}
	return kindEntry, true
}

// Scan counts the entries under dir and their bytes on disk. Hits, Misses,
// Writes and Errors are zero: they belong to a process, not a directory.
func Scan(dir string) (Stats, error) {
	var s Stats
	err := walk(dir, func(_ string, kind fileKind, info fs.FileInfo) error {
		if kind == kindEntry {
			s.Entries++
			s.Bytes += info.Size()
		}
		return nil
	})
	return s, err
}

// Prune removes entries whose file was last modified more than olderThan
// before now, and temp files left behind by interrupted writes (those older
// than olderThan or ten minutes, whichever is shorter).
func Prune(dir string, olderThan time.Duration, now time.Time) (removed int, freed int64, err error) {
	if olderThan < 0 {
		return 0, 0, fmt.Errorf("cache: prune age %v is negative", olderThan)
	}
	entryCutoff := now.Add(-olderThan)
	tempCutoff := now.Add(-min(olderThan, tempGrace))
	err = walk(dir, func(path string, kind fileKind, info fs.FileInfo) error {
		cutoff := entryCutoff
		if kind == kindTemp {
			cutoff = tempCutoff
		}
		if !info.ModTime().Before(cutoff) {
			return nil
		}
		if err := os.Remove(path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return fmt.Errorf("cache: %w", err)
		}
		removed++
		freed += info.Size()
		return nil
	})
	return removed, freed, err
}
