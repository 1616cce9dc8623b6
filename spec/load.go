package spec

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Limits that keep bad input from exhausting the loader. Each is far above
// what a hand-written spec needs.
const (
	// MaxFileSize is the largest spec file Load reads. A spec file is
	// hand-written; anything this large is a mistake (a log, a dump).
	MaxFileSize = 8 << 20
	// maxAliasNodes bounds how many nodes YAML aliases may add to a
	// document beyond its own size: anchors are fine, alias bombs
	// ("billion laughs") are not.
	maxAliasNodes = 10_000
)

// Load reads, defaults and validates the spec directory dir.
//
// It returns the Set and every problem found, sorted by position. When the
// directory has error-severity problems, the Set is nil and the error is an
// *InvalidError carrying all problems (use AsInvalid); the Problems returned
// are the same. When the Set is valid, Problems holds only warnings and the
// error is nil. Any other error (dir missing, not a directory) is returned
// as is, with nil Set and Problems.
//
// Load never reads secrets; the only file it opens besides spec files is
// none: ca_file paths are only checked to exist.
//
// Positions name files by their path under dir ("a.yaml:3:5"); see
// LoadAsGiven for the command line's.
func Load(dir string) (*Set, Problems, error) { return load(dir, false) }

// LoadAsGiven is Load, with every position naming its file by the spec
// directory's path as the caller gave it, joined with the file's path
// under it: LoadAsGiven("specs") reports "specs/a.yaml:3:5",
// LoadAsGiven("/etc/x/") "/etc/x/a.yaml:3:5" and LoadAsGiven(".")
// "./a.yaml:3:5", as gcc, go vet and eslint print the paths they were
// given, so that editors and CI annotators can open them (DESIGN §2). The
// command line loads with it.
func LoadAsGiven(dir string) (*Set, Problems, error) { return load(dir, true) }

