// Command read-result prints the latest completed result of a ContainerScan as JSON: run, completedAt,
// containers (namespace -> pod -> container id -> runtime info, the gatherer's shape) and errors.
//
//	read-result -namespace container-scanner -scan demo   (uses $KUBECONFIG, else ~/.kube/config)
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/container-scanner/reader"
)

func main() {
	namespace := flag.String("namespace", "", "namespace of the ContainerScan")
	scan := flag.String("scan", "", "name of the ContainerScan")
	flag.Parse()
	if *namespace == "" || *scan == "" {
		fmt.Fprintln(os.Stderr, "usage: read-result -namespace NS -scan NAME")
		os.Exit(2)
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "read-result: no Kubernetes API configured:", err)
		os.Exit(1)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "read-result:", err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := reader.Read(ctx, client, *namespace, *scan)
	if err != nil {
		fmt.Fprintln(os.Stderr, "read-result:", err)
		os.Exit(1)
	}
	out, _ := json.MarshalIndent(map[string]any{
		"scan": res.Scan, "run": res.Run, "completedAt": res.CompletedAt, "containers": res.Containers, "errors": res.Errors,
	}, "", " ")
	fmt.Println(string(out))
}
