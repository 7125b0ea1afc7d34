// Command argocheck validates Argo manifests with Argo's and Kubernetes' own code, in the order
// a cluster applies it before anything runs:
//
//  1. the API server's create path for the custom resource (structural schema of Argo's full
//     CRDs: unknown fields, types, maxItems such as 200 templates or 200 DAG tasks, CEL rules,
//     object metadata), with k8s.io/apiextensions-apiserver;
//  2. Argo Workflows' workflow/validate (ValidateWorkflow, ValidateWorkflowTemplate,
//     ValidateClusterWorkflowTemplate, ValidateCronWorkflow), with workflowTemplateRef and
//     templateRef resolved against the templates given in the same input;
//  3. Argo Events' controllers' validation of EventSource, Sensor and EventBus.
//
// Usage: argocheck [--json] [--namespace NS] [FILE|-]...   (no FILE: standard input)
// Exit status: 0 every object valid, 1 some object invalid, 2 usage error or unreadable input.
//
// The CRDs are read at start from the Argo modules this binary was built with, in the Go module
// cache (see moduleDir): nothing of Argo's is copied into this repository.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"
	"unicode"

	_ "argocheck/internal/protoconflict" // first: see its doc

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const (
	workflowsModule = "github.com/argoproj/argo-workflows/v4"
	eventsModule    = "github.com/argoproj/argo-events"

	stageSchema    = "crd-schema"
	stageWorkflows = "argo-workflows"
	stageEvents    = "argo-events"
)

var workflowKinds = map[string]bool{"Workflow": true, "WorkflowTemplate": true,
	"ClusterWorkflowTemplate": true, "CronWorkflow": true}
var eventKinds = map[string]bool{"EventSource": true, "Sensor": true, "EventBus": true}