func load(dir string, asGiven bool) (*Set, Problems, error) {
	// A symlinked root (a checkout deployed as live -> releases/N) is
	// resolved once, so that every file of one Load comes from the same
	// release even when the link is swapped meanwhile.
	info, err := os.Stat(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("spec directory: %w", err)
	}
	if !info.IsDir() {
		return nil, nil, fmt.Errorf("spec directory %s is not a directory", dir)
	}
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("spec directory: %w", err)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, nil, fmt.Errorf("spec directory: %w", err)
	}
	files, walkProblems, err := specFiles(root)
	if err != nil {
		return nil, nil, fmt.Errorf("list spec files in %s: %w", dir, err)
	}

	prefix := ""
	if asGiven {
		prefix = shownPrefix(dir)
		for i := range walkProblems {
			walkProblems[i].Pos.File = prefix + walkProblems[i].Pos.File
		}
	}
	l := &loader{abs: abs, prefix: prefix, set: &Set{Dir: dir, meta: map[any]*meta{}}}
	// Files are parsed in parallel (YAML parsing dominates the cost) and
	// merged in path order, so the result does not depend on scheduling.
	results := make([]*loader, len(files))
	contents := make([][]byte, len(files))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Go(func() {
			for i := range next {
				fl := &loader{abs: abs, prefix: prefix, set: &Set{meta: map[any]*meta{}}}
				rel := files[i]
				data, err := ReadFile(filepath.Join(root, filepath.FromSlash(rel)), MaxFileSize)
				if err != nil {
					fl.readError(prefix+rel, err)
				} else {
					fl.file(prefix+rel, data)
				}
				results[i], contents[i] = fl, data
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()

	h := sha256.New()
	for i, rel := range files {
		// Length-prefix path and content so that no two file sets hash alike.
		data := contents[i]
		_ = binary.Write(h, binary.BigEndian, uint64(len(rel)))
		io.WriteString(h, rel)
		_ = binary.Write(h, binary.BigEndian, uint64(len(data)))
		h.Write(data)
		l.merge(results[i])
	}
	l.set.Files = len(files)
	l.problems = append(l.problems, walkProblems...)

	// The documents that decoded are validated even when others did not,
	// so that every problem is reported at once; references to the broken
	// documents are not reported again (see Set.broken).
	{
		l.set.sortKinds()
		applyDefaults(l.set)
		l.problems = append(l.problems, validate(l.set)...)
		// The CA files the specs name are part of what is live: a renewed
		// CA under an unchanged YAML is a new spec set for the daemon.
		for _, ca := range l.set.caFiles() {
			data, _ := ReadFile(ca, MaxFileSize) // validation reports what cannot be read
			_ = binary.Write(h, binary.BigEndian, uint64(len(ca)))
			io.WriteString(h, ca)
			_ = binary.Write(h, binary.BigEndian, uint64(len(data)))
			h.Write(data)
		}
	}
	l.set.Digest = "sha256:" + hex.EncodeToString(h.Sum(nil))
	l.problems.sort()
	if l.problems.HasErrors() {
		return nil, l.problems, &InvalidError{Problems: l.problems, Files: l.set.Files, Documents: l.set.Documents}
	}
	return l.set, l.problems, nil
}

// unwrapPathError drops the path from an *fs.PathError: the problem is
// already positioned at the file.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// shownPrefix is what LoadAsGiven puts before a file's path under dir:
// dir and one separator, never cleaned ("./specs" stays "./specs/").
func shownPrefix(dir string) string {
	if strings.HasSuffix(dir, "/") || strings.HasSuffix(dir, string(filepath.Separator)) {
		return dir
	}
	return dir + "/"
}

// loader holds the state of one Load.
type loader struct {
	abs string
	// prefix is put before every file's path under the directory in the
	// positions it reports (LoadAsGiven); "" for Load.
	prefix   string
	set      *Set
	problems Problems
}

func (l *loader) errorf(pos Pos, format string, a ...any) {
	l.problems = append(l.problems, Problem{Pos: pos, Severity: SeverityError, Message: fmt.Sprintf(format, a...)})
}

func (l *loader) warnf(pos Pos, format string, a ...any) {
	l.problems = append(l.problems, Problem{Pos: pos, Severity: SeverityWarning, Message: fmt.Sprintf(format, a...)})
}

// merge appends what another loader (of one file) found.
func (l *loader) merge(o *loader) {
	l.problems = append(l.problems, o.problems...)
	l.set.Documents += o.set.Documents
	l.set.Clusters = append(l.set.Clusters, o.set.Clusters...)
	l.set.Connections = append(l.set.Connections, o.set.Connections...)
	l.set.TrustedEnvironments = append(l.set.TrustedEnvironments, o.set.TrustedEnvironments...)
	for k, v := range o.set.meta {
		l.set.meta[k] = v
	}
	for k := range o.set.broken {
		if l.set.broken == nil {
			l.set.broken = map[string]bool{}
		}
		l.set.broken[k] = true
	}
}

// readError reports a spec file that could not be read.
func (l *loader) readError(rel string, err error) {
	start := Pos{File: rel, Line: 1, Column: 1}
	var notRegular *NotRegularError
	var tooLarge *TooLargeError
	switch {
	case errors.As(err, &notRegular):
		l.errorf(start, "file is %s, not a regular file: spec files are regular files; remove it or rename it so it does not end in .yaml/.yml", notRegular.Kind)
	case errors.As(err, &tooLarge):
		size := "larger than " + byteSize(tooLarge.Limit)
		if tooLarge.Size > 0 {
			size = byteSize(tooLarge.Size)
		}
		l.errorf(start, "file is %s; spec files are limited to %s: split it into several files", size, byteSize(MaxFileSize))
	default:
		l.errorf(start, "cannot read file: %v", unwrapPathError(err))
	}
}

// file decodes every document of one spec file.
func (l *loader) file(rel string, data []byte) {
	start := Pos{File: rel, Line: 1, Column: 1}
	if !utf8.Valid(data) {
		off := invalidUTF8(data)
		l.errorf(offsetPos(rel, data, off), "file is not valid UTF-8 (byte 0x%02x): save it as UTF-8", data[off])
		return
	}
	if len(bytes.TrimSpace(data)) == 0 {
		l.warnf(start, "file is empty: add a document or delete the file")
		return
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	docs := 0
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			l.syntaxError(rel, data, err)
			return
		}
		if isEmptyDocument(&doc) {
			continue
		}
		docs++
		l.set.Documents++
		l.document(rel, &doc)
	}
	if docs == 0 {
		l.warnf(start, "file holds no YAML documents (only comments?): add a document or delete the file")
	}
}

func isEmptyDocument(doc *yaml.Node) bool {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return true
	}
	root := doc.Content[0]
	return root.Kind == yaml.ScalarNode && root.Tag == "!!null" && root.Value == ""
}

