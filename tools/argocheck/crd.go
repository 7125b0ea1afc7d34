package main

// The Kubernetes API server's create path for a custom resource, run in-process with the
// apiextensions-apiserver module's own code. The CRDs are read at start from the Argo modules
// in the Go module cache (nothing of Argo's is copied into this repository).
//
// What the server does, and where (k8s.io/apiextensions-apiserver v0.33.1):
//   - pkg/apiserver/customresource_handler.go, getOrCreateServingInfoFor: the structural
//     schema (structuralschema.NewStructural + structuraldefaulting.PruneDefaults), the schema
//     validator (apiservervalidation.NewSchemaValidator) and customresource.NewStrategy;
//   - same file, unstructuredSchemaCoercer.apply: object-meta coercion and pruning of unknown
//     fields (pruning.PruneWithOptions), whose paths become `unknown field "..."` errors when
//     the request asks for fieldValidation=Strict (what `kubectl apply` sends by default);
//   - unstructuredDefaulter.Default: structuraldefaulting.Default;
//   - k8s.io/apiserver pkg/registry/rest/create.go, BeforeCreate: PrepareForCreate, the
//     strategy's Validate and ValidateObjectMeta.
//
// The strategy's Validate is pkg/registry/customresource/strategy.go customResourceStrategy
// (with validator.go customResourceValidator). That package cannot be linked here: it pulls the
// etcd storage factory of k8s.io/apiserver v0.33.1, which does not compile against the newer
// otelgrpc Argo Events needs (undefined: otelgrpc.UnaryClientInterceptor). So crStrategy below
// calls the same apiextensions functions, in the same order, with the same arguments:
// type meta, object meta (NameIsDNSSubdomain), ValidateCustomResource (OpenAPI schema: types,
// enums, maxItems such as 200 templates or 200 DAG tasks), embedded-resource metadata,
// list-type invariants, then the CEL x-kubernetes-validations unless an error blocks them.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"k8s.io/apiextensions-apiserver/pkg/apihelpers"
	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structurallisttype "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apiextensions-apiserver/pkg/crdserverscheme"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage/names"
	"sigs.k8s.io/yaml"
)

// crdFiles: kind -> the CRD file inside its module, as shipped in the module zip.
var crdFiles = map[string]struct{ module, path string }{
	"Workflow":                {workflowsModule, "manifests/base/crds/full/argoproj.io_workflows.yaml"},
	"WorkflowTemplate":        {workflowsModule, "manifests/base/crds/full/argoproj.io_workflowtemplates.yaml"},
	"ClusterWorkflowTemplate": {workflowsModule, "manifests/base/crds/full/argoproj.io_clusterworkflowtemplates.yaml"},
	"CronWorkflow":            {workflowsModule, "manifests/base/crds/full/argoproj.io_cronworkflows.yaml"},
	"EventSource":             {eventsModule, "manifests/base/crds/argoproj.io_eventsources.yaml"},
	"Sensor":                  {eventsModule, "manifests/base/crds/argoproj.io_sensors.yaml"},
	"EventBus":                {eventsModule, "manifests/base/crds/argoproj.io_eventbus.yaml"},
}

// served is what the API server builds once per CRD version.
type served struct {
	gvk        schema.GroupVersionKind
	namespaced bool
	structural *structuralschema.Structural
	strategy   *crStrategy
}

// crdSet reads and serves a CRD the first time an object of its kind comes (the full
// Workflow CRD alone is 2.6 MB of YAML: reading only the ones needed halves a small check).
type crdSet struct {
	dirs   map[string]string // module -> its directory in the module cache
	byKind map[string]*served
}

func newCRDSet(dirs map[string]string) *crdSet {
	return &crdSet{dirs: dirs, byKind: map[string]*served{}}
}

// file is where the CRD of kind is read from ("" for kinds argocheck does not check).
func (c *crdSet) file(kind string) string {
	ref, ok := crdFiles[kind]
	if !ok {
		return ""
	}
	return filepath.Join(c.dirs[ref.module], filepath.FromSlash(ref.path))
}

func (c *crdSet) get(kind string) (*served, error) {
	if s, ok := c.byKind[kind]; ok {
		return s, nil
	}
	file := c.file(kind)
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading the %s CRD: %w", kind, err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal(data, crd); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	s, err := serve(crd)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	c.byKind[kind] = s
	return s, nil
}

