// Package reader reads the result a ContainerScan published, in the shape the Insights Operator's workloads
// gatherer decodes from a node: namespace -> pod -> container id -> runtime info (every value already hashed),
// plus the errors to record in gathers.json.
//
// The latest completed result of ContainerScan <scan> is found at the ConfigMap <scan>-latest (key index.json,
// format containerscanner.io/result/v1), which names the run's immutable shard ConfigMaps (key result.json.gz)
// with their size and SHA-256. Everything read is bounded and checked; see docs/controller.md ("Where a reader
// finds it") and the JSON Schemas docs/result-index.schema.json and docs/result-shard.schema.json.
package reader

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The published layout this reader knows, and the limits it holds a result to.
const (
	Format   = "containerscanner.io/result/v1"
	IndexKey = "index.json"
	ShardKey = "result.json.gz"

	// MaxIndexBytes bounds index.json (the controller writes a few KiB; 500 errors of 1 KiB at most).
	MaxIndexBytes = 1 << 20
	// MaxShards bounds the shard list (the seed's scale, 24,000 containers, takes two).
	MaxShards = 64
	// MaxShardBytes bounds one shard's gzip (the controller writes at most 768 KiB).
	MaxShardBytes = 1 << 20
	// MaxShardJSONBytes bounds one shard once decompressed.
	MaxShardJSONBytes = 32 << 20
	// MaxGzipRatio bounds decompressed/compressed bytes past the first MiB (real shards are about 5:1: random
	// container ids do not compress).
	MaxGzipRatio = 50
	// MaxRuntimes bounds the runtimes of one container.
	MaxRuntimes = 4
	// MaxErrors bounds the errors taken from the index (500 and the "more left out" line).
	MaxErrors = 501
)

// RuntimeComponent is one framework or server (the gatherer's RuntimeComponent).
type RuntimeComponent struct {
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
}

// RuntimeInfo is one container's runtime info (the gatherer's workloadRuntimeInfoContainer), every value hashed.
type RuntimeInfo struct {
	Os              string             `json:"os,omitempty"`
	OsVersion       string             `json:"osVersion,omitempty"`
	Kind            string             `json:"kind,omitempty"`
	KindVersion     string             `json:"kindVersion,omitempty"`
	KindImplementer string             `json:"kindImplementer,omitempty"`
	Runtimes        []RuntimeComponent `json:"runtimes,omitempty"`
}

// PodRuntimeInfo maps container ids ("cri-o://<64 hex>", as in pod status) to runtime info.
type PodRuntimeInfo map[string]RuntimeInfo

// NamespaceRuntimeInfo maps pod names to their containers.
type NamespaceRuntimeInfo map[string]PodRuntimeInfo

// NodeRuntimeInfo maps namespaces to their pods: the shape of one node's answer to the gatherer.
type NodeRuntimeInfo map[string]NamespaceRuntimeInfo

// Result is a scan's latest completed result.
type Result struct {
	Scan        string
	Run         string
	CompletedAt string
	Containers  NodeRuntimeInfo
	// Errors are per-node problems of the run (scanner not ready, malformed output, teardown failures), ready
	// to be recorded in gathers.json; a result with errors is still a result.
	Errors []string
}

// ErrNoResult says the scan has no completed result yet (or does not exist).
var ErrNoResult = errors.New("no completed result")

// LatestName is the ConfigMap that points at a scan's latest completed result.
func LatestName(scan string) string { return scan + "-latest" }

type shardRef struct {
	Name       string `json:"name"`
	Containers int    `json:"containers"`
	Bytes      int    `json:"bytes"`
	Sha256     string `json:"sha256"`
}

type index struct {
	Format      string     `json:"format"`
	Scan        string     `json:"scan"`
	Run         string     `json:"run"`
	CompletedAt string     `json:"completedAt"`
	Containers  int        `json:"containers"`
	Shards      []shardRef `json:"shards"`
	Errors      []string   `json:"errors"`
}

// errStale marks a shard that changed or went away under the reader (a newer run replaced the result).
var errStale = errors.New("shard changed under the reader")

