// Package protoconflict lets Argo Workflows and Argo Events live in one binary.
//
// Both link an HDFS client that registers the same protobuf messages (hadoop.common.*):
// Argo Workflows' HDFS artifact driver uses github.com/colinmarc/hdfs/v2, Argo Events' HDFS
// event source github.com/colinmarc/hdfs (v1). google.golang.org/protobuf panics on such a
// conflict at start unless GOLANG_PROTOBUF_REGISTRATION_CONFLICT says otherwise
// (reflect/protoregistry, ignoreConflict; it reads the variable at each conflict). argocheck
// never talks to HDFS, so the conflict is ignored.
//
// This init must run before those packages' inits. The Go spec (Package initialization, since
// Go 1.21) initializes packages in import-path order among those whose imports are done; this
// package imports only os and its path ("argocheck/...") sorts before "github.com/...".
package protoconflict

import "os"

const env = "GOLANG_PROTOBUF_REGISTRATION_CONFLICT"

func init() {
	if os.Getenv(env) == "" {
		_ = os.Setenv(env, "ignore")
	}
}