// serve mirrors getOrCreateServingInfoFor for the storage version of crd.
func serve(crd *apiextensionsv1.CustomResourceDefinition) (*served, error) {
	var version string
	for _, v := range crd.Spec.Versions {
		if v.Served && v.Storage {
			version = v.Name
		}
	}
	if version == "" {
		return nil, errors.New("no served storage version")
	}
	val, err := apihelpers.GetSchemaForVersion(crd, version)
	if err != nil || val == nil {
		return nil, fmt.Errorf("no schema for version %s: %v", version, err)
	}
	internal := &apiextensionsinternal.CustomResourceValidation{}
	if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(val, internal, nil); err != nil {
		return nil, err
	}
	structural, err := structuralschema.NewStructural(internal.OpenAPIV3Schema)
	if err != nil {
		return nil, fmt.Errorf("not a structural schema: %w", err)
	}
	structural = structural.DeepCopy()
	if err := structuraldefaulting.PruneDefaults(structural); err != nil {
		return nil, err
	}
	validator, _, err := apiservervalidation.NewSchemaValidator(internal.OpenAPIV3Schema)
	if err != nil {
		return nil, err
	}
	subresources, err := apihelpers.GetSubresourcesForVersion(crd, version)
	if err != nil {
		return nil, err
	}
	gvk := schema.GroupVersionKind{Group: crd.Spec.Group, Version: version, Kind: crd.Spec.Names.Kind}
	namespaced := crd.Spec.Scope == apiextensionsv1.NamespaceScoped
	strategy := &crStrategy{
		ObjectTyper:   crdserverscheme.NewUnstructuredObjectTyper(),
		NameGenerator: names.SimpleNameGenerator,
		namespaced:    namespaced,
		kind:          gvk,
		hasStatus:     subresources != nil && subresources.Status != nil,
		validator:     validator,
		structural:    structural,
		// NewStrategy: CEL programs compiled once, per-call cost limit of the API server
		cel: cel.NewValidator(structural, true, celconfig.PerCallLimit),
	}
	return &served{gvk: gvk, namespaced: namespaced, structural: structural, strategy: strategy}, nil
}

// create runs the API server's create path on obj (changed in place: pruned, defaulted, name
// generated, status cleared) and returns every problem it reports, as Kubernetes words them.
func (s *served) create(obj map[string]any, namespace string) []Problem {
	var problems []Problem
	u := &unstructured.Unstructured{Object: obj}

	// unstructuredSchemaCoercer.apply with returnUnknownFieldPaths (fieldValidation=Strict)
	objectMeta, foundMeta, unknown, err := schemaobjectmeta.GetObjectMetaWithOptions(u.Object,
		schemaobjectmeta.ObjectMetaOptions{ReturnUnknownFieldPaths: true})
	if err != nil {
		return []Problem{{Stage: stageSchema, Field: "metadata", Message: err.Error()}}
	}
	unknown = append(unknown, structuralpruning.PruneWithOptions(u.Object, s.structural, true,
		structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})...)
	structuraldefaulting.PruneNonNullableNullsWithoutDefaults(u.Object, s.structural)
	if ferr, paths := schemaobjectmeta.CoerceWithOptions(nil, u.Object, s.structural, false,
		schemaobjectmeta.CoerceOptions{ReturnUnknownFieldPaths: true}); ferr != nil {
		problems = append(problems, fieldProblem(stageSchema, ferr.Field, ferr.ErrorBody()))
	} else {
		unknown = append(unknown, paths...)
	}
	if foundMeta {
		if err := schemaobjectmeta.SetObjectMeta(u.Object, objectMeta); err != nil {
			problems = append(problems, Problem{Stage: stageSchema, Field: "metadata", Message: err.Error()})
		}
	}
	sort.Strings(unknown)
	for _, path := range unknown {
		// customresource_handler.go: schemaCoercingDecoder.Decode's strict decoding error
		problems = append(problems, Problem{Stage: stageSchema, Field: path,
			Message: fmt.Sprintf("unknown field %q", path)})
	}

	// unstructuredDefaulter.Default
	structuraldefaulting.Default(u.Object, s.structural)

	// the generic registry store's Create: system fields, generated name, then BeforeCreate
	ctx := genericapirequest.WithNamespace(context.Background(), "")
	if s.namespaced {
		if u.GetNamespace() == "" {
			u.SetNamespace(namespace)
		}
		ctx = genericapirequest.WithNamespace(context.Background(), u.GetNamespace())
	}
	rest.FillObjectMetaSystemFields(u)
	if u.GetName() == "" && u.GetGenerateName() != "" {
		u.SetName(s.strategy.GenerateName(u.GetGenerateName()))
	}
	if err := rest.BeforeCreate(s.strategy, ctx, u); err != nil {
		problems = append(problems, statusProblems(err)...)
	}
	return problems
}