// Read returns the latest completed result of ContainerScan scan in namespace. A result replaced while it is
// being read is read again once, from the new pointer.
func Read(ctx context.Context, client kubernetes.Interface, namespace, scan string) (*Result, error) {
	res, err := readOnce(ctx, client, namespace, scan)
	if errors.Is(err, errStale) {
		res, err = readOnce(ctx, client, namespace, scan)
	}
	return res, err
}

func readOnce(ctx context.Context, client kubernetes.Interface, namespace, scan string) (*Result, error) {
	cms := client.CoreV1().ConfigMaps(namespace)
	pointer, err := cms.Get(ctx, LatestName(scan), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("ContainerScan %s/%s: %w (ConfigMap %s not found)", namespace, scan, ErrNoResult, LatestName(scan))
	}
	if err != nil {
		return nil, fmt.Errorf("reading ConfigMap %s/%s: %w", namespace, LatestName(scan), err)
	}
	idx, err := parseIndex(pointer.Data[IndexKey])
	if err != nil {
		return nil, fmt.Errorf("ConfigMap %s/%s: %w", namespace, LatestName(scan), err)
	}
	if idx.Scan != scan {
		return nil, fmt.Errorf("ConfigMap %s/%s: the index is for scan %q, not %q", namespace, LatestName(scan), idx.Scan, scan)
	}
	tree := NodeRuntimeInfo{}
	total := 0
	for _, ref := range idx.Shards {
		cm, err := cms.Get(ctx, ref.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("shard ConfigMap %s/%s of run %s is gone: %w", namespace, ref.Name, idx.Run, errStale)
		}
		if err != nil {
			return nil, fmt.Errorf("reading shard ConfigMap %s/%s: %w", namespace, ref.Name, err)
		}
		n, err := mergeShard(tree, cm.BinaryData[ShardKey], ref)
		if err != nil {
			return nil, fmt.Errorf("shard ConfigMap %s/%s: %w", namespace, ref.Name, err)
		}
		total += n
	}
	if total != idx.Containers {
		return nil, fmt.Errorf("ConfigMap %s/%s: the shards hold %d containers, the index says %d", namespace, LatestName(scan), total, idx.Containers)
	}
	return &Result{Scan: idx.Scan, Run: idx.Run, CompletedAt: idx.CompletedAt, Containers: tree, Errors: idx.Errors}, nil
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

func parseIndex(raw string) (*index, error) {
	if raw == "" {
		return nil, fmt.Errorf("no %s", IndexKey)
	}
	if len(raw) > MaxIndexBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", IndexKey, MaxIndexBytes)
	}
	var probe struct {
		Format string `json:"format"`
	}
	if err := json.Unmarshal([]byte(raw), &probe); err != nil {
		return nil, fmt.Errorf("%s is not a JSON object: %v", IndexKey, err)
	}
	if probe.Format != Format {
		return nil, fmt.Errorf("unsupported result format %q (this reader knows %q): update the reader", probe.Format, Format)
	}
	var idx index
	if err := json.Unmarshal([]byte(raw), &idx); err != nil {
		return nil, fmt.Errorf("%s: %v", IndexKey, err)
	}
	if len(idx.Shards) > MaxShards {
		return nil, fmt.Errorf("%s names %d shards, more than %d", IndexKey, len(idx.Shards), MaxShards)
	}
	if len(idx.Errors) > MaxErrors {
		return nil, fmt.Errorf("%s holds %d errors, more than %d", IndexKey, len(idx.Errors), MaxErrors)
	}
	if idx.Containers < 0 {
		return nil, fmt.Errorf("%s: negative container count", IndexKey)
	}
	for _, s := range idx.Shards {
		if s.Bytes <= 0 || s.Bytes > MaxShardBytes || !sha256Hex.MatchString(s.Sha256) || s.Name == "" {
			return nil, fmt.Errorf("%s: shard %q needs a name, a size of 1..%d bytes and a sha256", IndexKey, s.Name, MaxShardBytes)
		}
	}
	return &idx, nil
}

