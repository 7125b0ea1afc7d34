// Command argohere-apiserver runs Kubernetes' own kube-apiserver
// (k8s.io/kubernetes/cmd/kube-apiserver/app) on top of an etcd embedded in the
// same process (go.etcd.io/etcd/server/v3/embed), so tools/argo-here needs one
// binary and no container for the control plane's storage.
//
// Usage:
//
//	argohere-apiserver -etcd-dir DIR -etcd-client-port N -etcd-peer-port M -- KUBE-APISERVER-FLAGS...
//
// etcd listens on 127.0.0.1 only; the flags after "--" go to kube-apiserver
// unchanged (tools/argo-here passes --etcd-servers=http://127.0.0.1:N).
package main

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	fs := flag.NewFlagSet("argohere-apiserver", flag.ExitOnError)
	dir := fs.String("etcd-dir", "", "etcd data directory (required)")
	clientPort := fs.Int("etcd-client-port", 0, "etcd client port on 127.0.0.1 (required)")
	peerPort := fs.Int("etcd-peer-port", 0, "etcd peer port on 127.0.0.1 (required)")
	wait := fs.Duration("etcd-ready-timeout", 60*time.Second, "how long to wait for etcd to be ready")
	_ = fs.Parse(os.Args[1:])
	if *dir == "" || *clientPort == 0 || *peerPort == 0 {
		fmt.Fprintln(os.Stderr, "argohere-apiserver: -etcd-dir, -etcd-client-port and -etcd-peer-port are required")
		os.Exit(2)
	}

	etcd, err := startEtcd(*dir, *clientPort, *peerPort, *wait)
	if err != nil {
		fmt.Fprintf(os.Stderr, "argohere-apiserver: etcd: %v\n", err)
		os.Exit(1)
	}
	defer etcd.Close()

	cmd := app.NewAPIServerCommand()
	cmd.SetArgs(fs.Args())
	code := cli.Run(cmd)
	etcd.Close()
	os.Exit(code)
}

// startEtcd starts a single-member etcd bound to loopback and waits, bounded,
// until it serves clients.
func startEtcd(dir string, clientPort, peerPort int, wait time.Duration) (*embed.Etcd, error) {
	cfg := embed.NewConfig()
	cfg.Name = "argohere"
	cfg.Dir = dir
	cfg.Logger = "zap"
	cfg.LogLevel = "warn"
	client := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", clientPort)}
	peer := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", peerPort)}
	cfg.ListenClientUrls = []url.URL{client}
	cfg.AdvertiseClientUrls = []url.URL{client}
	cfg.ListenPeerUrls = []url.URL{peer}
	cfg.AdvertisePeerUrls = []url.URL{peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case err := <-e.Err():
		e.Close()
		return nil, err
	case <-time.After(wait):
		e.Close()
		return nil, fmt.Errorf("not ready after %s", wait)
	}
}