// statusProblems turns the API server's StatusError into one problem per cause.
func statusProblems(err error) []Problem {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		st := status.Status()
		if st.Details != nil && len(st.Details.Causes) > 0 {
			out := make([]Problem, 0, len(st.Details.Causes))
			for _, c := range st.Details.Causes {
				field := c.Field
				if field == "<nil>" { // a cause about the whole object (field.Path nil)
					field = ""
				}
				out = append(out, Problem{Stage: stageSchema, Field: field, Message: c.Message})
			}
			return out
		}
		return []Problem{{Stage: stageSchema, Message: st.Message}}
	}
	return []Problem{{Stage: stageSchema, Message: err.Error()}}
}

// crStrategy is the create half of customResourceStrategy (see the top of this file).
type crStrategy struct {
	runtime.ObjectTyper
	names.NameGenerator
	namespaced bool
	kind       schema.GroupVersionKind
	hasStatus  bool
	validator  apiservervalidation.SchemaValidator
	structural *structuralschema.Structural
	cel        *cel.Validator
}

func (s *crStrategy) NamespaceScoped() bool { return s.namespaced }

// PrepareForCreate: "create cannot set status"; generation starts at 1.
func (s *crStrategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	u := obj.(*unstructured.Unstructured)
	if s.hasStatus {
		delete(u.Object, "status")
	}
	u.SetGeneration(1)
}

func (s *crStrategy) Validate(ctx context.Context, obj runtime.Object) field.ErrorList {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return field.ErrorList{field.InternalError(nil, fmt.Errorf("%T is not unstructured", obj))}
	}
	// customResourceValidator.Validate (no scale subresource in Argo's CRDs)
	if errs := s.validateTypeMeta(u); len(errs) > 0 {
		return errs
	}
	var errs field.ErrorList
	errs = append(errs, validation.ValidateObjectMetaAccessor(u, s.namespaced, validation.NameIsDNSSubdomain, field.NewPath("metadata"))...)
	errs = append(errs, apiservervalidation.ValidateCustomResource(nil, u.UnstructuredContent(), s.validator)...)
	// customResourceStrategy.Validate
	errs = append(errs, schemaobjectmeta.Validate(nil, u.Object, s.structural, false)...)
	errs = append(errs, structurallisttype.ValidateListSetsAndMaps(nil, s.structural, u.Object)...)
	if s.cel != nil {
		if blocked := blockingError(errs); blocked != nil {
			errs = append(errs, blocked)
		} else {
			celErrs, _ := s.cel.Validate(ctx, nil, s.structural, u.Object, nil, celconfig.RuntimeCELCostBudget)
			errs = append(errs, celErrs...)
		}
	}
	return errs
}

func (s *crStrategy) validateTypeMeta(u *unstructured.Unstructured) field.ErrorList {
	typeAccessor, err := meta.TypeAccessor(u)
	if err != nil {
		return field.ErrorList{field.Invalid(field.NewPath("kind"), nil, err.Error())}
	}
	var errs field.ErrorList
	if typeAccessor.GetKind() != s.kind.Kind {
		errs = append(errs, field.Invalid(field.NewPath("kind"), typeAccessor.GetKind(), fmt.Sprintf("must be %v", s.kind.Kind)))
	}
	if typeAccessor.GetAPIVersion() != s.kind.Group+"/"+s.kind.Version {
		errs = append(errs, field.Invalid(field.NewPath("apiVersion"), typeAccessor.GetAPIVersion(), fmt.Sprintf("must be %v", s.kind.Group+"/"+s.kind.Version)))
	}
	return errs
}

// blockingError: the error kinds after which strategy.go's hasBlockingErr skips the CEL rules.
func blockingError(errs field.ErrorList) *field.Error {
	for _, err := range errs {
		switch err.Type {
		case field.ErrorTypeNotSupported, field.ErrorTypeRequired, field.ErrorTypeTooLong,
			field.ErrorTypeTooMany, field.ErrorTypeTypeInvalid:
			return field.Invalid(nil, nil, "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation")
		}
	}
	return nil
}

func (s *crStrategy) WarningsOnCreate(context.Context, runtime.Object) []string { return nil }

func (s *crStrategy) Canonicalize(runtime.Object) {}
