package cache

import (
	"bytes"
	"errors"
	"testing"
)

const fuzzKey = "00112233445566778899aabbccddeeff"

func FuzzDecodeEntry(f *testing.F) {
	for _, seed := range []string{
		`{"v":1,"key":"` + fuzzKey + `","describe":"p","value":"hello"}`,
		`{"v":1,"key":"` + fuzzKey + `","describe":"p","value":"/w==","encoding":"base64"}`,
		`{"v":1,"key":"` + fuzzKey + `","describe":"p","value":null}`,
		`{"v":1,"key":"` + fuzzKey + `"}`,
		`{"v":"1"}`,
		`[]`,
		``,
		"\xff",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		value, err := decodeEntry(fuzzKey, data)
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("decode error %v does not wrap errCorrupt", err)
			}
			return
		}
		// Whatever decodes must survive a rewrite unchanged.
		again, err := encodeEntry(fuzzKey, "fuzz", value)
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeEntry(fuzzKey, again)
		if err != nil || !bytes.Equal(back, value) {
			t.Fatalf("re-encoded entry decodes to %q, %v; want %q", back, err, value)
		}
	})
}

func FuzzEntryRoundTrip(f *testing.F) {
	f.Add("persona p1", []byte(`{"a":1}`))
	f.Add("", []byte{})
	f.Add("\xff odd", []byte{0xff, 0x00, 0xc3})
	f.Fuzz(func(t *testing.T, describe string, value []byte) {
		data, err := encodeEntry(fuzzKey, describe, value)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeEntry(fuzzKey, data)
		if err != nil || !bytes.Equal(got, value) {
			t.Fatalf("round trip of %q = %q, %v", value, got, err)
		}
		if _, err := decodeEntry(keyOf("another"), data); !errors.Is(err, errCorrupt) {
			t.Fatalf("entry decoded under another key: %v", err)
		}
	})
}
