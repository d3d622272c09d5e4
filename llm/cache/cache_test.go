package cache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func keyOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// counter is a fill that returns value and counts its calls.
type counter struct {
	calls atomic.Int64
	value []byte
	err   error
}

func (f *counter) fill(context.Context) ([]byte, error) {
	f.calls.Add(1)
	return f.value, f.err
}

func open(t *testing.T, dir string, mode Mode) *Cache {
	t.Helper()
	c, err := Open(dir, mode)
	if err != nil {
		t.Fatalf("Open(%q, %q): %v", dir, mode, err)
	}
	return c
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}

func TestParseMode(t *testing.T) {
	tests := []struct {
		in      string
		want    Mode
		wantErr bool
	}{
		{"", ModeReadWrite, false},
		{"readwrite", ModeReadWrite, false},
		{"replay", ModeReplay, false},
		{"off", ModeOff, false},
		{"Replay", "", true},
		{"read-write", "", true},
		{"record", "", true},
	}
	for _, tt := range tests {
		got, err := ParseMode(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseMode(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil {
			for _, valid := range []string{"readwrite", "replay", "off"} {
				if !strings.Contains(err.Error(), valid) {
					t.Errorf("ParseMode(%q) error %q does not name %q", tt.in, err, valid)
				}
			}
		}
	}
}

func TestOpenRejectsUnknownMode(t *testing.T) {
	if _, err := Open(t.TempDir(), "sometimes"); err == nil {
		t.Fatal("Open with mode sometimes: want error")
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		value []byte
	}{
		{"json", []byte(`{"clicked":[3,7],"why":"I like <jazz> & blues"}`)},
		{"text with newlines", []byte("line one\nline two\n\ttabbed \"quoted\"")},
		{"empty", []byte{}},
		{"not utf-8", []byte{0xff, 0xfe, 0x00, 'a', 0x80}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			c := open(t, dir, ModeReadWrite)
			key := keyOf(tt.name)
			f := &counter{value: tt.value}

			got, hit, err := c.Do(t.Context(), key, "persona p1 step 0", f.fill)
			if err != nil || hit || !bytes.Equal(got, tt.value) {
				t.Fatalf("first Do = %q, hit %v, %v; want %q, miss", got, hit, err, tt.value)
			}
			got, hit, err = c.Do(t.Context(), key, "persona p1 step 0", f.fill)
			if err != nil || !hit || !bytes.Equal(got, tt.value) {
				t.Fatalf("second Do = %q, hit %v, %v; want %q, hit", got, hit, err, tt.value)
			}
			if n := f.calls.Load(); n != 1 {
				t.Errorf("fill called %d times, want 1", n)
			}
			path := entryPath(dir, key)
			want := Stats{Hits: 1, Misses: 1, Writes: 1, Entries: 1, Bytes: fileSize(t, path)}
			if s := c.Stats(); s != want {
				t.Errorf("Stats = %+v, want %+v", s, want)
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if perm := info.Mode().Perm(); perm != 0o644 {
				t.Errorf("entry mode %v, want 0644", perm)
			}
		})
	}
}

func TestEntryHoldsOnlyWhatCallerPassed(t *testing.T) {
	dir := t.TempDir()
	c := open(t, dir, ModeReadWrite)
	key := keyOf("layout")
	if _, _, err := c.Do(t.Context(), key, "judge run 1", (&counter{value: []byte(`{"ok":true}`)}).fill); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, key[:2], key+".json"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"v":1,"key":"` + key + `","describe":"judge run 1","value":"{\"ok\":true}"}` + "\n"
	if string(data) != want {
		t.Errorf("entry file:\n%s\nwant:\n%s", data, want)
	}
}

func TestPersistenceAcrossOpen(t *testing.T) {
	dir := t.TempDir()
	key := keyOf("persist")
	value := []byte(`{"rating":4}`)
	first := open(t, dir, ModeReadWrite)
	if _, _, err := first.Do(t.Context(), key, "p", (&counter{value: value}).fill); err != nil {
		t.Fatal(err)
	}

	for _, mode := range []Mode{ModeReadWrite, ModeReplay} {
		c := open(t, dir, mode)
		want := Stats{Entries: 1, Bytes: fileSize(t, entryPath(dir, key))}
		if s := c.Stats(); s != want {
			t.Errorf("%s: Stats after Open = %+v, want %+v", mode, s, want)
		}
		f := &counter{value: []byte("other")}
		got, hit, err := c.Do(t.Context(), key, "p", f.fill)
		if err != nil || !hit || !bytes.Equal(got, value) {
			t.Errorf("%s: Do = %q, hit %v, %v; want %q, hit", mode, got, hit, err, value)
		}
		if n := f.calls.Load(); n != 0 {
			t.Errorf("%s: fill called %d times on a hit", mode, n)
		}
	}
}

func TestReplayMiss(t *testing.T) {
	dir := t.TempDir()
	c := open(t, dir, ModeReplay)
	key := "0123456789abcdef0123"
	f := &counter{value: []byte("never")}

	got, hit, err := c.Do(t.Context(), key, "persona p7 step 3", f.fill)
	if !errors.Is(err, ErrMiss) {
		t.Fatalf("Do error = %v, want ErrMiss", err)
	}
	if want := "cache: miss: persona p7 step 3 (key 0123456789ab)"; err.Error() != want {
		t.Errorf("error text %q, want %q", err, want)
	}
	if got != nil || hit {
		t.Errorf("Do = %q, hit %v; want nil, miss", got, hit)
	}
	if n := f.calls.Load(); n != 0 {
		t.Errorf("fill called %d times in replay mode", n)
	}
	if s, _ := Scan(dir); s.Entries != 0 {
		t.Errorf("replay miss wrote %d entries", s.Entries)
	}
	if s := c.Stats(); s.Misses != 1 || s.Writes != 0 {
		t.Errorf("Stats = %+v, want 1 miss, 0 writes", s)
	}
}

func TestOffModeNeverWrites(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	c := open(t, dir, ModeOff)
	f := &counter{value: []byte("fresh")}
	key := keyOf("off")
	for i := range 3 {
		got, hit, err := c.Do(t.Context(), key, "p", f.fill)
		if err != nil || hit || string(got) != "fresh" {
			t.Fatalf("call %d: Do = %q, hit %v, %v", i, got, hit, err)
		}
	}
	if n := f.calls.Load(); n != 3 {
		t.Errorf("fill called %d times, want 3", n)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("off mode created %s (stat error %v)", dir, err)
	}
}

func TestErrorsAreNotCached(t *testing.T) {
	dir := t.TempDir()
	c := open(t, dir, ModeReadWrite)
	key := keyOf("flaky")
	boom := errors.New("endpoint down")
	f := &counter{err: boom}

	if _, _, err := c.Do(t.Context(), key, "p", f.fill); !errors.Is(err, boom) {
		t.Fatalf("Do error = %v, want %v", err, boom)
	}
	if s, _ := Scan(dir); s.Entries != 0 {
		t.Fatalf("failed fill stored %d entries", s.Entries)
	}
	f.err, f.value = nil, []byte("recovered")
	got, hit, err := c.Do(t.Context(), key, "p", f.fill)
	if err != nil || hit || string(got) != "recovered" {
		t.Fatalf("Do after failure = %q, hit %v, %v", got, hit, err)
	}
	if n := f.calls.Load(); n != 2 {
		t.Errorf("fill called %d times, want 2", n)
	}
}

func TestSingleFlightSameKey(t *testing.T) {
	const callers = 64
	c := open(t, t.TempDir(), ModeReadWrite)
	key := keyOf("shared")
	var calls atomic.Int64
	var ready, done sync.WaitGroup
	ready.Add(callers)
	start := make(chan struct{})
	fill := func(context.Context) ([]byte, error) {
		calls.Add(1)
		// Hold the fill until every caller has at least reached Do, so any
		// caller that missed the flight would call fill a second time.
		ready.Wait()
		return []byte("answer"), nil
	}
	results := make([][]byte, callers)
	errs := make([]error, callers)
	for i := range callers {
		done.Go(func() {
			<-start
			ready.Done()
			results[i], _, errs[i] = c.Do(t.Context(), key, "p", fill)
		})
	}
	close(start)
	done.Wait()

	if n := calls.Load(); n != 1 {
		t.Errorf("fill called %d times, want 1", n)
	}
	for i := range callers {
		if errs[i] != nil || string(results[i]) != "answer" {
			t.Errorf("caller %d: %q, %v", i, results[i], errs[i])
		}
	}
	// Callers share no backing array: one caller's edit is not another's.
	results[0][0] = 'X'
	if results[1][0] != 'a' {
		t.Error("callers share one value slice")
	}
	if s := c.Stats(); s.Writes != 1 || s.Misses != 1 || s.Entries != 1 {
		t.Errorf("Stats = %+v, want 1 write, 1 miss, 1 entry", s)
	}
}

func TestConcurrentDistinctKeys(t *testing.T) {
	const n = 64
	dir := t.TempDir()
	c := open(t, dir, ModeReadWrite)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			want := fmt.Sprintf("value %d", i)
			for range 2 {
				got, _, err := c.Do(t.Context(), keyOf(want), want, func(context.Context) ([]byte, error) {
					return []byte(want), nil
				})
				if err == nil && string(got) != want {
					err = fmt.Errorf("got %q, want %q", got, want)
				}
				if err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("key %d: %v", i, err)
		}
	}
	scanned, err := Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Stats()
	if s.Hits != n || s.Misses != n || s.Writes != n || s.Entries != n || s.Bytes != scanned.Bytes || scanned.Entries != n {
		t.Errorf("Stats = %+v, Scan = %+v; want %d hits, misses, writes and entries", s, scanned, n)
	}
}

func TestCorruptEntryIsMissAndOverwritten(t *testing.T) {
	key := keyOf("corrupt")
	other := keyOf("other")
	tests := []struct {
		name string
		data string
	}{
		{"garbage", "not json at all"},
		{"empty file", ""},
		{"truncated", `{"v":1,"key":"` + key + `","describe":"p","val`},
		{"other key", `{"v":1,"key":"` + other + `","describe":"p","value":"x"}`},
		{"future version", `{"v":2,"key":"` + key + `","describe":"p","value":"x"}`},
		{"no value", `{"v":1,"key":"` + key + `","describe":"p"}`},
		{"bad base64", `{"v":1,"key":"` + key + `","describe":"p","value":"@@","encoding":"base64"}`},
		{"unknown encoding", `{"v":1,"key":"` + key + `","describe":"p","value":"x","encoding":"rot13"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := entryPath(dir, key)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(tt.data), 0o644); err != nil {
				t.Fatal(err)
			}
			var logged bytes.Buffer
			c, err := Open(dir, ModeReadWrite, WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
			if err != nil {
				t.Fatal(err)
			}
			f := &counter{value: []byte("fixed")}
			got, hit, err := c.Do(t.Context(), key, "p", f.fill)
			if err != nil || hit || string(got) != "fixed" || f.calls.Load() != 1 {
				t.Fatalf("Do = %q, hit %v, %v, %d fills; want fresh fill", got, hit, err, f.calls.Load())
			}
			if !strings.Contains(logged.String(), "level=WARN msg=\"llm cache: corrupt entry, treating as a miss\"") {
				t.Errorf("logged %q, want the corrupt-entry warning", logged.String())
			}
			got, hit, err = c.Do(t.Context(), key, "p", f.fill)
			if err != nil || !hit || string(got) != "fixed" {
				t.Fatalf("Do after overwrite = %q, hit %v, %v; want hit", got, hit, err)
			}
			want := Stats{Hits: 1, Misses: 1, Writes: 1, Errors: 1, Entries: 1, Bytes: fileSize(t, path)}
			if s := c.Stats(); s != want {
				t.Errorf("Stats = %+v, want %+v", s, want)
			}
		})
	}
}

func TestInvalidKeyRejected(t *testing.T) {
	c := open(t, t.TempDir(), ModeReadWrite)
	tests := []string{
		"",
		"0123456789abcde",          // 15 digits
		"0123456789ABCDEF",         // upper case
		"../../../../etc/passwd",   // path escape
		"0123456789abcdef/..",      // slash
		"0123456789abcdeg",         // not hex
		"0123456789abcdef.json",    // extension
		strings.Repeat("a", 129),   // longer than SHA-512
		" 0123456789abcdef0123456", // space
	}
	for _, key := range tests {
		f := &counter{value: []byte("x")}
		if _, _, err := c.Do(t.Context(), key, "p", f.fill); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Do(%q) error = %v, want ErrInvalidKey", key, err)
		}
		if f.calls.Load() != 0 {
			t.Errorf("Do(%q) called fill", key)
		}
	}
	if _, _, err := c.Do(t.Context(), strings.Repeat("a", 16), "p", (&counter{}).fill); err != nil {
		t.Errorf("16-digit key rejected: %v", err)
	}
}

// put stores value under key with the given mtime, bypassing Do.
func put(t testing.TB, dir, key string, value []byte, mtime time.Time) string {
	t.Helper()
	data, err := encodeEntry(key, "", value)
	if err != nil {
		t.Fatal(err)
	}
	path := entryPath(dir, key)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if !mtime.IsZero() {
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func writeAt(t *testing.T, path, data string, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func TestPrune(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	dir := t.TempDir()
	old := put(t, dir, keyOf("old"), []byte("aaaa"), now.Add(-40*day))
	edge := put(t, dir, keyOf("edge"), []byte("bb"), now.Add(-30*day)) // exactly the age: kept
	fresh := put(t, dir, keyOf("fresh"), []byte("c"), now.Add(-day))
	staleTemp := filepath.Join(dir, "ab", ".tmp-x.json-123")
	writeAt(t, staleTemp, "half", now.Add(-time.Hour))
	liveTemp := filepath.Join(dir, "ab", ".tmp-y.json-456")
	writeAt(t, liveTemp, "writing", now.Add(-time.Minute))
	foreign := filepath.Join(dir, "ab", "notes.txt")
	writeAt(t, foreign, "mine", now.Add(-400*day))
	foreignTop := filepath.Join(dir, "README")
	writeAt(t, foreignTop, "mine", now.Add(-400*day))

	// old entry + stale temp ("half", 4 bytes).
	wantFreed := fileSizeOf(old) + 4
	removed, freed, err := Prune(dir, 30*day, now)
	if err != nil {
		t.Fatal(err)
	}
	if removed != 2 || freed != wantFreed {
		t.Errorf("Prune = %d removed, %d freed; want 2, %d", removed, freed, wantFreed)
	}
	for path, wantExists := range map[string]bool{
		old: false, staleTemp: false,
		edge: true, fresh: true, liveTemp: true, foreign: true, foreignTop: true,
	} {
		_, err := os.Stat(path)
		if exists := err == nil; exists != wantExists {
			t.Errorf("%s exists = %v, want %v", path, exists, wantExists)
		}
	}
}

func fileSizeOf(path string) int64 {
	info, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return info.Size()
}

func TestPruneRejectsNegativeAge(t *testing.T) {
	if _, _, err := Prune(t.TempDir(), -time.Hour, time.Now()); err == nil {
		t.Error("Prune with negative age: want error")
	}
}

func TestScan(t *testing.T) {
	dir := t.TempDir()
	var want Stats
	for i := range 5 {
		path := put(t, dir, keyOf(fmt.Sprint(i)), bytes.Repeat([]byte("v"), i), time.Time{})
		want.Entries++
		want.Bytes += fileSizeOf(path)
	}
	key := keyOf("misplaced")
	stray := map[string]string{
		filepath.Join(dir, "ab", ".tmp-abc.json-1"):          "temp",
		filepath.Join(dir, "ab", "notes.txt"):                "not an entry",
		filepath.Join(dir, "zz", key+".json"):                "bad shard",
		filepath.Join(dir, "ab", "ABCDEF0123456789.json"):    "upper case",
		filepath.Join(dir, key[:2]+"x", key+".json"):         "shard name too long",
		filepath.Join(dir, otherShard(key[:2]), key+".json"): "wrong shard",
		filepath.Join(dir, "README.json"):                    "top level",
	}
	for path, data := range stray {
		writeAt(t, path, data, time.Now())
	}
	got, err := Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("Scan = %+v, want %+v", got, want)
	}
	if got, err := Scan(filepath.Join(dir, "missing")); err != nil || got != (Stats{}) {
		t.Errorf("Scan(missing) = %+v, %v; want empty", got, err)
	}
}

func otherShard(s string) string {
	if s == "00" {
		return "01"
	}
	return "00"
}

func TestContextCancelledWhileWaiting(t *testing.T) {
	c := open(t, t.TempDir(), ModeReadWrite)
	ctx, cancel := context.WithCancel(t.Context())
	release := make(chan struct{})
	fill := func(context.Context) ([]byte, error) {
		cancel()
		<-release
		return []byte("late"), nil
	}
	key := keyOf("slow")
	if _, _, err := c.Do(ctx, key, "p", fill); !errors.Is(err, context.Canceled) {
		t.Errorf("Do error = %v, want context.Canceled", err)
	}
	close(release)
	// The abandoned fill still finishes and stores its answer; this call
	// either joins that flight or reads the entry it wrote.
	f := &counter{value: []byte("second")}
	got, _, err := c.Do(t.Context(), key, "p", f.fill)
	if err != nil || string(got) != "late" || f.calls.Load() != 0 {
		t.Errorf("Do after cancel = %q, %v, %d fills; want the first fill's answer", got, err, f.calls.Load())
	}
}

func BenchmarkDoHit(b *testing.B) {
	const keys = 10_000
	dir := b.TempDir()
	all := make([]string, keys)
	value := []byte(`{"clicked":[1,4],"skipped":[0,2,3],"comment":"more jazz please, less of the same pop"}`)
	for i := range all {
		all[i] = keyOf(fmt.Sprint(i))
		put(b, dir, all[i], value, time.Time{})
	}
	c, err := Open(dir, ModeReplay)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	fill := func(context.Context) ([]byte, error) { return nil, errors.New("unexpected fill") }
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, hit, err := c.Do(ctx, all[i%keys], "bench", fill); err != nil || !hit {
			b.Fatalf("Do: hit %v, %v", hit, err)
		}
		i++
	}
}
