package drift

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var codeName = regexp.MustCompile(`^Code[A-Z][A-Za-z]*$`)

// declaredCodes parses codes.go: each Code constant's name and value.
func declaredCodes(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "codes.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, n := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("codes.go: %s is not a string literal", n.Name)
				}
				v, _ := strconv.Unquote(lit.Value)
				out[n.Name] = v
			}
		}
	}
	return out
}

// TestCodesTable: the table holds every declared code once, each with a
// severity and a meaning, and nothing else.
func TestCodesTable(t *testing.T) {
	declared := declaredCodes(t)
	values := map[string]bool{}
	for _, v := range declared {
		if values[v] {
			t.Errorf("code %q is declared twice", v)
		}
		values[v] = true
	}
	seen := map[string]bool{}
	for _, c := range Codes {
		if !values[c.Code] {
			t.Errorf("Codes lists %q, which codes.go does not declare", c.Code)
		}
		if seen[c.Code] {
			t.Errorf("Codes lists %q twice", c.Code)
		}
		seen[c.Code] = true
		if len(c.Severities) == 0 || c.Meaning == "" || strings.Contains(c.Meaning, "\n") {
			t.Errorf("%s: needs a severity and a one-line meaning", c.Code)
		}
	}
	for n, v := range declared {
		if !seen[v] {
			t.Errorf("%s (%q) is missing from Codes", n, v)
		}
	}
}

// TestEngineFindingCodesDeclared scans the module's Go sources (tests
// excluded): every finding the engine builds names its code by a constant
// of codes.go (never a literal), with a severity the table allows; every
// Code constant elsewhere is a reference to the same-named one here; and
// the table's Reserved flag is true (a code is reserved exactly when no
// finding and no error carries it).
func TestEngineFindingCodesDeclared(t *testing.T) {
	declared := declaredCodes(t)
	info := map[string]CodeInfo{}
	for _, c := range Codes {
		info[c.Code] = c
	}
	emitted := map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "testdata" || strings.HasPrefix(n, ".") && path != ".." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || path == filepath.Join("..", "drift", "codes.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, path, src, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				for i, name := range n.Names {
					if !codeName.MatchString(name.Name) || i >= len(n.Values) {
						continue
					}
					sel, ok := n.Values[i].(*ast.SelectorExpr)
					if !ok || sel.Sel.Name != name.Name {
						t.Errorf("%s: %s must be declared in drift/codes.go (here: = drift.%s)", fset.Position(name.Pos()), name.Name, name.Name)
					} else if _, ok := declared[name.Name]; !ok {
						t.Errorf("%s: %s refers to a code drift/codes.go does not declare", fset.Position(name.Pos()), name.Name)
					}
				}
			case *ast.CompositeLit:
				if at, ok := n.Type.(*ast.ArrayType); ok && isFinding(at.Elt) {
					// []Finding{{…}}: the elements' type is elided.
					for _, e := range n.Elts {
						if el, ok := e.(*ast.CompositeLit); ok && el.Type == nil {
							el.Type = at.Elt
						}
					}
				}
				if !isFinding(n.Type) {
					return true
				}
				var code, sev ast.Expr
				for _, e := range n.Elts {
					kv, ok := e.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					switch k, _ := kv.Key.(*ast.Ident); {
					case k == nil:
					case k.Name == "Code":
						code = kv.Value
					case k.Name == "Severity":
						sev = kv.Value
					}
				}
				if code == nil {
					return true
				}
				if _, ok := code.(*ast.BasicLit); ok {
					t.Errorf("%s: a finding code as a literal; declare it in drift/codes.go and use the constant", fset.Position(code.Pos()))
					return true
				}
				name := lastName(code)
				if !codeName.MatchString(name) {
					return true // a copy (Code: f.Code)
				}
				v, ok := declared[name]
				if !ok {
					t.Errorf("%s: %s is not declared in drift/codes.go", fset.Position(code.Pos()), name)
					return true
				}
				emitted[v] = true
				if s, ok := severityOf(sev); ok && !slices.Contains(info[v].Severities, s) {
					t.Errorf("%s: %s emitted as %s; drift.Codes says %v", fset.Position(code.Pos()), v, s, info[v].Severities)
				}
			case *ast.CallExpr:
				// Codes that prefix an error: fmt.Errorf("%s: …", CodeX, …).
				if fn, ok := n.Fun.(*ast.SelectorExpr); !ok || fn.Sel.Name != "Errorf" {
					return true
				}
				for _, a := range n.Args {
					if v, ok := declared[lastName(a)]; ok {
						emitted[v] = true
						if !slices.Contains(info[v].Severities, SeverityError) {
							t.Errorf("%s: %s prefixes an error; drift.Codes says %v", fset.Position(a.Pos()), v, info[v].Severities)
						}
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range Codes {
		switch {
		case c.Reserved && emitted[c.Code]:
			t.Errorf("%s is emitted by the engine but marked Reserved", c.Code)
		case !c.Reserved && !emitted[c.Code]:
			t.Errorf("%s is declared but no finding or error of the engine carries it: remove it or mark it Reserved", c.Code)
		}
	}
}

func isFinding(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name == "Finding"
	case *ast.SelectorExpr:
		return e.Sel.Name == "Finding"
	}
	return false
}

func lastName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return e.Sel.Name
	}
	return ""
}

// severityOf reads a finding's Severity field: "error" or SeverityError.
func severityOf(e ast.Expr) (Severity, bool) {
	if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
		v, _ := strconv.Unquote(lit.Value)
		return Severity(v), true
	}
	switch lastName(e) {
	case "SeverityError":
		return SeverityError, true
	case "SeverityWarning":
		return SeverityWarning, true
	case "SeverityInfo":
		return SeverityInfo, true
	}
	return "", false
}

// TestFindingCodesDocumented: docs/findings.md has a row per code, with
// the severities of drift.Codes, and no row for an undeclared code.
func TestFindingCodesDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/findings.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| ([a-z, ]+) \\|")
	rows := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		rows[m[1]] = m[2]
	}
	for _, c := range Codes {
		sev := make([]string, len(c.Severities))
		for i, s := range c.Severities {
			sev[i] = string(s)
		}
		got, ok := rows[c.Code]
		switch {
		case !ok:
			t.Errorf("docs/findings.md has no row for %s", c.Code)
		case got != strings.Join(sev, ", "):
			t.Errorf("docs/findings.md gives %s the severity %q, drift.Codes %q", c.Code, got, strings.Join(sev, ", "))
		}
		delete(rows, c.Code)
	}
	for code := range rows {
		t.Errorf("docs/findings.md lists %s, which drift/codes.go does not declare", code)
	}
}