var (
	namespaceRe   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	podRe         = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)
	containerIDRe = regexp.MustCompile(`^[a-z0-9][a-z0-9.+-]{0,31}://[0-9a-f]{64}$`)
	hashRe        = regexp.MustCompile(`^[A-Za-z0-9_-]{12}$`)
)

// mergeShard checks one shard against its index entry and adds its pods to tree; it returns its container count.
func mergeShard(tree NodeRuntimeInfo, gz []byte, ref shardRef) (int, error) {
	if len(gz) > MaxShardBytes {
		return 0, fmt.Errorf("%s is larger than %d bytes", ShardKey, MaxShardBytes)
	}
	sum := sha256.Sum256(gz)
	if len(gz) != ref.Bytes || hex.EncodeToString(sum[:]) != ref.Sha256 {
		return 0, fmt.Errorf("%s does not match the index (size or sha256): %w", ShardKey, errStale)
	}
	raw, err := gunzipBounded(gz)
	if err != nil {
		return 0, err
	}
	var part NodeRuntimeInfo
	if err := json.Unmarshal(raw, &part); err != nil {
		return 0, fmt.Errorf("%s: %v", ShardKey, err)
	}
	n := 0
	for ns, pods := range part {
		if !namespaceRe.MatchString(ns) {
			return 0, fmt.Errorf("%q is not a namespace name", truncate(ns))
		}
		if tree[ns] == nil {
			tree[ns] = NamespaceRuntimeInfo{}
		}
		for pod, ids := range pods {
			if !podRe.MatchString(pod) {
				return 0, fmt.Errorf("%q in %s is not a pod name", truncate(pod), ns)
			}
			if _, dup := tree[ns][pod]; dup {
				return 0, fmt.Errorf("pod %s/%s is in two shards", ns, pod)
			}
			for id, info := range ids {
				if !containerIDRe.MatchString(id) {
					return 0, fmt.Errorf("%q in %s/%s is not a container id", truncate(id), ns, pod)
				}
				if err := checkInfo(info); err != nil {
					return 0, fmt.Errorf("%s/%s/%s: %v", ns, pod, id, err)
				}
				n++
			}
			if ids == nil {
				ids = PodRuntimeInfo{}
			}
			tree[ns][pod] = ids
		}
	}
	if n != ref.Containers {
		return 0, fmt.Errorf("holds %d containers, the index says %d", n, ref.Containers)
	}
	return n, nil
}

// checkInfo: every value is a 12-character hash; at most MaxRuntimes runtimes, each with a name.
func checkInfo(info RuntimeInfo) error {
	for _, v := range []string{info.Os, info.OsVersion, info.Kind, info.KindVersion, info.KindImplementer} {
		if v != "" && !hashRe.MatchString(v) {
			return fmt.Errorf("a value is not a 12-character hash")
		}
	}
	if len(info.Runtimes) > MaxRuntimes {
		return fmt.Errorf("%d runtimes, more than %d", len(info.Runtimes), MaxRuntimes)
	}
	for _, r := range info.Runtimes {
		if !hashRe.MatchString(r.Name) || (r.Version != "" && !hashRe.MatchString(r.Version)) {
			return fmt.Errorf("a runtime without a hashed name, or with a version that is not a hash")
		}
	}
	return nil
}

// gunzipBounded decompresses at most MaxShardJSONBytes, and at most MaxGzipRatio times the input past 1 MiB.
func gunzipBounded(gz []byte) ([]byte, error) {
	limit := int64(len(gz)) * MaxGzipRatio
	if limit < 1<<20 {
		limit = 1 << 20
	}
	if limit > MaxShardJSONBytes {
		limit = MaxShardJSONBytes
	}
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("%s is not gzip: %v", ShardKey, err)
	}
	out, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", ShardKey, err)
	}
	if int64(len(out)) > limit {
		return nil, fmt.Errorf("%s inflates past %d bytes (compression ratio limit %d:1)", ShardKey, limit, MaxGzipRatio)
	}
	return out, nil
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
