package main

// Argo Workflows' own checks, as its controller and server run them before a workflow runs
// (github.com/argoproj/argo-workflows/v4 v4.0.5):
//   - workflow/controller/operator.go, operate: validate.ValidateWorkflow with
//     validate.ValidateOpts{} and the controller's WorkflowDefaults (none: the chart sets none);
//   - server/workflow/workflow_server.go CreateWorkflow, server/workflowtemplate
//     CreateWorkflowTemplate, server/cronworkflow CreateCronWorkflow,
//     server/clusterworkflowtemplate CreateClusterWorkflowTemplate: the same functions with
//     ValidateOpts{} on create;
//   - workflow/cron/operator.go: validate.ValidateCronWorkflow before each scheduled run.
// WorkflowTemplates and ClusterWorkflowTemplates are looked up among the objects given, the way
// templateresolution's getters look them up in the cluster (NotFound otherwise).

import (
	"context"
	"encoding/json"
	"io"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	wfv1 "github.com/argoproj/argo-workflows/v4/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v4/util/logging"
	"github.com/argoproj/argo-workflows/v4/workflow/validate"
)

// namespaceTemplates is a templateresolution.WorkflowTemplateNamespacedGetter over the input.
type namespaceTemplates map[string]*wfv1.WorkflowTemplate

func (n namespaceTemplates) Get(_ context.Context, name string) (*wfv1.WorkflowTemplate, error) {
	if t, ok := n[name]; ok {
		return t.DeepCopy(), nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Group: "argoproj.io", Resource: "workflowtemplates"}, name)
}

// clusterTemplates is a templateresolution.ClusterWorkflowTemplateGetter over the input.
type clusterTemplates map[string]*wfv1.ClusterWorkflowTemplate

func (c clusterTemplates) Get(_ context.Context, name string) (*wfv1.ClusterWorkflowTemplate, error) {
	if t, ok := c[name]; ok {
		return t.DeepCopy(), nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Group: "argoproj.io", Resource: "clusterworkflowtemplates"}, name)
}

// workflowChecker holds the templates of the whole input, by namespace.
type workflowChecker struct {
	namespaced map[string]namespaceTemplates
	cluster    clusterTemplates
	ctx        context.Context
}

func newWorkflowChecker() *workflowChecker {
	// validate logs warnings through the logger it requires in the context; they are not
	// findings (e.g. "GlobalName is a parameter and won't be validated until runtime").
	logger := logging.NewSlogLoggerCustom(logging.Error, logging.Text, io.Discard)
	return &workflowChecker{
		namespaced: map[string]namespaceTemplates{},
		cluster:    clusterTemplates{},
		ctx:        logging.WithLogger(context.Background(), logger),
	}
}

func (w *workflowChecker) getter(namespace string) namespaceTemplates {
	if g, ok := w.namespaced[namespace]; ok {
		return g
	}
	return namespaceTemplates{}
}

// remember makes a (Cluster)WorkflowTemplate of the input resolvable by the others.
func (w *workflowChecker) remember(kind string, obj map[string]any) {
	switch kind {
	case "WorkflowTemplate":
		t := &wfv1.WorkflowTemplate{}
		if decode(obj, t) == nil {
			if w.namespaced[t.Namespace] == nil {
				w.namespaced[t.Namespace] = namespaceTemplates{}
			}
			w.namespaced[t.Namespace][t.Name] = t
		}
	case "ClusterWorkflowTemplate":
		t := &wfv1.ClusterWorkflowTemplate{}
		if decode(obj, t) == nil {
			w.cluster[t.Name] = t
		}
	}
}

// check runs Argo's validation for one object already through the API server's create path.
func (w *workflowChecker) check(kind string, obj map[string]any) []Problem {
	var err error
	switch kind {
	case "Workflow":
		wf := &wfv1.Workflow{}
		if err = decode(obj, wf); err == nil {
			err = validate.ValidateWorkflow(w.ctx, w.getter(wf.Namespace), w.cluster, wf, nil, validate.ValidateOpts{})
		}
	case "WorkflowTemplate":
		t := &wfv1.WorkflowTemplate{}
		if err = decode(obj, t); err == nil {
			err = validate.ValidateWorkflowTemplate(w.ctx, w.getter(t.Namespace), w.cluster, t, nil, validate.ValidateOpts{})
		}
	case "ClusterWorkflowTemplate":
		t := &wfv1.ClusterWorkflowTemplate{}
		if err = decode(obj, t); err == nil {
			err = validate.ValidateClusterWorkflowTemplate(w.ctx, nil, w.cluster, t, nil, validate.ValidateOpts{})
		}
	case "CronWorkflow":
		c := &wfv1.CronWorkflow{}
		if err = decode(obj, c); err == nil {
			err = validate.ValidateCronWorkflow(w.ctx, w.getter(c.Namespace), w.cluster, c, nil)
		}
	}
	if err != nil {
		return []Problem{messageProblem(stageWorkflows, err.Error(), specFields)}
	}
	return nil
}

// specFields: the names Argo Workflows' messages start their field paths with.
var specFields = jsonFields(wfv1.WorkflowSpec{})

// decode is what the controller's informer does with the stored JSON (encoding/json into the
// typed object; unknown fields were already pruned by the API server).
func decode(obj map[string]any, into any) error {
	data, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, into)
}
