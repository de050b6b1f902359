package catalogcsv

import (
	"reflect"
	"testing"
)

func TestParsePyLiteral(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{`{'also_bought': ['B001', 'B002'], 'bought_together': []}`,
			map[string]any{"also_bought": []any{"B001", "B002"}, "bought_together": []any{}}},
		{`[['Office Products', 'Pens'], ["Kids' Crafts"]]`,
			[]any{[]any{"Office Products", "Pens"}, []any{"Kids' Crafts"}}},
		{`{'Office Products': 1234}`, map[string]any{"Office Products": int64(1234)}},
		{`[2, 3]`, []any{int64(2), int64(3)}},
		{`(1.5, -2, True, False, None)`, []any{1.5, int64(-2), true, false, nil}},
		{`'it\'s \\ \x41\u00e9\n'`, "it's \\ Aé\n"},
		{`  [ 'a' , 'b' , ]  `, []any{"a", "b"}},
		{`'\q'`, `\q`},
	}
	for _, tt := range tests {
		got, err := parsePyLiteral(tt.in)
		if err != nil {
			t.Errorf("parsePyLiteral(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parsePyLiteral(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestParsePyLiteralErrors(t *testing.T) {
	deep := ""
	for range 40 {
		deep += "["
	}
	for _, in := range []string{``, `[`, `{'a' 1}`, `{1: 2}`, `'open`, `[1 2]`, `[1],`, `nope`, `'\x4'`, deep} {
		if v, err := parsePyLiteral(in); err == nil {
			t.Errorf("parsePyLiteral(%q) = %#v, want an error", in, v)
		}
	}
}

func FuzzParsePyLiteral(f *testing.F) {
	f.Add(`{'also_bought': ['B001'], 'x': [1, 2.5, None]}`)
	f.Add(`[['Office Products', "Kids' Crafts"]]`)
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parsePyLiteral(s) // must not panic or hang
	})
}
