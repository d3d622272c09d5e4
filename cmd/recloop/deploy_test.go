package main

// The manifests of deploy/kubernetes are checked here, with their shell
// commands run against a stand-in recloop: the directory holds no Go code
// of its own.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// manifest is the part of a Kubernetes object the test reads.
type manifest struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string
	Metadata   struct{ Name string }
	Spec       struct {
		CompletionMode       string `yaml:"completionMode"`
		Completions          *int
		Parallelism          *int
		BackoffLimitPerIndex *int     `yaml:"backoffLimitPerIndex"`
		AccessModes          []string `yaml:"accessModes"`
		Template             struct{ Spec podSpec }
		podSpec              `yaml:",inline"`
	}
}

type podSpec struct {
	RestartPolicy string `yaml:"restartPolicy"`
	Containers    []struct {
		Name, Image  string
		Command      []string
		Args         []string
		WorkingDir   string `yaml:"workingDir"`
		Env          []envVar
		VolumeMounts []struct {
			Name      string
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
	}
	Volumes []struct {
		Name                  string
		PersistentVolumeClaim *struct {
			ClaimName string `yaml:"claimName"`
		} `yaml:"persistentVolumeClaim"`
		ConfigMap *struct{ Name string } `yaml:"configMap"`
	}
}

type envVar struct {
	Name      string
	Value     *string
	ValueFrom *struct {
		SecretKeyRef *struct{ Name, Key string } `yaml:"secretKeyRef"`
	} `yaml:"valueFrom"`
}

func readManifests(t *testing.T) map[string]manifest {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "deploy", "kubernetes", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests (%v)", err)
	}
	byName := map[string]manifest{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var m manifest
			if err := dec.Decode(&m); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if m.APIVersion == "" || m.Kind == "" || m.Metadata.Name == "" {
				t.Fatalf("%s: an object without apiVersion, kind or name", f)
			}
			byName[m.Kind+"/"+m.Metadata.Name] = m
		}
	}
	return byName
}

func TestManifests(t *testing.T) {
	objs := readManifests(t)
	shards, merge, pvc := objs["Job/recloop-shards"], objs["Job/recloop-merge"], objs["PersistentVolumeClaim/recloop-out"]
	if shards.Kind == "" || merge.Kind == "" || pvc.Kind == "" || objs["Pod/recloop-results"].Kind == "" {
		t.Fatalf("want the Jobs recloop-shards and recloop-merge, the claim recloop-out and the pod recloop-results; have %d objects", len(objs))
	}
	if len(pvc.Spec.AccessModes) != 1 || pvc.Spec.AccessModes[0] != "ReadWriteMany" {
		t.Errorf("the claim's access modes are %v: every shard's pod mounts it at once", pvc.Spec.AccessModes)
	}
	s := shards.Spec
	if s.CompletionMode != "Indexed" || s.Completions == nil || s.Parallelism == nil || *s.Parallelism > *s.Completions || s.BackoffLimitPerIndex == nil {
		t.Fatalf("recloop-shards: want an Indexed Job with completions, parallelism ≤ completions and backoffLimitPerIndex: %+v", s)
	}
	n := *s.Completions
	if manifestEnv(t, shards, "SHARDS") != strconv.Itoa(n) || manifestEnv(t, merge, "SHARDS") != strconv.Itoa(n) {
		t.Errorf("SHARDS is %q in recloop-shards and %q in recloop-merge, want the completions, %d", manifestEnv(t, shards, "SHARDS"), manifestEnv(t, merge, "SHARDS"), n)
	}
	if merge.Spec.CompletionMode != "" || merge.Spec.Completions == nil || *merge.Spec.Completions != 1 {
		t.Errorf("recloop-merge should be one pod")
	}
	for name, m := range objs {
		switch m.Kind {
		case "Job":
			checkPod(t, name, m.Spec.Template.Spec)
		case "Pod":
			checkPod(t, name, m.Spec.podSpec)
		}
	}
	for i := range n {
		want := fmt.Sprintf("run /config/scenario.yaml --shard %d/%d --out /out/shard-%d", i+1, n, i+1)
		if got := runScript(t, shards, "JOB_COMPLETION_INDEX="+strconv.Itoa(i)); got != want {
			t.Errorf("index %d runs recloop %s, want recloop %s", i, got, want)
		}
	}
	want := "merge --scenario /config/scenario.yaml --out /out/merged"
	for i := 1; i <= n; i++ {
		want += fmt.Sprintf(" /out/shard-%d", i)
	}
	if got := runScript(t, merge); got != want {
		t.Errorf("the merge runs recloop %s, want recloop %s", got, want)
	}
}

// checkPod checks what every pod here shares: /out on the claim, the
// scenario from the ConfigMap, keys only from a Secret, no restarts.
func checkPod(t *testing.T, name string, spec podSpec) {
	t.Helper()
	if strings.HasPrefix(name, "Job/") && spec.RestartPolicy != "Never" {
		t.Errorf("%s: restartPolicy %q, want Never (backoffLimitPerIndex and podFailurePolicy need it)", name, spec.RestartPolicy)
	}
	volumes := map[string]string{}
	for _, v := range spec.Volumes {
		switch {
		case v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == "recloop-out":
			volumes[v.Name] = "/out"
		case v.ConfigMap != nil && v.ConfigMap.Name == "recloop-scenario":
			volumes[v.Name] = "/config"
		}
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("%s: %d containers, want one", name, len(spec.Containers))
	}
	c := spec.Containers[0]
	for _, m := range c.VolumeMounts {
		if volumes[m.Name] != m.MountPath {
			t.Errorf("%s: %s is mounted at %s", name, m.Name, m.MountPath)
		}
		delete(volumes, m.Name)
	}
	if _, ok := volumes["out"]; ok || len(c.VolumeMounts) == 0 {
		t.Errorf("%s: /out is not the claim recloop-out", name)
	}
	for _, e := range c.Env {
		if strings.HasSuffix(e.Name, "_API_KEY") && (e.Value != nil || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
			t.Errorf("%s: %s does not come from a Secret", name, e.Name)
		}
	}
}

func manifestEnv(t *testing.T, m manifest, name string) string {
	t.Helper()
	for _, e := range m.Spec.Template.Spec.Containers[0].Env {
		if e.Name == name && e.Value != nil {
			return *e.Value
		}
	}
	return ""
}

// runScript runs a Job's container command with a recloop that prints its
// arguments, and returns them.
func runScript(t *testing.T, m manifest, environ ...string) string {
	t.Helper()
	c := m.Spec.Template.Spec.Containers[0]
	if len(c.Command) == 0 || c.Command[0] != "/bin/sh" {
		t.Fatalf("%s: the command is %q, not a shell", m.Metadata.Name, c.Command)
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to run the command with")
	}
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "recloop"), []byte("#!/bin/sh\necho \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sh, append(c.Command[1:], c.Args...)...)
	cmd.Env = append([]string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")}, environ...)
	for _, e := range c.Env {
		if e.Value != nil {
			cmd.Env = append(cmd.Env, e.Name+"="+*e.Value)
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", m.Metadata.Name, err, out)
	}
	return strings.TrimSpace(string(out))
}
