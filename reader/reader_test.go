package reader

// These tests run against a real API server (hack/test-integration exports KUBECONFIG for the local control
// plane): each writes a result, good or hostile, as ConfigMaps into a namespace of its own and reads it back.

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// workloadHash is the gatherer's workloadHashString, written out here so that expected values are computed,
// not copied from the code under test.
func workloadHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var b strings.Builder
	for i := 0; b.Len() < 12; i += 3 {
		n := uint(sum[i])<<16 | uint(sum[i+1])<<8 | uint(sum[i+2])
		for shift := 18; shift >= 0 && b.Len() < 12; shift -= 6 {
			b.WriteByte(alphabet[(n>>uint(shift))&63])
		}
	}
	return b.String()
}

func TestWorkloadHashMatchesTheGathererVectors(t *testing.T) {
	// Pairs from the gatherer's own tests and the enhancement's example.
	for in, want := range map[string]string{"rhel": "yqx1WBefoIAq", "Java": "wbpgzhNYZQOi", "Quarkus": "zBVuVhrrC_vC", "17.0.7": "cAsoUDy8JFNV"} {
		if got := workloadHash(in); got != want {
			t.Errorf("workloadHash(%q) = %q, want %q", in, got, want)
		}
	}
}

func client(t *testing.T) kubernetes.Interface {
	t.Helper()
	if os.Getenv("KUBECONFIG") == "" {
		t.Fatal("KUBECONFIG is not set: these tests need a real API server (run them through hack/test-integration)")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func namespace(t *testing.T, c kubernetes.Interface) string {
	t.Helper()
	name := fmt.Sprintf("reader-%d", time.Now().UnixNano()%1_000_000_000)
	ctx := context.Background()
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	return name
}

type shard struct {
	name string
	gz   []byte
	n    int
}

func gz(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func publish(t *testing.T, c kubernetes.Interface, ns, scan string, idx map[string]any, shards []shard) {
	t.Helper()
	ctx := context.Background()
	refs := []map[string]any{}
	for _, s := range shards {
		if _, err := c.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: s.name}, BinaryData: map[string][]byte{ShardKey: s.gz}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(s.gz)
		refs = append(refs, map[string]any{"name": s.name, "containers": s.n, "bytes": len(s.gz), "sha256": hex.EncodeToString(sum[:])})
	}
	full := map[string]any{"format": Format, "scan": scan, "run": scan + "-1", "completedAt": "2026-11-30T00:00:00.000Z", "containers": 0, "nodes": map[string]int{}, "shards": refs, "errors": []string{}}
	total := 0
	for _, s := range shards {
		total += s.n
	}
	full["containers"] = total
	for k, v := range idx {
		full[k] = v
	}
	raw, _ := json.Marshal(full)
	if _, err := c.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: LatestName(scan)}, Data: map[string]string{IndexKey: string(raw)}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

const javaID = "cri-o://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func goodShard(t *testing.T, name, pod string) shard {
	info := map[string]any{
		"os": workloadHash("rhel"), "kind": workloadHash("Java"), "name": workloadHash("Spring Boot"),
		"runtimes": []map[string]string{{"name": workloadHash("Spring Boot"), "version": workloadHash("3.5.13")}, {"name": workloadHash("Apache Tomcat")}},
	}
	raw, _ := json.Marshal(map[string]any{"shop": map[string]any{pod: map[string]any{javaID: info}}})
	return shard{name, gz(t, raw), 1}
}

func TestReadsAShardedResultInTheGatherersShape(t *testing.T) {
	c := client(t)
	ns := namespace(t, c)
	publish(t, c, ns, "s", map[string]any{"errors": []string{"node w2: scanner pod not ready within 2m"}}, []shard{goodShard(t, "s-1-result-0", "cart"), goodShard(t, "s-1-result-1", "web")})
	res, err := Read(context.Background(), c, ns, "s")
	if err != nil {
		t.Fatal(err)
	}
	want := RuntimeInfo{Os: workloadHash("rhel"), Kind: workloadHash("Java"), Runtimes: []RuntimeComponent{{workloadHash("Spring Boot"), workloadHash("3.5.13")}, {Name: workloadHash("Apache Tomcat")}}}
	for _, pod := range []string{"cart", "web"} {
		got, _ := json.Marshal(res.Containers["shop"][pod][javaID])
		exp, _ := json.Marshal(want)
		if string(got) != string(exp) {
			t.Errorf("%s: got %s, want %s", pod, got, exp)
		}
	}
	if res.Run != "s-1" || len(res.Errors) != 1 || res.Errors[0] != "node w2: scanner pod not ready within 2m" {
		t.Errorf("run %q, errors %q", res.Run, res.Errors)
	}
}

func TestNoResultYet(t *testing.T) {
	c := client(t)
	_, err := Read(context.Background(), c, namespace(t, c), "none")
	if !errors.Is(err, ErrNoResult) {
		t.Fatalf("want ErrNoResult, got %v", err)
	}
}

func TestRefusesHostileResults(t *testing.T) {
	c := client(t)
	ns := namespace(t, c)
	bomb := gz(t, bytes.Repeat([]byte(" "), 40<<20))
	tooMany := []map[string]any{}
	for i := 0; i <= MaxShards; i++ {
		tooMany = append(tooMany, map[string]any{"name": fmt.Sprint("x", i), "containers": 0, "bytes": 1, "sha256": strings.Repeat("0", 64)})
	}
	raw := func(v any) []byte { b, _ := json.Marshal(v); return b }
	cases := []struct {
		scan   string
		index  map[string]any
		shards []shard
		want   string
	}{
		{"format", map[string]any{"format": "containerscanner.io/result/v2"}, nil, `unsupported result format "containerscanner.io/result/v2"`},
		{"shards", map[string]any{"shards": tooMany}, nil, "more than 64"},
		{"bomb", nil, []shard{{"bomb-0", bomb, 0}}, "compression ratio limit"},
		{"notgzip", nil, []shard{{"notgzip-0", []byte("plain text"), 0}}, "is not gzip"},
		{"value", nil, []shard{{"value-0", gz(t, raw(map[string]any{"ns": map[string]any{"p": map[string]any{javaID: map[string]any{"kind": "Java"}}}})), 1}}, "not a 12-character hash"},
		{"runtimes", nil, []shard{{"runtimes-0", gz(t, raw(map[string]any{"ns": map[string]any{"p": map[string]any{javaID: map[string]any{"runtimes": []map[string]string{{"name": workloadHash("a")}, {"name": workloadHash("b")}, {"name": workloadHash("c")}, {"name": workloadHash("d")}, {"name": workloadHash("e")}}}}}})), 1}}, "more than 4"},
		{"id", nil, []shard{{"id-0", gz(t, raw(map[string]any{"ns": map[string]any{"p": map[string]any{"docker://1": map[string]any{}}}})), 1}}, "is not a container id"},
		{"twice", nil, []shard{goodShard(t, "twice-0", "cart"), goodShard(t, "twice-1", "cart")}, "is in two shards"},
		{"count", map[string]any{"containers": 7}, []shard{goodShard(t, "count-0", "cart")}, "the index says 7"},
		{"json", nil, []shard{{"json-0", gz(t, []byte(`{"ns": [1, 2`)), 0}}, "result.json.gz"},
	}
	for _, tc := range cases {
		publish(t, c, ns, tc.scan, tc.index, tc.shards)
		_, err := Read(context.Background(), c, ns, tc.scan)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: want an error containing %q, got %v", tc.scan, tc.want, err)
		}
	}
	// A shard replaced after the index was written (another run's) is refused, not mixed in.
	publish(t, c, ns, "swap", nil, []shard{goodShard(t, "swap-0", "cart")})
	other := goodShard(t, "swap-0", "web")
	cm, _ := c.CoreV1().ConfigMaps(ns).Get(context.Background(), "swap-0", metav1.GetOptions{})
	cm.BinaryData[ShardKey] = other.gz
	if _, err := c.CoreV1().ConfigMaps(ns).Update(context.Background(), cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(context.Background(), c, ns, "swap"); err == nil || !strings.Contains(err.Error(), "does not match the index") {
		t.Errorf("swap: want a mismatch error, got %v", err)
	}
}
