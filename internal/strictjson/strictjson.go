// Package strictjson refuses JSON that different readers read differently.
// encoding/json lets the last of two equal keys win, matches struct fields
// by folding case, turns escaped lone UTF-16 surrogates into U+FFFD and, read
// as a stream, stops after the first value; each lets a proxy, a verifier or
// a person see another request or token than the one tokensvc acts on.
// Check refuses all of these before encoding/json sees the bytes, for the
// request bodies of the HTTP API and the header and payload of a JWT alike.
package strictjson

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Kind says what is wrong with a JSON text.
type Kind int

// The kinds of Error.
const (
	// Empty: nothing but white space.
	Empty Kind = iota + 1
	// Syntax: not JSON.
	Syntax
	// InvalidUTF8: bytes that are not UTF-8.
	InvalidUTF8
	// LoneSurrogate: an escape of half a UTF-16 surrogate pair.
	LoneSurrogate
	// DuplicateKey: a key given twice in one object.
	DuplicateKey
	// TooDeep: objects and arrays nested deeper than Options.MaxDepth.
	TooDeep
	// TrailingData: more than white space after the value.
	TrailingData
)

// Error is why Check refused a JSON text.
type Error struct {
	Kind Kind
	// Offset is the byte at which the problem was found.
	Offset int
	// Key is the key given twice (DuplicateKey), as given the second time.
	Key string
	// Escape is the lone surrogate's escape (LoneSurrogate), e.g. \ud800.
	Escape string
	// MaxDepth is the limit exceeded (TooDeep).
	MaxDepth int
	// syntax says what was wrong (Syntax).
	syntax string
}

func (e *Error) Error() string {
	switch e.Kind {
	case Empty:
		return "empty"
	case InvalidUTF8:
		return fmt.Sprintf("invalid UTF-8 at byte %d", e.Offset)
	case LoneSurrogate:
		return fmt.Sprintf(`the escape %s at byte %d is half of a UTF-16 surrogate pair, a lone surrogate that names no character`, e.Escape, e.Offset)
	case DuplicateKey:
		return fmt.Sprintf("%q is given more than once", e.Key)
	case TooDeep:
		return fmt.Sprintf("objects and arrays nest more than %d deep", e.MaxDepth)
	case TrailingData:
		return fmt.Sprintf("data after the JSON value, at byte %d", e.Offset)
	}
	return fmt.Sprintf("%s at byte %d", e.syntax, e.Offset)
}

// Options says how strict Check is beyond what it always refuses.
type Options struct {
	// MaxDepth is the deepest nesting of objects and arrays accepted;
	// zero: DefaultMaxDepth.
	MaxDepth int
	// FoldTopLevelKeys makes keys of the outermost object equal when
	// encoding/json would match them to the same struct field: under
	// simple case folding ("user_id", "USER_ID" and "uſer_id" are one).
	FoldTopLevelKeys bool
}

// DefaultMaxDepth is encoding/json's own limit on nesting.
const DefaultMaxDepth = 10000

// foldedBatch is how many keys of one object are compared one by one
// before a set takes over, so that a large object stays linear.
const foldedBatch = 16

// Check returns nil if data is exactly one JSON value, in UTF-8, with
// white space around it at most, no key twice in one object (by
// Options.FoldTopLevelKeys at the top level), no escaped lone surrogate
// and no deeper nesting than Options.MaxDepth; otherwise an *Error.
func Check(data []byte, opts Options) error {
	if opts.MaxDepth <= 0 {
		opts.MaxDepth = DefaultMaxDepth
	}
	if !utf8.Valid(data) {
		off := 0
		for off < len(data) {
			r, n := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			off += n
		}
		return &Error{Kind: InvalidUTF8, Offset: off}
	}
	s := scanner{data: data, opts: opts}
	s.skipSpace()
	if s.pos == len(data) {
		return &Error{Kind: Empty}
	}
	if err := s.value(0); err != nil {
		return err
	}
	s.skipSpace()
	if s.pos != len(data) {
		return &Error{Kind: TrailingData, Offset: s.pos}
	}
	return nil
}