// Problem is one finding: where in the object, and the message of the code that found it.
type Problem struct {
	Stage   string `json:"stage"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Object is the outcome for one document of the input.
type Object struct {
	Source     string    `json:"source"`
	Document   int       `json:"document"`
	APIVersion string    `json:"apiVersion"`
	Kind       string    `json:"kind"`
	Name       string    `json:"name"`
	Namespace  string    `json:"namespace,omitempty"`
	Status     string    `json:"status"` // valid | invalid | skipped
	Problems   []Problem `json:"problems"`
	Notes      []string  `json:"notes,omitempty"`
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("argocheck", flag.ContinueOnError)
	flags.SetOutput(stderr)
	asJSON := flags.Bool("json", false, "print one JSON document with every object's outcome")
	namespace := flags.String("namespace", "default", "namespace of objects that give none (the request's namespace)")
	modcache := flags.String("modcache", "", "Go module cache holding the Argo modules [$GOMODCACHE, `go env GOMODCACHE`, ~/go/pkg/mod]")
	stdinName := flags.String("stdin-name", "<stdin>", "the name standard input goes by in messages")
	version := flags.Bool("version", false, "print the Argo versions this binary validates with, and where their CRDs are read from")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: argocheck [--json] [--namespace NS] [FILE|-]...\n\n"+
			"Validates Argo manifests with Argo's own code: the API server's checks against Argo's full CRDs,\n"+
			"then Argo Workflows' workflow/validate and Argo Events' validation. No FILE: standard input.\n"+
			"Exit: 0 valid, 1 invalid, 2 usage error or unreadable input.")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	dirs, versions, err := moduleDirs(*modcache)
	if err != nil {
		fmt.Fprintf(stderr, "argocheck: %v\n", err)
		return 2
	}
	crds := newCRDSet(dirs)
	if *version {
		fmt.Fprintf(stdout, "%s %s\n%s %s\n", workflowsModule, versions[workflowsModule], eventsModule, versions[eventsModule])
		for _, kind := range sortedKinds() {
			if _, err := crds.get(kind); err != nil {
				fmt.Fprintf(stderr, "argocheck: %v\n", err)
				return 2
			}
			fmt.Fprintf(stdout, "CRD %s: %s\n", kind, crds.file(kind))
		}
		return 0
	}

	sources := flags.Args()
	if len(sources) == 0 {
		sources = []string{"-"}
	}
	var docs []document
	for _, src := range sources {
		found, err := readDocuments(src, *stdinName, stdin)
		if err != nil {
			fmt.Fprintf(stderr, "argocheck: %v\n", err)
			return 2
		}
		docs = append(docs, found...)
	}

	objects, err := check(crds, docs, *namespace)
	if err != nil {
		fmt.Fprintf(stderr, "argocheck: %v (rebuild with `go build` in tools/argocheck, or give --modcache)\n", err)
		return 2
	}
	invalid := 0
	for _, o := range objects {
		if o.Status == "invalid" {
			invalid++
		}
	}
	if *asJSON {
		out, _ := json.MarshalIndent(map[string]any{
			"valid":    invalid == 0,
			"versions": versions,
			"objects":  objects,
		}, "", "  ")
		fmt.Fprintln(stdout, string(out))
	} else {
		printHuman(stdout, objects, invalid)
	}
	if invalid > 0 {
		return 1
	}
	return 0
}

type document struct {
	source string
	index  int // 1-based position among the documents of its source
	object map[string]any
}

// readDocuments splits a multi-document YAML (or JSON) stream; empty documents are skipped.
func readDocuments(src, stdinName string, stdin io.Reader) ([]document, error) {
	var reader io.Reader = stdin
	name := stdinName
	if src != "-" {
		f, err := os.Open(src)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		reader, name = f, src
	}
	yr := utilyaml.NewYAMLReader(bufio.NewReader(reader))
	var out []document
	for i := 1; ; i++ {
		chunk, err := yr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if len(bytes.TrimSpace(chunk)) == 0 {
			continue
		}
		var obj map[string]any
		if err := yaml.Unmarshal(chunk, &obj); err != nil {
			return nil, fmt.Errorf("%s: document %d: not a YAML object: %w", name, i, err)
		}
		if obj == nil {
			continue
		}
		out = append(out, document{source: name, index: i, object: obj})
	}
}

func check(crds *crdSet, docs []document, namespace string) ([]Object, error) {
	workflows := newWorkflowChecker()
	events := newEventsChecker()
	objects := make([]Object, len(docs))
	// first the API server's view of every object (pruned, defaulted, namespaced), so that
	// templates and event buses are resolvable from any position in the input
	for i, d := range docs {
		o := &objects[i]
		o.Source, o.Document = d.source, d.index
		o.APIVersion, _ = d.object["apiVersion"].(string)
		o.Kind, _ = d.object["kind"].(string)
		o.Name = objectName(d.object)
		o.Problems = []Problem{}
		if crds.file(o.Kind) == "" || !strings.HasPrefix(o.APIVersion, "argoproj.io/") {
			o.Status = "skipped"
			o.Notes = append(o.Notes, fmt.Sprintf("%s %s is not an Argo kind: passed over", o.APIVersion, o.Kind))
			continue
		}
		served, err := crds.get(o.Kind)
		if err != nil {
			return nil, err
		}
		o.Problems = append(o.Problems, served.create(d.object, namespace)...)
		if served.namespaced {
			o.Namespace = metaString(d.object, "namespace")
		}
		workflows.remember(o.Kind, d.object)
		events.remember(o.Kind, d.object)
	}
	for i, d := range docs {
		o := &objects[i]
		if o.Status == "skipped" {
			continue
		}
		if workflowKinds[o.Kind] {
			o.Problems = append(o.Problems, workflows.check(o.Kind, d.object)...)
		} else if eventKinds[o.Kind] {
			problems, notes := events.check(o.Kind, d.object)
			o.Problems = append(o.Problems, problems...)
			o.Notes = append(o.Notes, notes...)
		}
		if o.Kind == "Sensor" {
			problems, notes, err := checkSubmitted(crds, workflows, d.object)
			if err != nil {
				return nil, err
			}
			o.Problems = append(o.Problems, problems...)
			o.Notes = append(o.Notes, notes...)
		}
		o.Status = "valid"
		if len(o.Problems) > 0 {
			o.Status = "invalid"
		}
	}
	return objects, nil
}

// checkSubmitted checks the Workflows a Sensor's triggers create (argoWorkflow, or k8s with a
// Workflow resource) as they would reach the cluster: through the API server's create path and
// Argo's validation, in the Sensor's namespace when they name none (argo-events v1.9.11
// pkg/sensors/triggers/argo-workflow/argo-workflow.go). Argo Events' own validation does not
// look inside them. Trigger parameters that rewrite them at run time are not applied.
func checkSubmitted(crds *crdSet, workflows *workflowChecker, sensor map[string]any) ([]Problem, []string, error) {
	var problems []Problem
	var notes []string
	spec, _ := sensor["spec"].(map[string]any)
	triggers, _ := spec["triggers"].([]any)
	for i, t := range triggers {
		trigger, _ := t.(map[string]any)
		template, _ := trigger["template"].(map[string]any)
		for _, kind := range []string{"argoWorkflow", "k8s"} {
			typed, _ := template[kind].(map[string]any)
			source, _ := typed["source"].(map[string]any)
			resource, _ := source["resource"].(map[string]any)
			if resource == nil || resource["kind"] != "Workflow" {
				continue
			}
			apiVersion, _ := resource["apiVersion"].(string)
			if !strings.HasPrefix(apiVersion, "argoproj.io/") {
				continue
			}
			var wf map[string]any
			if err := decode(resource, &wf); err != nil { // a copy: the checks change it
				return nil, nil, err
			}
			served, err := crds.get("Workflow")
			if err != nil {
				return nil, nil, err
			}
			path := fmt.Sprintf("spec.triggers[%d].template.%s.source.resource", i, kind)
			found := served.create(wf, metaString(sensor, "namespace"))
			found = append(found, workflows.check("Workflow", wf)...)
			for _, p := range found {
				p.Field = strings.TrimSuffix(path+"."+p.Field, ".")
				problems = append(problems, p)
			}
			name, _ := template["name"].(string)
			notes = append(notes, fmt.Sprintf("also checked the Workflow trigger %q submits (%s)", name, path))
		}
	}
	return problems, notes, nil
}

func printHuman(w io.Writer, objects []Object, invalid int) {
	for _, o := range objects {
		where := fmt.Sprintf("%s#%d %s/%s", o.Source, o.Document, o.Kind, o.Name)
		for _, n := range o.Notes {
			fmt.Fprintf(w, "%s: note: %s\n", where, n)
		}
		for _, p := range o.Problems {
			field := p.Field
			if field == "" {
				field = "(object)"
			}
			fmt.Fprintf(w, "%s: %s: %s [%s]\n", where, field, p.Message, p.Stage)
		}
	}
	checked := 0
	for _, o := range objects {
		if o.Status != "skipped" {
			checked++
		}
	}
	if invalid > 0 {
		fmt.Fprintf(w, "%d of %d Argo object(s) invalid\n", invalid, checked)
	} else {
		fmt.Fprintf(w, "%d Argo object(s) valid\n", checked)
	}
}

func objectName(obj map[string]any) string {
	if n := metaString(obj, "name"); n != "" {
		return n
	}
	if n := metaString(obj, "generateName"); n != "" {
		return n
	}
	return "?"
}

func metaString(obj map[string]any, key string) string {
	meta, _ := obj["metadata"].(map[string]any)
	s, _ := meta[key].(string)
	return s
}

func fieldProblem(stage, field, message string) Problem {
	return Problem{Stage: stage, Field: field, Message: message}
}

// leadingPath is the field path Argo's messages start with ("templates.main.dag.tasks ...",
// "spec.templates[0].name ...", "podGC.strategy ...").
var leadingPath = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9]*)([.\[][^\s:'"]*)?:?\s`)

