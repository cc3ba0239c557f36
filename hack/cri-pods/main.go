// cri-pods creates and removes pods through a container runtime's CRI API the way kubelet does: a pod
// sandbox with kubelet's cgroup parent and log folder, app containers with kubelet's labels and log paths,
// and kubelet's container log links. It exists for the end-to-end tests and the demo, where no kubelet runs.
//
//	cri-pods create --spec SPEC.json --pod-logs-dir DIR --container-logs-dir DIR   (JSON result on stdout)
//	cri-pods status --id ID
//	cri-pods stop --id ID
//	cri-pods exec --id ID [--timeout S] -- CMD ARG...   (runs CMD in the container, as kubelet's exec does;
//	                                                      prints {"exitCode", "stdout", "stderr"})
//	cri-pods delete-all
//
// The runtime's socket comes from $CONTAINERD_ADDRESS.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"
)

type containerSpec struct {
	Name       string            `json:"name"`
	Image      string            `json:"image"`
	Command    []string          `json:"command"`
	Args       []string          `json:"args"`
	RunAsUser  *int64            `json:"runAsUser"`
	RunAsGroup *int64            `json:"runAsGroup"`
	Env        map[string]string `json:"env"`
	// Capabilities added to the runtime's default set (e.g. "SYS_PTRACE"), as securityContext.capabilities.add.
	CapAdd []string `json:"capAdd"`
}

type podSpec struct {
	Namespace  string          `json:"namespace"`
	Name       string          `json:"name"`
	UID        string          `json:"uid"`
	QOS        string          `json:"qos"`
	Containers []containerSpec `json:"containers"`
}

type createdContainer struct {
	Name  string `json:"name"`
	ID    string `json:"id"`
	Pid   int    `json:"pid"`
	Image string `json:"image"`
}

type createdPod struct {
	Namespace  string             `json:"namespace"`
	Name       string             `json:"name"`
	UID        string             `json:"uid"`
	SandboxID  string             `json:"sandboxId"`
	SandboxPid int                `json:"sandboxPid"`
	Containers []createdContainer `json:"containers"`
}

func main() {
	usage := errors.New("usage: cri-pods create --spec FILE --pod-logs-dir DIR --container-logs-dir DIR | status --id ID | stop --id ID | exec --id ID [--timeout S] -- CMD ARG... | delete-all")
	if len(os.Args) < 2 {
		fail(usage)
	}
	switch os.Args[1] {
	case "create", "status", "stop", "exec", "delete-all":
	default:
		fail(fmt.Errorf("unknown command %q; %w", os.Args[1], usage))
	}
	// Each CRI request has its own deadline (callTimeout), not the command as a whole: creating or
	// deleting hundreds of pods on a loaded machine takes as long as it takes, one bounded call at a time.
	ctx := context.Background()
	client, err := connect()
	if err != nil {
		fail(err)
	}
	flags := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	switch os.Args[1] {
	case "create":
		spec := flags.String("spec", "", "pod spec JSON file")
		podLogs := flags.String("pod-logs-dir", "", "kubelet's pod logs folder")
		containerLogs := flags.String("container-logs-dir", "", "kubelet's container log links folder")
		_ = flags.Parse(os.Args[2:])
		if *spec == "" || *podLogs == "" || *containerLogs == "" {
			fail(errors.New("create needs --spec, --pod-logs-dir and --container-logs-dir"))
		}
		pods, err := create(ctx, client, *spec, *podLogs, *containerLogs)
		if err != nil {
			fail(err)
		}
		out, _ := json.MarshalIndent(map[string]any{"pods": pods}, "", "  ")
		fmt.Println(string(out))
	case "status", "stop":
		id := flags.String("id", "", "container id")
		_ = flags.Parse(os.Args[2:])
		if *id == "" {
			fail(errors.New(os.Args[1] + " needs --id"))
		}
		if os.Args[1] == "stop" {
			if _, err := client.StopContainer(ctx, &cri.StopContainerRequest{ContainerId: *id, Timeout: 0}); err != nil {
				fail(err)
			}
		}
		state, pid, err := status(ctx, client, *id)
		if err != nil {
			fail(err)
		}
		out, _ := json.Marshal(map[string]any{"id": *id, "state": state, "pid": pid})
		fmt.Println(string(out))
	case "exec":
		id := flags.String("id", "", "container id")
		timeout := flags.Int64("timeout", 30, "seconds")
		_ = flags.Parse(os.Args[2:])
		if *id == "" || flags.NArg() == 0 {
			fail(errors.New("exec needs --id and a command after --"))
		}
		execCtx, cancel := context.WithTimeout(ctx, time.Duration(*timeout)*time.Second+callTimeout)
		defer cancel()
		resp, err := client.ExecSync(execCtx, &cri.ExecSyncRequest{ContainerId: *id, Cmd: flags.Args(), Timeout: *timeout})
		if err != nil {
			fail(fmt.Errorf("ExecSync %s: %w", *id, err))
		}
		out, _ := json.Marshal(map[string]any{"exitCode": resp.ExitCode, "stdout": string(resp.Stdout), "stderr": string(resp.Stderr)})
		fmt.Println(string(out))
	case "delete-all":
		if err := deleteAll(ctx, client); err != nil {
			fail(err)
		}
	default:
		fail(fmt.Errorf("unknown command %q", os.Args[1]))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "cri-pods:", err)
	os.Exit(1)
}

