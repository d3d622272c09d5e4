package execrec

import (
	"fmt"
	"strings"
)

// SplitArgs splits a command line into argv the way a POSIX shell splits
// words, and does nothing else a shell does: no variables, no globbing, no
// pipes. Single quotes keep everything literally; inside double quotes and
// outside quotes a backslash escapes the next character.
func SplitArgs(s string) ([]string, error) {
	var (
		args    []string
		cur     strings.Builder
		inWord  bool
		quote   rune
		escaped bool
	)
	for _, r := range s {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\\':
			escaped, inWord = true, true
		case quote == '"':
			if r == '"' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				args = append(args, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	switch {
	case escaped:
		return nil, fmt.Errorf("%w: command ends with a lone backslash", ErrConfig)
	case quote != 0:
		return nil, fmt.Errorf("%w: command has an unclosed %c quote", ErrConfig, quote)
	}
	if inWord {
		args = append(args, cur.String())
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("%w: command is empty", ErrConfig)
	}
	return args, nil
}