// yamlLineError matches yaml.v3 syntax errors, which carry a line only.
var yamlLineError = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parserProblems are the messages of yaml.v3's parser (parserc.go), as
// opposed to its scanner's. yaml.v3 (parser.fail in decode.go) reports the
// scanner's lines 1-based but the parser's 0-based, and for the parser the
// line where the enclosing block or flow collection starts rather than
// where the problem is.
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"found undefined tag handle":             true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

// syntaxError turns a yaml.v3 parse error into a positioned problem. The
// column is that of the first tab on the line when a tab is the cause,
// else that of the line's first character: yaml.v3 reports no column.
func (l *loader) syntaxError(rel string, data []byte, err error) {
	msg := err.Error()
	pos := Pos{File: rel, Line: 1, Column: 1}
	line := 0
	if m := yamlLineError.FindStringSubmatch(msg); m != nil {
		if n, convErr := strconv.Atoi(m[1]); convErr == nil && n > 0 {
			line = n
		}
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	if parserProblems[msg] {
		line = problemLine(data, line+1, msg)
	}
	pos.Line = max(line, 1)
	text := nthLine(data, pos.Line)
	if i := strings.IndexByte(text, '\t'); i >= 0 && strings.TrimLeft(text, " \t") != "" && strings.TrimSpace(text[:i]) == "" {
		pos.Column = utf8.RuneCountInString(text[:i]) + 1
		l.errorf(pos, "YAML syntax error: %s: a tab indents this line; YAML indents with spaces only", msg)
		return
	}
	if trimmed := strings.TrimLeft(text, " "); trimmed != "" {
		pos.Column = utf8.RuneCountInString(text[:len(text)-len(trimmed)]) + 1
	}
	l.errorf(pos, "YAML syntax error: %s", msg)
}

// problemLine finds the line of a parser error that yaml.v3 placed at
// from, the start of the enclosing collection: the first line at or after
// from such that the document cut after it fails with the same message
// (the lines before it parse). A document that cut short fails otherwise
// (an open flow collection) counts as parsing, so the search is a
// bisection between from and the last line. It costs a few parses of the
// file, only when the file is already rejected.
func problemLine(data []byte, from int, msg string) int {
	lines := bytes.Count(data, []byte{'\n'}) + 1
	fails := func(n int) bool {
		dec := yaml.NewDecoder(bytes.NewReader(firstLines(data, n)))
		for {
			var doc yaml.Node
			err := dec.Decode(&doc)
			if err == nil {
				continue
			}
			if errors.Is(err, io.EOF) {
				return false
			}
			m := yamlLineError.FindStringSubmatch(err.Error())
			return (m != nil && m[2] == msg) || strings.TrimPrefix(err.Error(), "yaml: ") == msg
		}
	}
	if from >= lines || fails(from) {
		return from
	}
	lo, hi := from, lines // fails(lo) is false; fails(hi) is assumed true
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// firstLines returns the first n lines of data, with their newlines.
func firstLines(data []byte, n int) []byte {
	end := 0
	for range n {
		i := bytes.IndexByte(data[end:], '\n')
		if i < 0 {
			return data
		}
		end += i + 1
	}
	return data[:end]
}

// nthLine returns line n (1-based) of data without its newline.
func nthLine(data []byte, n int) string {
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(data, '\n')
		if j < 0 {
			return ""
		}
		data = data[j+1:]
	}
	if j := bytes.IndexByte(data, '\n'); j >= 0 {
		data = data[:j]
	}
	return string(data)
}

// invalidUTF8 returns the offset of the first byte that is not UTF-8.
func invalidUTF8(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return 0
}

// offsetPos turns a byte offset into a line and column (in runes).
func offsetPos(rel string, data []byte, off int) Pos {
	before := data[:off]
	line := bytes.Count(before, []byte{'\n'}) + 1
	lineStart := bytes.LastIndexByte(before, '\n') + 1
	return Pos{File: rel, Line: line, Column: utf8.RuneCount(before[lineStart:]) + 1}
}

// kindTypes maps each kind to the Go type its documents decode to.
var kindTypes = map[string]reflect.Type{
	KindCluster:            reflect.TypeFor[Cluster](),
	KindConnection:         reflect.TypeFor[Connection](),
	KindTrustedEnvironment: reflect.TypeFor[TrustedEnvironment](),
}

// kindNames lists the kinds in the order messages name them.
var kindNames = []string{KindCluster, KindConnection, KindTrustedEnvironment}

// document checks one document's tree and, when it is sound, decodes it
// into its kind and adds it to the Set.
func (l *loader) document(rel string, doc *yaml.Node) {
	root := doc.Content[0]
	docPos := nodePos(rel, root)
	if err := checkAliases(root); err != nil {
		l.errorf(docPos, "%v", err)
		return
	}
	if root.Kind == yaml.AliasNode {
		root = root.Alias
	}
	if root.Kind != yaml.MappingNode {
		l.errorf(docPos, "a spec document is a mapping with apiVersion and kind, not %s", describe(root))
		return
	}
	apiVersion, apiPos := scalarField(rel, root, "apiVersion")
	kind, kindPos := scalarField(rel, root, "kind")
	switch {
	case apiPos == nil:
		l.errorf(docPos, "document has no apiVersion: add apiVersion: %s", APIVersion)
	case apiVersion != APIVersion:
		l.errorf(*apiPos, "apiVersion %q is not supported: use apiVersion: %s", apiVersion, APIVersion)
	}
	t, known := kindTypes[kind]
	switch {
	case kindPos == nil:
		l.errorf(docPos, "document has no kind: add kind: Cluster, Connection or TrustedEnvironment")
		l.markBroken(rel, root, kind)
		return
	case !known:
		l.errorf(*kindPos, "unknown kind %q%s: a document is a Cluster, Connection or TrustedEnvironment", kind, didYouMean(kind, kindNames))
		l.markBroken(rel, root, "")
		return
	}

	// The document is decoded and validated even when the walk found
	// problems: an unknown field or a key set twice loses nothing, and a
	// value that could not be decoded is "lost" (validation is silent
	// about it). So every problem of every document comes out at once,
	// cross-document ones (duplicate names, references) included; the
	// set is rejected all the same.
	obj := reflect.New(t)
	w := &walker{file: rel, pos: make(map[string]Pos, 32)}
	w.pos[""] = docPos
	w.walk(root, nil, obj.Elem(), "")
	l.problems = append(l.problems, w.problems...)
	m := &meta{file: rel, base: filepath.Join(l.abs, filepath.FromSlash(pathDir(strings.TrimPrefix(rel, l.prefix)))), pos: w.pos, lost: w.lost}
	switch v := obj.Interface().(type) {
	case *Cluster:
		v.Pos = docPos
		l.set.Clusters = append(l.set.Clusters, v)
		l.set.meta[v] = m
		m.secretRefs(&v.Elasticsearch.Auth, "elasticsearch.auth")
		if v.Deployment != nil {
			m.secretRefs(&v.Deployment.Auth, "deployment.auth")
		}
	case *Connection:
		v.Pos = docPos
		l.set.Connections = append(l.set.Connections, v)
		l.set.meta[v] = m
		if v.APIKey != nil && v.APIKey.Credentials != nil {
			m.secretRef(v.APIKey.Credentials, "api_key.credentials")
		}
		for i := range v.Roles {
			v.Roles[i].Pos = m.at(fmt.Sprintf("roles[%d]", i))
		}
	case *TrustedEnvironment:
		v.Pos = docPos
		l.set.TrustedEnvironments = append(l.set.TrustedEnvironments, v)
		l.set.meta[v] = m
	}
}

// markBroken remembers a document that could not be decoded at all, by
// kind and name, so that references to it are not reported again as
// undeclared.
func (l *loader) markBroken(rel string, root *yaml.Node, kind string) {
	name, _ := scalarField(rel, root, "name")
	if name == "" {
		return
	}
	if l.set.broken == nil {
		l.set.broken = map[string]bool{}
	}
	if kind == "" {
		// Without a (known) kind it may have been any of them.
		for _, k := range kindNames {
			l.set.broken[k+"/"+name] = true
		}
		return
	}
	l.set.broken[kind+"/"+name] = true
}

// pathDir is path.Dir for slash paths, "" for files at the top.
func pathDir(rel string) string {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[:i]
	}
	return ""
}