// callTimeout bounds one CRI request (ExecSync: on top of the command's own timeout).
const callTimeout = 2 * time.Minute

// boundEachCall gives every unary CRI request a deadline of callTimeout, unless the caller set one.
func boundEachCall(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, callTimeout)
		defer cancel()
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

func connect() (cri.RuntimeServiceClient, error) {
	address := os.Getenv("CONTAINERD_ADDRESS")
	if address == "" {
		return nil, errors.New("CONTAINERD_ADDRESS is not set")
	}
	conn, err := grpc.NewClient("unix://"+address, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(boundEachCall))
	if err != nil {
		return nil, err
	}
	return cri.NewRuntimeServiceClient(conn), nil
}

func create(ctx context.Context, client cri.RuntimeServiceClient, specPath, podLogs, containerLogs string) ([]createdPod, error) {
	raw, err := os.ReadFile(specPath)
	if err != nil {
		return nil, err
	}
	var spec struct {
		Pods []podSpec `json:"pods"`
	}
	decoder := json.NewDecoder(bytes.NewReader(raw))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&spec); err != nil {
		return nil, fmt.Errorf("%s: %w", specPath, err)
	}
	if err := validate(spec.Pods); err != nil {
		return nil, fmt.Errorf("%s: %w", specPath, err)
	}
	if err := os.MkdirAll(containerLogs, 0o755); err != nil {
		return nil, err
	}
	var created []createdPod
	for _, pod := range spec.Pods {
		p, err := createPod(ctx, client, pod, podLogs, containerLogs)
		if err != nil {
			// All or nothing: a failed create leaves no half-made pods behind for the caller to find.
			for _, done := range append(created, p) {
				if done.SandboxID != "" {
					_ = removeSandbox(ctx, client, done.SandboxID)
				}
			}
			return nil, fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
		created = append(created, p)
	}
	return created, nil
}

var (
	dnsLabel     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dnsSubdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	podUID       = regexp.MustCompile(`^[A-Za-z0-9][-A-Za-z0-9]*$`)
	// Kubernetes spells capabilities without the CAP_ prefix.
	capabilityName = regexp.MustCompile(`^[A-Z][A-Z_]*$`)
)

