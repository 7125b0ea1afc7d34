package main

// Argo Events' own checks (github.com/argoproj/argo-events v1.9.11), as its controllers run them
// before they deploy anything:
//   - pkg/reconciler/eventsource/controller.go reconcile -> eventsource.ValidateEventSource
//     (every event source's own ValidateEventSource, duplicate event names, mixed update
//     strategies);
//   - pkg/reconciler/sensor/controller.go reconcile: gets the EventBus named by
//     spec.eventBusName ("default" when empty) in the Sensor's namespace, then
//     sensor.ValidateSensor(sensor, eventBus);
//   - pkg/reconciler/eventbus/controller.go reconcile -> eventbus.ValidateEventBus.
// Argo Events' CRDs keep unknown fields (x-kubernetes-preserve-unknown-fields) and its
// controllers decode leniently, so a misspelled field would be silently ignored. A strict
// decode (sigs.k8s.io/json, the decoder Kubernetes uses for fieldValidation=Strict) reports it.

import (
	"encoding/json"
	"fmt"

	sigsjson "sigs.k8s.io/json"

	aev1 "github.com/argoproj/argo-events/pkg/apis/events/v1alpha1"
	eventbuscontroller "github.com/argoproj/argo-events/pkg/reconciler/eventbus"
	eventsourcecontroller "github.com/argoproj/argo-events/pkg/reconciler/eventsource"
	sensorcontroller "github.com/argoproj/argo-events/pkg/reconciler/sensor"
)

type eventsChecker struct {
	buses map[string]*aev1.EventBus // namespace/name -> EventBus of the input
}

func newEventsChecker() *eventsChecker {
	return &eventsChecker{buses: map[string]*aev1.EventBus{}}
}

func (e *eventsChecker) remember(kind string, obj map[string]any) {
	if kind != "EventBus" {
		return
	}
	bus := &aev1.EventBus{}
	if decode(obj, bus) == nil {
		e.buses[bus.Namespace+"/"+bus.Name] = bus
	}
}

// check returns the problems and the notes (facts about how the check was made) for obj.
func (e *eventsChecker) check(kind string, obj map[string]any) ([]Problem, []string) {
	var problems []Problem
	var notes []string
	strict := func(into any) bool {
		data, err := json.Marshal(obj)
		if err != nil {
			problems = append(problems, messageProblem(stageEvents, err.Error(), nil))
			return false
		}
		strictErrs, err := sigsjson.UnmarshalStrict(data, into, sigsjson.DisallowUnknownFields)
		if err != nil {
			problems = append(problems, messageProblem(stageEvents, err.Error(), nil))
			return false
		}
		for _, se := range strictErrs {
			problems = append(problems, strictProblem(se))
		}
		return true
	}
	var err error
	switch kind {
	case "EventSource":
		es := &aev1.EventSource{}
		if strict(es) {
			err = eventsourcecontroller.ValidateEventSource(es)
		}
	case "Sensor":
		s := &aev1.Sensor{}
		if strict(s) {
			name := s.Spec.EventBusName
			if name == "" {
				name = aev1.DefaultEventBusName
			}
			bus, ok := e.buses[s.Namespace+"/"+name]
			if !ok {
				// the stand-in `argo-events lint` uses (cmd/commands/lint.go lintSensor)
				bus = &aev1.EventBus{Spec: aev1.EventBusSpec{JetStream: &aev1.JetStreamBus{}}}
				notes = append(notes, fmt.Sprintf("EventBus %q is not in the input: checked against a JetStream bus, "+
					"as `argo-events lint` does (on a cluster the Sensor waits until that EventBus exists)", name))
			}
			err = sensorcontroller.ValidateSensor(s, bus)
		}
	case "EventBus":
		bus := &aev1.EventBus{}
		if strict(bus) {
			err = eventbuscontroller.ValidateEventBus(bus)
		}
	}
	if err != nil {
		problems = append(problems, messageProblem(stageEvents, err.Error(), nil))
	}
	return problems, notes
}

// strictProblem: sigs.k8s.io/json words it `unknown field "spec.x.y"`.
func strictProblem(err error) Problem {
	msg := err.Error()
	var path string
	if _, scanErr := fmt.Sscanf(msg, "unknown field %q", &path); scanErr == nil {
		return Problem{Stage: stageEvents, Field: path,
			Message: msg + " (Argo Events' controllers decode leniently and would silently ignore it)"}
	}
	return messageProblem(stageEvents, msg, nil)
}
