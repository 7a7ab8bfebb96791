package link

import (
	"bytes"
	"fmt"
	"strconv"
)

// Bounds of the bencode pre-scan. anacrolix's decoder recurses once per
// nesting level and a goroutine stack overflow is fatal, not a panic: 16 MiB
// of "l" kills the process (1 GB of stack), 100,000 levels cost 37 MB. The
// limits follow libtorrent's load_torrent_limits (depth 100, 3,000,000
// tokens) a little tighter.
const (
	maxDepth  = 100
	maxTokens = 2_000_000
	// Dictionaries outside the info dictionary may have unsorted keys (some
	// old tools wrote them so); duplicates are still refused, which needs
	// the keys remembered, so such a dictionary is bounded.
	maxUnsortedKeys = 1000
	// anacrolix decodes a v2 "file tree" by re-parsing (and copying) every
	// subtree once per level above it; this bounds the sum of the sizes of
	// the dictionaries in a file tree, i.e. that decoder's work and memory.
	maxFileTreeWork = 32 << 20
)

// scanner checks that b holds well-formed bencode before anacrolix decodes
// it: bounded nesting and token count, canonical integers and string
// lengths, no duplicate dictionary keys, and (strict) sorted keys.
type scanner struct {
	b        []byte
	pos      int
	tokens   int
	strict   bool // keys must be in sorted order (canonical bencode)
	inTree   bool // inside the info dictionary's "file tree"
	treeWork int
}

type scanError struct {
	off int
	msg string
}

func (e *scanError) Error() string { return fmt.Sprintf("at byte %d: %s", e.off, e.msg) }

func (s *scanner) fail(format string, args ...any) error {
	return &scanError{off: s.pos, msg: fmt.Sprintf(format, args...)}
}

// scanValue checks one bencode value at the start of b and returns where it
// ends.
func scanValue(b []byte, strict bool) (end int, err error) {
	s := scanner{b: b, strict: strict}
	if err := s.value(0); err != nil {
		return 0, err
	}
	return s.pos, nil
}

func (s *scanner) value(depth int) error {
	if depth > maxDepth {
		return s.fail("nested deeper than %d levels", maxDepth)
	}
	s.tokens++
	if s.tokens > maxTokens {
		return s.fail("more than %d values", maxTokens)
	}
	if s.pos >= len(s.b) {
		return s.fail("unexpected end of data")
	}
	switch c := s.b[s.pos]; {
	case c == 'i':
		return s.integer()
	case c >= '0' && c <= '9':
		_, err := s.str()
		return err
	case c == 'l':
		s.pos++
		for {
			if s.pos >= len(s.b) {
				return s.fail("unexpected end of data in a list")
			}
			if s.b[s.pos] == 'e' {
				s.pos++
				return nil
			}
			if err := s.value(depth + 1); err != nil {
				return err
			}
		}
	case c == 'd':
		return s.dict(depth)
	default:
		return s.fail("unexpected byte %q", c)
	}
}

func (s *scanner) dict(depth int) error {
	start := s.pos
	s.pos++
	var (
		prev   []byte
		keys   [][]byte // remembered while few, for duplicates among unsorted keys
		n      int
		sorted = true
	)
	for {
		if s.pos >= len(s.b) {
			return s.fail("unexpected end of data in a dictionary")
		}
		if s.b[s.pos] == 'e' {
			s.pos++
			break
		}
		if c := s.b[s.pos]; c < '0' || c > '9' {
			return s.fail("dictionary key is not a string")
		}
		keyAt := s.pos
		key, err := s.str()
		if err != nil {
			return err
		}
		n++
		if n > 1 {
			switch c := bytes.Compare(prev, key); {
			case c == 0:
				return &scanError{keyAt, fmt.Sprintf("duplicate dictionary key %s", quote(clip(string(key))))}
			case c > 0 && s.strict:
				return &scanError{keyAt, fmt.Sprintf("dictionary key %s out of order (not canonical bencode)", quote(clip(string(key))))}
			case c > 0:
				sorted = false
			}
		}
		if !sorted {
			if n > maxUnsortedKeys {
				return &scanError{keyAt, fmt.Sprintf("unsorted dictionary with more than %d keys", maxUnsortedKeys)}
			}
			for _, k := range keys {
				if bytes.Equal(k, key) {
					return &scanError{keyAt, fmt.Sprintf("duplicate dictionary key %s", quote(clip(string(key))))}
				}
			}
		}
		if n <= maxUnsortedKeys {
			keys = append(keys, key)
		}
		prev = key
		tree := s.strict && depth == 0 && string(key) == "file tree"
		if tree {
			s.inTree = true
		}
		err = s.value(depth + 1)
		if tree {
			s.inTree = false
		}
		if err != nil {
			return err
		}
	}
	if s.inTree {
		s.treeWork += s.pos - start
		if s.treeWork > maxFileTreeWork {
			return s.fail("file tree nested too deeply for its size")
		}
	}
	return nil
}

// str reads a byte string and returns it (a sub-slice of the input).
func (s *scanner) str() ([]byte, error) {
	i := s.pos
	for i < len(s.b) && s.b[i] >= '0' && s.b[i] <= '9' {
		i++
	}
	digits := s.b[s.pos:i]
	if i >= len(s.b) || s.b[i] != ':' {
		return nil, s.fail("bad string length")
	}
	if len(digits) > 1 && digits[0] == '0' {
		return nil, s.fail("string length with a leading zero")
	}
	n, err := strconv.Atoi(string(digits))
	if err != nil || len(digits) > 10 || n > len(s.b)-i-1 {
		return nil, s.fail("string longer than the data")
	}
	s.pos = i + 1 + n
	return s.b[i+1 : s.pos], nil
}

func (s *scanner) integer() error {
	i := s.pos + 1
	j := i
	if j < len(s.b) && s.b[j] == '-' {
		j++
	}
	k := j
	for k < len(s.b) && s.b[k] >= '0' && s.b[k] <= '9' {
		k++
	}
	if k >= len(s.b) || s.b[k] != 'e' || k == j {
		return s.fail("bad integer")
	}
	if (k-j > 1 && s.b[j] == '0') || (j > i && s.b[j] == '0') {
		return s.fail("integer not in canonical form")
	}
	if _, err := strconv.ParseInt(string(s.b[i:k]), 10, 64); err != nil {
		return s.fail("integer out of range")
	}
	s.pos = k + 1
	return nil
}