// scalarField returns the value and position of a top-level scalar key, or
// a nil position when the key is absent.
func scalarField(rel string, m *yaml.Node, key string) (string, *Pos) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			v := m.Content[i+1]
			if v.Kind == yaml.AliasNode {
				v = v.Alias
			}
			p := nodePos(rel, v)
			if v.Kind != yaml.ScalarNode {
				return "", &p
			}
			return v.Value, &p
		}
	}
	return "", nil
}

func nodePos(rel string, n *yaml.Node) Pos {
	return Pos{File: rel, Line: max(n.Line, 1), Column: max(n.Column, 1)}
}

// hasAlias reports whether the tree holds an alias node. It is the cheap
// common case of checkAliases: without aliases, the tree is a tree.
func hasAlias(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode {
		return true
	}
	for _, c := range n.Content {
		if hasAlias(c) {
			return true
		}
	}
	return false
}

// checkAliases refuses documents whose aliases expand to far more nodes
// than the document holds (alias bombs) and aliases that contain
// themselves. It visits every node once.
func checkAliases(root *yaml.Node) error {
	if !hasAlias(root) {
		return nil
	}
	const inProgress = -1
	sizes := map[*yaml.Node]int{}
	physical := 0
	var size func(n *yaml.Node) (int, error)
	size = func(n *yaml.Node) (int, error) {
		if s, ok := sizes[n]; ok {
			if s == inProgress {
				return 0, fmt.Errorf("YAML alias at line %d refers to a node that contains it", n.Line)
			}
			return s, nil
		}
		sizes[n] = inProgress
		physical++
		total := 1
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			s, err := size(n.Alias)
			if err != nil {
				return 0, err
			}
			total += s
		}
		for _, c := range n.Content {
			s, err := size(c)
			if err != nil {
				return 0, err
			}
			total += s
			if total-physical > maxAliasNodes {
				return 0, fmt.Errorf("YAML aliases expand this document to more than %d extra nodes (an alias bomb?): write the values out instead", maxAliasNodes)
			}
		}
		sizes[n] = total
		return total, nil
	}
	total, err := size(root)
	if err != nil {
		return err
	}
	if total-physical > maxAliasNodes {
		return fmt.Errorf("YAML aliases expand this document to more than %d extra nodes (an alias bomb?): write the values out instead", maxAliasNodes)
	}
	return nil
}
