package cache

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

const (
	entryVersion   = 1
	encodingBase64 = "base64"
	minKeyLen      = 16
	// 128 hex digits is a SHA-512; longer keys would only risk file-name limits.
	maxKeyLen = 128
)

// ErrInvalidKey: a key that is not 16–128 lowercase hex digits. Keys become
// file names, so anything else (slashes, dots, upper case) is refused.
var ErrInvalidKey = errors.New("cache: invalid key")

var errCorrupt = errors.New("cache: corrupt entry")

type entry struct {
	V        int     `json:"v"`
	Key      string  `json:"key"`
	Describe string  `json:"describe"`
	Value    *string `json:"value"`
	Encoding string  `json:"encoding,omitempty"`
}

func validateKey(key string) error {
	if len(key) < minKeyLen || len(key) > maxKeyLen {
		return fmt.Errorf("%w: length %d, want %d–%d hex digits", ErrInvalidKey, len(key), minKeyLen, maxKeyLen)
	}
	for i := 0; i < len(key); i++ {
		if !isLowerHex(key[i]) {
			return fmt.Errorf("%w: %q is not lowercase hex", ErrInvalidKey, key)
		}
	}
	return nil
}

func isLowerHex(b byte) bool {
	return ('0' <= b && b <= '9') || ('a' <= b && b <= 'f')
}

func encodeEntry(key, describe string, value []byte) ([]byte, error) {
	e := entry{V: entryVersion, Key: key, Describe: describe}
	var s string
	if utf8.Valid(value) {
		s = string(value)
	} else {
		s = base64.StdEncoding.EncodeToString(value)
		e.Encoding = encodingBase64
	}
	e.Value = &s
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return nil, fmt.Errorf("cache: encode entry: %w", err)
	}
	return buf.Bytes(), nil
}

// decodeEntry returns the value stored in data, which must be an entry for key.
func decodeEntry(key string, data []byte) ([]byte, error) {
	var e entry
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("%w: %w", errCorrupt, err)
	}
	switch {
	case e.V != entryVersion:
		return nil, fmt.Errorf("%w: version %d, want %d", errCorrupt, e.V, entryVersion)
	case e.Key != key:
		return nil, fmt.Errorf("%w: holds key %q", errCorrupt, e.Key)
	case e.Value == nil:
		return nil, fmt.Errorf("%w: no value", errCorrupt)
	}
	switch e.Encoding {
	case "":
		return []byte(*e.Value), nil
	case encodingBase64:
		v, err := base64.StdEncoding.DecodeString(*e.Value)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errCorrupt, err)
		}
		return v, nil
	default:
		return nil, fmt.Errorf("%w: unknown encoding %q", errCorrupt, e.Encoding)
	}
}