// scanner walks a JSON text that is known to be valid UTF-8.
type scanner struct {
	data []byte
	pos  int
	opts Options
	// keys holds the keys of the objects being read, decoded, back to
	// back; ends[i] is where key i ends. An object truncates both back to
	// where it found them when it closes.
	keys []byte
	ends []int
	// key is the key being read, decoded, as given.
	key []byte
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) syntax(what string) *Error {
	if s.pos >= len(s.data) {
		return &Error{Kind: Syntax, Offset: s.pos, syntax: "unexpected end of JSON"}
	}
	r, _ := utf8.DecodeRune(s.data[s.pos:])
	return &Error{Kind: Syntax, Offset: s.pos, syntax: fmt.Sprintf("invalid character %q %s", r, what)}
}

// value reads one value; depth is the number of containers around it.
func (s *scanner) value(depth int) error {
	if s.pos >= len(s.data) {
		return s.syntax("")
	}
	switch c := s.data[s.pos]; {
	case c == '{' || c == '[':
		if depth == s.opts.MaxDepth {
			return &Error{Kind: TooDeep, Offset: s.pos, MaxDepth: s.opts.MaxDepth}
		}
		if c == '{' {
			return s.object(depth + 1)
		}
		return s.array(depth + 1)
	case c == '"':
		return s.str(false)
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return s.syntax("looking for the beginning of a value")
}

func (s *scanner) literal(word string) error {
	for i := 0; i < len(word); i++ {
		if s.pos >= len(s.data) || s.data[s.pos] != word[i] {
			return s.syntax("in literal " + word)
		}
		s.pos++
	}
	return nil
}

func (s *scanner) number() error {
	if s.data[s.pos] == '-' {
		s.pos++
	}
	switch {
	case s.pos < len(s.data) && s.data[s.pos] == '0':
		s.pos++
	case s.digits() == 0:
		return s.syntax("in numeric literal")
	}
	if s.pos < len(s.data) && s.data[s.pos] == '.' {
		s.pos++
		if s.digits() == 0 {
			return s.syntax("after decimal point in numeric literal")
		}
	}
	if s.pos < len(s.data) && (s.data[s.pos] == 'e' || s.data[s.pos] == 'E') {
		s.pos++
		if s.pos < len(s.data) && (s.data[s.pos] == '+' || s.data[s.pos] == '-') {
			s.pos++
		}
		if s.digits() == 0 {
			return s.syntax("in exponent of numeric literal")
		}
	}
	return nil
}

func (s *scanner) digits() int {
	start := s.pos
	for s.pos < len(s.data) && '0' <= s.data[s.pos] && s.data[s.pos] <= '9' {
		s.pos++
	}
	return s.pos - start
}

func (s *scanner) array(depth int) error {
	s.pos++ // [
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		return nil
	}
	for {
		s.skipSpace()
		if end, err := s.element(depth, ']', "after array element"); end || err != nil {
			return err
		}
	}
}

// element reads a value in a container and the comma or closer after it;
// end reports the closer.
func (s *scanner) element(depth int, closer byte, after string) (end bool, err error) {
	if err := s.value(depth); err != nil {
		return false, err
	}
	s.skipSpace()
	switch {
	case s.pos >= len(s.data):
		return false, s.syntax("")
	case s.data[s.pos] == ',':
		s.pos++
		return false, nil
	case s.data[s.pos] == closer:
		s.pos++
		return true, nil
	}
	return false, s.syntax(after)
}