// messageProblem keeps the message verbatim and names the field it is about: the path the
// message starts with when its first name is a field of the object (Argo Workflows' messages
// are relative to spec), else spec.
func messageProblem(stage, message string, fields map[string]bool) Problem {
	field := "spec"
	if m := leadingPath.FindStringSubmatch(message); m != nil && m[2] != "" {
		switch {
		case m[1] == "spec" || m[1] == "metadata":
			field = m[1] + m[2]
		case fields[m[1]]:
			field = "spec." + m[1] + m[2]
		}
	}
	return Problem{Stage: stage, Field: field, Message: message}
}

// jsonFields: the JSON names of a struct's fields (those a message may start with).
func jsonFields(v any) map[string]bool {
	out := map[string]bool{}
	t := reflect.TypeOf(v)
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out[name] = true
		}
	}
	return out
}

// moduleDirs finds the Argo modules this binary was built with in the Go module cache.
func moduleDirs(modcache string) (map[string]string, map[string]string, error) {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return nil, nil, errors.New("no build information in this binary")
	}
	versions := map[string]string{}
	for _, dep := range info.Deps {
		if dep.Path == workflowsModule || dep.Path == eventsModule {
			if dep.Replace != nil {
				dep = dep.Replace
			}
			versions[dep.Path] = dep.Version
		}
	}
	if modcache == "" {
		modcache = findModCache()
	}
	dirs := map[string]string{}
	for _, mod := range []string{workflowsModule, eventsModule} {
		v, ok := versions[mod]
		if !ok {
			return nil, nil, fmt.Errorf("%s is not in this binary's build information", mod)
		}
		dir := filepath.Join(modcache, escapeModulePath(mod)+"@"+escapeModulePath(v))
		if _, err := os.Stat(dir); err != nil {
			return nil, nil, fmt.Errorf("%s %s is not in the Go module cache %s (run `go mod download` in tools/argocheck, or give --modcache)", mod, v, modcache)
		}
		dirs[mod] = dir
	}
	return dirs, versions, nil
}

func findModCache() string {
	if d := os.Getenv("GOMODCACHE"); d != "" {
		return d
	}
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		if d := strings.TrimSpace(string(out)); d != "" {
			return d
		}
	}
	if p := os.Getenv("GOPATH"); p != "" {
		return filepath.Join(filepath.SplitList(p)[0], "pkg", "mod")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, "go", "pkg", "mod")
}

// escapeModulePath is the module cache's case encoding: an upper-case letter becomes '!' and
// its lower case (golang.org/x/mod/module.EscapePath).
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			b.WriteRune(unicode.ToLower(r))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func sortedKinds() []string {
	keys := make([]string, 0, len(crdFiles))
	for k := range crdFiles {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