// validate applies the API server's name rules that kubelet's folder and link names rely on (no "_" or "/"),
// so a bad spec fails here with a clear message instead of producing a layout no kubelet would make.
func validate(pods []podSpec) error {
	if len(pods) == 0 {
		return errors.New(`no pods (expected {"pods": [...]})`)
	}
	seen := map[string]bool{}
	for i, pod := range pods {
		where := fmt.Sprintf("pods[%d]", i)
		if !dnsLabel.MatchString(pod.Namespace) || len(pod.Namespace) > 63 {
			return fmt.Errorf("%s: namespace %q is not a DNS-1123 label", where, pod.Namespace)
		}
		if !dnsSubdomain.MatchString(pod.Name) || len(pod.Name) > 253 {
			return fmt.Errorf("%s: name %q is not a DNS-1123 subdomain", where, pod.Name)
		}
		if pod.UID != "" && !podUID.MatchString(pod.UID) {
			return fmt.Errorf("%s: uid %q may hold only letters, digits and '-'", where, pod.UID)
		}
		if _, err := cgroupParent(pod.QOS, "x"); err != nil {
			return fmt.Errorf("%s: %w (besteffort, burstable or guaranteed)", where, err)
		}
		key := pod.Namespace + "/" + pod.Name
		if seen[key] {
			return fmt.Errorf("%s: pod %s appears twice", where, key)
		}
		seen[key] = true
		names := map[string]bool{}
		for j, c := range pod.Containers {
			cwhere := fmt.Sprintf("%s.containers[%d]", where, j)
			if !dnsLabel.MatchString(c.Name) || len(c.Name) > 63 {
				return fmt.Errorf("%s: name %q is not a DNS-1123 label", cwhere, c.Name)
			}
			if names[c.Name] {
				return fmt.Errorf("%s: container %q appears twice in pod %s", cwhere, c.Name, key)
			}
			names[c.Name] = true
			if strings.TrimSpace(c.Image) == "" {
				return fmt.Errorf("%s: image is empty", cwhere)
			}
			for _, capability := range c.CapAdd {
				if !capabilityName.MatchString(capability) {
					return fmt.Errorf("%s: capability %q is not a name like SYS_PTRACE", cwhere, capability)
				}
			}
			for _, id := range []*int64{c.RunAsUser, c.RunAsGroup} {
				if id != nil && *id < 0 {
					return fmt.Errorf("%s: runAsUser/runAsGroup must not be negative", cwhere)
				}
			}
		}
	}
	return nil
}

// cgroupParent is kubelet's cgroupfs layout: guaranteed pods sit directly under /kubepods.
func cgroupParent(qos, uid string) (string, error) {
	switch qos {
	case "", "besteffort", "burstable":
		if qos == "" {
			qos = "besteffort"
		}
		return "/kubepods/" + qos + "/pod" + uid, nil
	case "guaranteed":
		return "/kubepods/pod" + uid, nil
	}
	return "", fmt.Errorf("unknown qos %q", qos)
}

func createPod(ctx context.Context, client cri.RuntimeServiceClient, pod podSpec, podLogs, containerLogs string) (createdPod, error) {
	if pod.UID == "" {
		pod.UID = newUID()
	}
	parent, err := cgroupParent(pod.QOS, pod.UID)
	if err != nil {
		return createdPod{}, err
	}
	logDir := filepath.Join(podLogs, pod.Namespace+"_"+pod.Name+"_"+pod.UID)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return createdPod{}, err
	}
	labels := map[string]string{
		"io.kubernetes.pod.name":      pod.Name,
		"io.kubernetes.pod.namespace": pod.Namespace,
		"io.kubernetes.pod.uid":       pod.UID,
	}
	nodeNetwork := &cri.NamespaceOption{Network: cri.NamespaceMode_NODE, Pid: cri.NamespaceMode_CONTAINER, Ipc: cri.NamespaceMode_POD}
	sandboxConfig := &cri.PodSandboxConfig{
		Metadata:     &cri.PodSandboxMetadata{Name: pod.Name, Uid: pod.UID, Namespace: pod.Namespace},
		LogDirectory: logDir,
		Labels:       labels,
		Linux: &cri.LinuxPodSandboxConfig{
			CgroupParent:    parent,
			SecurityContext: &cri.LinuxSandboxSecurityContext{NamespaceOptions: nodeNetwork},
		},
	}
	sandbox, err := client.RunPodSandbox(ctx, &cri.RunPodSandboxRequest{Config: sandboxConfig})
	if err != nil {
		return createdPod{}, fmt.Errorf("RunPodSandbox: %w", err)
	}
	pid, err := sandboxPid(ctx, client, sandbox.PodSandboxId)
	if err != nil {
		return createdPod{SandboxID: sandbox.PodSandboxId}, err
	}
	result := createdPod{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID, SandboxID: sandbox.PodSandboxId, SandboxPid: pid}
	partial := createdPod{SandboxID: sandbox.PodSandboxId}
	for _, c := range pod.Containers {
		if err := os.MkdirAll(filepath.Join(logDir, c.Name), 0o755); err != nil {
			return partial, err
		}
		containerLabels := map[string]string{"io.kubernetes.container.name": c.Name}
		for k, v := range labels {
			containerLabels[k] = v
		}
		security := &cri.LinuxContainerSecurityContext{NamespaceOptions: nodeNetwork}
		if c.RunAsUser != nil {
			security.RunAsUser = &cri.Int64Value{Value: *c.RunAsUser}
		}
		if c.RunAsGroup != nil {
			security.RunAsGroup = &cri.Int64Value{Value: *c.RunAsGroup}
		}
		if len(c.CapAdd) > 0 {
			security.Capabilities = &cri.Capability{AddCapabilities: c.CapAdd}
		}
		var envs []*cri.KeyValue
		keys := make([]string, 0, len(c.Env))
		for k := range c.Env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			envs = append(envs, &cri.KeyValue{Key: k, Value: []byte(c.Env[k])})
		}
		config := &cri.ContainerConfig{
			Metadata: &cri.ContainerMetadata{Name: c.Name},
			Image:    &cri.ImageSpec{Image: c.Image},
			Command:  c.Command,
			Args:     c.Args,
			Envs:     envs,
			LogPath:  filepath.Join(c.Name, "0.log"),
			Labels:   containerLabels,
			Linux:    &cri.LinuxContainerConfig{SecurityContext: security},
		}
		made, err := client.CreateContainer(ctx, &cri.CreateContainerRequest{PodSandboxId: sandbox.PodSandboxId, Config: config, SandboxConfig: sandboxConfig})
		if err != nil {
			return partial, fmt.Errorf("CreateContainer %s: %w", c.Name, err)
		}
		if _, err := client.StartContainer(ctx, &cri.StartContainerRequest{ContainerId: made.ContainerId}); err != nil {
			return partial, fmt.Errorf("StartContainer %s: %w", c.Name, err)
		}
		_, pid, err := status(ctx, client, made.ContainerId)
		if err != nil {
			return partial, err
		}
		link := filepath.Join(containerLogs, fmt.Sprintf("%s_%s_%s-%s.log", pod.Name, pod.Namespace, c.Name, made.ContainerId))
		if err := os.Symlink(filepath.Join(logDir, c.Name, "0.log"), link); err != nil {
			return partial, err
		}
		result.Containers = append(result.Containers, createdContainer{Name: c.Name, ID: made.ContainerId, Pid: pid, Image: c.Image})
	}
	return result, nil
}

