package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// checkKeys enforces what encoding/json lets pass: it reads the JSON value
// in data and returns a 400 bad_json *Error naming the first object key
// that appears twice in its object (at any depth), or that is not exactly
// one of the JSON field names of the struct v decodes that object into
// (encoding/json matches names regardless of case). Objects decoded into
// maps or json.RawMessage have their keys checked for duplicates only. The
// data has been decoded into v already, so it is well-formed. path names
// data in errors ("" for a whole body).
func checkKeys(data []byte, v any, path string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := walkKeys(dec, reflect.TypeOf(v), path); err != nil {
		if _, ok := errors.AsType[*Error](err); ok {
			return err
		}
		return errorf(http.StatusBadRequest, CodeBadJSON, "bad JSON: "+trimJSON(err))
	}
	return nil
}

var rawMessageType = reflect.TypeFor[json.RawMessage]()

// walkKeys reads one value from dec, expected to decode into t (nil: any
// type), and checks the keys of its objects; path names the value in
// errors ("" for the top level).
func walkKeys(dec *json.Decoder, t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == rawMessageType {
		t = nil
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		var fields map[string]reflect.Type
		var elem reflect.Type
		if t != nil {
			switch t.Kind() {
			case reflect.Struct:
				fields = jsonFields(t)
			case reflect.Map:
				elem = t.Elem()
			}
		}
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			key := tok.(string)
			at := joinPath(path, key)
			if seen[key] {
				return errorf(http.StatusBadRequest, CodeBadJSON,
					fmt.Sprintf("bad JSON: duplicated key %q", at))
			}
			seen[key] = true
			child := elem
			if fields != nil {
				ft, ok := fields[key]
				if !ok {
					return unknownKey(at, key, fields)
				}
				child = ft
			}
			if err := walkKeys(dec, child, at); err != nil {
				return err
			}
		}
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := walkKeys(dec, elem, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	default:
		return nil // a scalar
	}
	_, err = dec.Token() // the closing delimiter
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// unknownKey is the error for a key that is not a field name of the struct
// it is decoded into: a name in the wrong case, or an unknown one.
func unknownKey(at, key string, fields map[string]reflect.Type) error {
	for name := range fields {
		if strings.EqualFold(name, key) {
			return errorf(http.StatusBadRequest, CodeBadJSON,
				fmt.Sprintf("bad JSON: unknown key %q: names are case-sensitive, want %q", at, name))
		}
	}
	return errorf(http.StatusBadRequest, CodeBadJSON, fmt.Sprintf("bad JSON: unknown key %q", at))
}

// joinPath names key inside the value at path.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// jsonFields maps the JSON names of a struct's exported fields to their
// types, as encoding/json names them (tag name, else the field name;
// embedded structs without a tag are flattened).
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for n, typ := range jsonFields(ft) {
					if _, ok := fields[n]; !ok {
						fields[n] = typ
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
	}
	return fields
}

// checkText refuses what encoding/json would silently replace with U+FFFD:
// bytes that are not UTF-8, and \u escapes of lone UTF-16 surrogates. An
// answer must be the very text the client sent.
func checkText(data []byte) error {
	if !utf8.Valid(data) {
		return errorf(http.StatusBadRequest, CodeBadJSON, "bad JSON: the body is not valid UTF-8")
	}
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if !inString {
			if c == '"' {
				inString = true
			}
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 < len(data) && data[i+1] == 'u' {
				r, ok := hex4(data[i+2:])
				if ok && utf16.IsSurrogate(r) {
					low, lok := rune(0), false
					if r < 0xdc00 && i+11 < len(data) && data[i+6] == '\\' && data[i+7] == 'u' {
						low, lok = hex4(data[i+8:])
					}
					if !lok || low < 0xdc00 || low > 0xdfff {
						return errorf(http.StatusBadRequest, CodeBadJSON,
							fmt.Sprintf("bad JSON: lone UTF-16 surrogate %s at byte %d", data[i:i+6], i))
					}
					i += 6 // the low half
				}
			}
			i++ // the escaped character
		}
	}
	return nil
}

// hex4 reads four hex digits.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	v, err := strconv.ParseUint(string(b[:4]), 16, 32)
	return rune(v), err == nil
}

// describeJSONError turns encoding/json's errors into text that names the
// field and the JSON type wanted, without Go type names.
func describeJSONError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		want := "a value of another type"
		switch te.Type.Kind() {
		case reflect.String:
			want = "a string"
		case reflect.Struct, reflect.Map:
			want = "an object"
		case reflect.Slice, reflect.Array:
			want = "an array"
		case reflect.Bool:
			want = "true or false"
		case reflect.Int, reflect.Int64, reflect.Float64:
			want = "a number"
		}
		field := te.Field
		if field == "" {
			field = "the body"
		} else {
			field = strconv.Quote(field)
		}
		return fmt.Sprintf("%s: want %s, got %s", field, want, te.Value)
	}
	return trimJSON(err)
}