func (s *scanner) object(depth int) error {
	s.pos++ // {
	firstKey, keysStart := len(s.ends), len(s.keys)
	defer func() { s.ends, s.keys = s.ends[:firstKey], s.keys[:keysStart] }()
	fold := depth == 1 && s.opts.FoldTopLevelKeys
	var seen map[string]struct{} // past foldedBatch keys
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		return nil
	}
	for {
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return s.syntax("looking for the beginning of an object key")
		}
		keyAt, start := s.pos, len(s.keys)
		s.key = s.key[:0]
		if err := s.str(true); err != nil {
			return err
		}
		if fold {
			s.keys = appendFolded(s.keys, s.key)
		} else {
			s.keys = append(s.keys, s.key...)
		}
		key := s.keys[start:]
		dup := false
		if seen != nil {
			_, dup = seen[string(key)]
			seen[string(key)] = struct{}{}
		} else {
			prev := keysStart
			for _, end := range s.ends[firstKey:] {
				if string(s.keys[prev:end]) == string(key) {
					dup = true
					break
				}
				prev = end
			}
		}
		if dup {
			return &Error{Kind: DuplicateKey, Offset: keyAt, Key: string(s.key)}
		}
		s.ends = append(s.ends, len(s.keys))
		if seen == nil && len(s.ends)-firstKey > foldedBatch {
			seen = make(map[string]struct{}, 2*foldedBatch)
			prev := keysStart
			for _, end := range s.ends[firstKey:] {
				seen[string(s.keys[prev:end])] = struct{}{}
				prev = end
			}
		}
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return s.syntax("after object key")
		}
		s.pos++
		s.skipSpace()
		if end, err := s.element(depth, '}', "after object key:value pair"); end || err != nil {
			return err
		}
	}
}

// str reads a string; with keep, it appends its decoded text to s.key.
func (s *scanner) str(keep bool) error {
	s.pos++ // "
	for {
		if s.pos >= len(s.data) {
			return s.syntax("")
		}
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			return nil
		case c < 0x20:
			return s.syntax("in string literal")
		case c != '\\':
			if keep {
				s.key = append(s.key, c)
			}
			s.pos++
			continue
		}
		escAt := s.pos
		s.pos++
		if s.pos >= len(s.data) {
			return s.syntax("")
		}
		var r rune
		switch e := s.data[s.pos]; e {
		case '"', '\\', '/':
			r = rune(e)
		case 'b':
			r = '\b'
		case 'f':
			r = '\f'
		case 'n':
			r = '\n'
		case 'r':
			r = '\r'
		case 't':
			r = '\t'
		case 'u':
			var err error
			if r, err = s.hex4(); err != nil {
				return err
			}
			if utf16IsSurrogate(r) {
				low := rune(-1)
				if r < 0xdc00 && s.pos+2 < len(s.data) && s.data[s.pos+1] == '\\' && s.data[s.pos+2] == 'u' {
					s.pos += 2
					if low, err = s.hex4(); err != nil {
						return err
					}
				}
				if low < 0xdc00 || low > 0xdfff {
					return &Error{Kind: LoneSurrogate, Offset: escAt, Escape: string(s.data[escAt : escAt+6])}
				}
				r = 0x10000 + (r-0xd800)<<10 + (low - 0xdc00)
			}
		default:
			return s.syntax("in string escape code")
		}
		s.pos++
		if keep {
			s.key = utf8.AppendRune(s.key, r)
		}
	}
}

// hex4 reads the four hex digits after \u, leaving pos on the last.
func (s *scanner) hex4() (rune, error) {
	var r rune
	for range 4 {
		s.pos++
		if s.pos >= len(s.data) {
			return 0, s.syntax("")
		}
		c := s.data[s.pos]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, s.syntax("in \\u hexadecimal character escape")
		}
		r = r<<4 | rune(c)
	}
	return r, nil
}

func utf16IsSurrogate(r rune) bool { return 0xd800 <= r && r <= 0xdfff }

// appendFolded appends key folded the way encoding/json folds field names:
// each rune to the smallest of its simple case folding orbit, ASCII letters
// to upper case.
func appendFolded(dst, key []byte) []byte {
	for len(key) > 0 {
		r, n := utf8.DecodeRune(key)
		key = key[n:]
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			dst = append(dst, byte(r))
			continue
		}
		for {
			next := unicode.SimpleFold(r)
			if next <= r {
				r = next
				break
			}
			r = next
		}
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}