// status returns the container's state and the pid of its first process (from the verbose "info" JSON).
func status(ctx context.Context, client cri.RuntimeServiceClient, id string) (string, int, error) {
	resp, err := client.ContainerStatus(ctx, &cri.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		return "", 0, fmt.Errorf("ContainerStatus %s: %w", id, err)
	}
	var info struct {
		Pid int `json:"pid"`
	}
	if raw, ok := resp.Info["info"]; ok {
		if err := json.Unmarshal([]byte(raw), &info); err != nil {
			return "", 0, fmt.Errorf("ContainerStatus %s info: %w", id, err)
		}
	}
	return resp.Status.State.String(), info.Pid, nil
}

func sandboxPid(ctx context.Context, client cri.RuntimeServiceClient, id string) (int, error) {
	resp, err := client.PodSandboxStatus(ctx, &cri.PodSandboxStatusRequest{PodSandboxId: id, Verbose: true})
	if err != nil {
		return 0, fmt.Errorf("PodSandboxStatus %s: %w", id, err)
	}
	var info struct {
		Pid int `json:"pid"`
	}
	if raw, ok := resp.Info["info"]; ok {
		_ = json.Unmarshal([]byte(raw), &info)
	}
	return info.Pid, nil
}

func deleteAll(ctx context.Context, client cri.RuntimeServiceClient) error {
	sandboxes, err := client.ListPodSandbox(ctx, &cri.ListPodSandboxRequest{})
	if err != nil {
		return fmt.Errorf("ListPodSandbox: %w", err)
	}
	var errs []error
	for _, s := range sandboxes.Items {
		if err := removeSandbox(ctx, client, s.Id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeSandbox stops and removes a pod sandbox with its containers (as kubelet does when a pod is deleted).
func removeSandbox(ctx context.Context, client cri.RuntimeServiceClient, id string) error {
	if _, err := client.StopPodSandbox(ctx, &cri.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
		return fmt.Errorf("StopPodSandbox %s: %w", id, err)
	}
	if _, err := client.RemovePodSandbox(ctx, &cri.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
		return fmt.Errorf("RemovePodSandbox %s: %w", id, err)
	}
	return nil
}

// newUID returns a random version-4 UUID, as the API server assigns to pods.
func newUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		fail(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
