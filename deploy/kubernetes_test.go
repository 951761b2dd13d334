package deploy_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	k8syaml "sigs.k8s.io/yaml"

	"github.com/tokensvc/tokensvc/api"
	"github.com/tokensvc/tokensvc/internal/config"
)

const kubeDir = "kubernetes"

// drainMargin is what the grace period must leave beyond the drain for the
// process to stop its background jobs and close the store.
const drainMargin = 5 * time.Second

// base is the kustomize base, every manifest decoded strictly into its
// Kubernetes API type.
type base struct {
	deployment   appsv1.Deployment
	services     []corev1.Service
	pdb          policyv1.PodDisruptionBudget
	account      corev1.ServiceAccount
	secret       corev1.Secret // the example, which the base does not apply
	resources    []string
	manifestKind map[string]string // file → kind
}

// decodeStrict decodes one manifest into out, refusing fields the type
// does not have (a misspelt or misplaced field is otherwise dropped by the
// API server without a word) and a second document in the file.
func decodeStrict(t *testing.T, name string, data []byte, out any) {
	t.Helper()
	if bytes.Contains(data, []byte("\n---")) {
		t.Fatalf("%s holds more than one document; keep one manifest per file", name)
	}
	if err := k8syaml.UnmarshalStrict(data, out); err != nil {
		t.Fatalf("%s does not decode strictly: %v", name, err)
	}
}

func loadBase(t *testing.T) base {
	t.Helper()
	var kust struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Resources  []string `json:"resources"`
	}
	decodeStrict(t, "kustomization.yaml", readFile(t, "deploy/kubernetes/kustomization.yaml"), &kust)
	if kust.APIVersion != "kustomize.config.k8s.io/v1beta1" || kust.Kind != "Kustomization" {
		t.Fatalf("kustomization.yaml is %s %s, want kustomize.config.k8s.io/v1beta1 Kustomization", kust.APIVersion, kust.Kind)
	}
	b := base{resources: kust.Resources, manifestKind: map[string]string{}}
	files, err := filepath.Glob(filepath.Join(kubeDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range files {
		name := filepath.Base(path)
		if name == "kustomization.yaml" {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := k8syaml.Unmarshal(data, &meta); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b.manifestKind[name] = meta.Kind
		switch want := meta.APIVersion + " " + meta.Kind; want {
		case "apps/v1 Deployment":
			decodeStrict(t, name, data, &b.deployment)
		case "v1 Service":
			var s corev1.Service
			decodeStrict(t, name, data, &s)
			b.services = append(b.services, s)
		case "policy/v1 PodDisruptionBudget":
			decodeStrict(t, name, data, &b.pdb)
		case "v1 ServiceAccount":
			decodeStrict(t, name, data, &b.account)
		case "v1 Secret":
			decodeStrict(t, name, data, &b.secret)
		default:
			t.Fatalf("%s is a %q, which this test does not know: decode it here", name, want)
		}
	}
	return b
}

// TestKustomizationListsEveryManifest checks that kubectl apply -k applies
// every manifest in the base, and never the Secret example, whose
// placeholder would overwrite the real master key at every apply.
func TestKustomizationListsEveryManifest(t *testing.T) {
	b := loadBase(t)
	for name, kind := range b.manifestKind {
		listed := slices.Contains(b.resources, name)
		switch {
		case strings.HasSuffix(name, ".example.yaml"):
			if listed {
				t.Errorf("kustomization.yaml applies %s, an example: applying it would replace the real %s", name, kind)
			}
		case !listed:
			t.Errorf("kustomization.yaml does not list %s (%s)", name, kind)
		}
	}
	for _, r := range b.resources {
		if _, ok := b.manifestKind[r]; !ok {
			t.Errorf("kustomization.yaml lists %s, which is not a manifest here", r)
		}
	}
	for _, kind := range []string{"Deployment", "Service", "PodDisruptionBudget", "ServiceAccount"} {
		found := false
		for name, k := range b.manifestKind {
			found = found || (k == kind && slices.Contains(b.resources, name))
		}
		if !found {
			t.Errorf("the base applies no %s", kind)
		}
	}
	if b.secret.Name == "" {
		t.Error("the base has no Secret example")
	}
}

// container returns the Deployment's tokensvc container.
func (b base) container(t *testing.T) corev1.Container {
	t.Helper()
	cs := b.deployment.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("the Deployment has %d containers, want 1", len(cs))
	}
	return cs[0]
}

// environment returns what the container's environment would be, with the
// Secret example's values and masterKey for the master key: the example's
// own is a placeholder.
func (b base) environment(t *testing.T, masterKey string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, e := range b.container(t).Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			if ref.Name != b.secret.Name {
				t.Errorf("%s comes from Secret %q; the example is %q", e.Name, ref.Name, b.secret.Name)
			}
			v, ok := b.secret.StringData[ref.Key]
			if !ok && (ref.Optional == nil || !*ref.Optional) {
				t.Errorf("%s comes from key %q, which the Secret example lacks, and is not optional", e.Name, ref.Key)
			}
			if e.Name == "TOKENSVC_MASTER_KEY" {
				v = masterKey
			}
			if ok {
				env[e.Name] = v
			}
		default:
			t.Errorf("%s comes from neither a value nor a Secret", e.Name)
		}
	}
	return env
}

// loadConfig loads tokensvc's configuration from the Deployment's
// environment, as the container would.
func (b base) loadConfig(t *testing.T) config.Config {
	t.Helper()
	env := b.environment(t, "UGxlbnR5IG9mIHJhbmRvbSBieXRlcyBoZXJlLCAzMiE=")
	cfg, err := config.Load(func(name string) string { return env[name] })
	if err != nil {
		t.Fatalf("the Deployment's environment does not load: %v", err)
	}
	return cfg
}

// TestSecretExamplePlaceholderIsRefused guards against a cluster running
// on the example's master key: tokensvc must refuse to start with it.
func TestSecretExamplePlaceholderIsRefused(t *testing.T) {
	b := loadBase(t)
	placeholder := b.secret.StringData["master-key"]
	if !strings.Contains(placeholder, "REPLACE") {
		t.Errorf("the Secret example's master key %q is not clearly a placeholder", placeholder)
	}
	env := b.environment(t, placeholder)
	_, err := config.Load(func(name string) string { return env[name] })
	if err == nil || !strings.Contains(err.Error(), "TOKENSVC_MASTER_KEY") {
		t.Errorf("config.Load with the example's master key: err = %v, want it refused", err)
	}
}

// port returns the container port called name, or the number as given.
func (b base) port(t *testing.T, p intstr.IntOrString) int32 {
	t.Helper()
	if p.Type == intstr.Int {
		return p.IntVal
	}
	for _, cp := range b.container(t).Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort
		}
	}
	t.Fatalf("no container port is named %q", p.StrVal)
	return 0
}

func addrPort(t *testing.T, name, addr string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%s %q: %v", name, addr, err)
	}
	n, err := strconv.ParseInt(p, 10, 32)
	if err != nil {
		t.Fatalf("%s %q: %v", name, addr, err)
	}
	return int32(n)
}

// TestServicesMatchListeners checks the ports against the addresses the
// Deployment sets: the public Service reaches TOKENSVC_ADDR only, the admin
// Service TOKENSVC_ADMIN_ADDR, and Prometheus scrapes the admin port.
func TestServicesMatchListeners(t *testing.T) {
	b := loadBase(t)
	cfg := b.loadConfig(t)
	if cfg.AdminAddr == "" {
		t.Fatal("the Deployment leaves TOKENSVC_ADMIN_ADDR unset: the admin API and /metrics would share the public port")
	}
	public, admin := addrPort(t, "TOKENSVC_ADDR", cfg.Addr), addrPort(t, "TOKENSVC_ADMIN_ADDR", cfg.AdminAddr)
	var containerPorts []int32
	for _, p := range b.container(t).Ports {
		containerPorts = append(containerPorts, p.ContainerPort)
	}
	if !slices.Equal(containerPorts, []int32{public, admin}) {
		t.Errorf("the container declares ports %v, want %d (TOKENSVC_ADDR) and %d (TOKENSVC_ADMIN_ADDR)", containerPorts, public, admin)
	}
	podLabels := b.deployment.Spec.Template.Labels
	reaches := map[string][]int32{}
	for _, s := range b.services {
		for k, v := range s.Spec.Selector {
			if podLabels[k] != v {
				t.Errorf("Service %s selects %s=%s, which the pods lack", s.Name, k, v)
			}
		}
		if s.Spec.Type != "" && s.Spec.Type != corev1.ServiceTypeClusterIP {
			t.Errorf("Service %s is %s; expose tokensvc through an Ingress or Gateway of your own, not from the base", s.Name, s.Spec.Type)
		}
		for _, p := range s.Spec.Ports {
			reaches[s.Name] = append(reaches[s.Name], b.port(t, p.TargetPort))
		}
	}
	if got := reaches["tokensvc"]; !slices.Equal(got, []int32{public}) {
		t.Errorf("Service tokensvc reaches ports %v, want only %d (TOKENSVC_ADDR)", got, public)
	}
	if got := reaches["tokensvc-admin"]; !slices.Equal(got, []int32{admin}) {
		t.Errorf("Service tokensvc-admin reaches ports %v, want only %d (TOKENSVC_ADMIN_ADDR)", got, admin)
	}
	ann := b.deployment.Spec.Template.Annotations
	if ann["prometheus.io/port"] != strconv.Itoa(int(admin)) || ann["prometheus.io/path"] != "/metrics" {
		t.Errorf("the pods' scrape annotations say port %q path %q, want the admin port %d and /metrics",
			ann["prometheus.io/port"], ann["prometheus.io/path"], admin)
	}
}

// openAPIPaths returns the paths api/openapi.yaml declares.
func openAPIPaths(t *testing.T) map[string]bool {
	t.Helper()
	var doc struct {
		Paths map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	paths := map[string]bool{}
	for p := range doc.Paths {
		paths[p] = true
	}
	return paths
}

// TestProbesAndDrain checks the probes against the routes and listeners,
// and the pod's lifetime against the drain: the grace period outlasts
// TOKENSVC_SHUTDOWN_DELAY + TOKENSVC_SHUTDOWN_TIMEOUT (and a preStop sleep,
// if one is added), and the startup probe outlasts TOKENSVC_STARTUP_TIMEOUT,
// so that the liveness probe never restarts a pod still retrying its
// database.
func TestProbesAndDrain(t *testing.T) {
	b := loadBase(t)
	cfg := b.loadConfig(t)
	c := b.container(t)
	paths := openAPIPaths(t)
	public, admin := addrPort(t, "TOKENSVC_ADDR", cfg.Addr), addrPort(t, "TOKENSVC_ADMIN_ADDR", cfg.AdminAddr)
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
		port  int32
	}{
		// Readiness where the public Service sends; liveness away from
		// public traffic (see deployment.yaml).
		{"readinessProbe", c.ReadinessProbe, "/readyz", public},
		{"livenessProbe", c.LivenessProbe, "/healthz", admin},
		{"startupProbe", c.StartupProbe, "/healthz", admin},
	} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s: want an HTTP GET of %s", p.name, p.path)
			continue
		}
		g := p.probe.HTTPGet
		if g.Path != p.path || !paths[g.Path] {
			t.Errorf("%s asks %s, want %s (a path in api/openapi.yaml)", p.name, g.Path, p.path)
		}
		if got := b.port(t, g.Port); got != p.port {
			t.Errorf("%s asks port %d, want %d", p.name, got, p.port)
		}
	}
	if s := c.StartupProbe; s != nil {
		window := time.Duration(s.InitialDelaySeconds+s.PeriodSeconds*s.FailureThreshold) * time.Second
		if window < cfg.StartupTimeout+drainMargin {
			t.Errorf("the startup probe gives up after %s; the database is retried for TOKENSVC_STARTUP_TIMEOUT (%s): allow that plus %s", window, cfg.StartupTimeout, drainMargin)
		}
	}

	var preStop time.Duration
	if l := c.Lifecycle; l != nil && l.PreStop != nil {
		if l.PreStop.Sleep == nil {
			t.Fatal("the preStop hook is not a sleep: the image has no shell, and only a sleep's length is known here")
		}
		preStop = time.Duration(l.PreStop.Sleep.Seconds) * time.Second
	}
	grace := b.deployment.Spec.Template.Spec.TerminationGracePeriodSeconds
	need := preStop + cfg.ShutdownDelay + cfg.ShutdownTimeout + drainMargin
	if grace == nil || time.Duration(*grace)*time.Second < need {
		t.Errorf("terminationGracePeriodSeconds = %s; the drain needs %s (preStop %s + TOKENSVC_SHUTDOWN_DELAY %s + TOKENSVC_SHUTDOWN_TIMEOUT %s + %s)",
			show(grace), need, preStop, cfg.ShutdownDelay, cfg.ShutdownTimeout, drainMargin)
	}
}

// show prints an optional field of the API types: its value, or unset.
func show[T any](p *T) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}

// dockerfileUser returns the numeric user the image runs as.
func dockerfileUser(t *testing.T) int64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^USER (\d+)`).FindSubmatch(readFile(t, "Dockerfile"))
	if m == nil {
		t.Fatal("the Dockerfile sets no numeric USER")
	}
	n, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return n
}

// TestPodRunsLockedDown checks the security context: the image's non-root
// user, no privilege escalation, no capabilities, a read-only root
// filesystem, the runtime's seccomp profile, no service account token; and
// that resources are requested and memory bounded.
func TestPodRunsLockedDown(t *testing.T) {
	b := loadBase(t)
	spec := b.deployment.Spec.Template.Spec
	pod := spec.SecurityContext
	if pod == nil {
		t.Fatal("the pod has no securityContext")
	}
	isTrue := func(p *bool) bool { return p != nil && *p }
	isFalse := func(p *bool) bool { return p != nil && !*p }
	user := dockerfileUser(t)
	if !isTrue(pod.RunAsNonRoot) || pod.RunAsUser == nil || *pod.RunAsUser != user {
		t.Errorf("pod securityContext: runAsNonRoot %s, runAsUser %s; want true and the image's user %d", show(pod.RunAsNonRoot), show(pod.RunAsUser), user)
	}
	if pod.SeccompProfile == nil || pod.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod seccompProfile = %v, want RuntimeDefault", pod.SeccompProfile)
	}
	c := b.container(t)
	sc := c.SecurityContext
	if sc == nil {
		t.Fatal("the container has no securityContext")
	}
	if !isTrue(sc.RunAsNonRoot) || !isFalse(sc.AllowPrivilegeEscalation) || !isTrue(sc.ReadOnlyRootFilesystem) || isTrue(sc.Privileged) {
		t.Errorf("container securityContext: runAsNonRoot %s, allowPrivilegeEscalation %s, readOnlyRootFilesystem %s, privileged %s; want true, false, true, unset",
			show(sc.RunAsNonRoot), show(sc.AllowPrivilegeEscalation), show(sc.ReadOnlyRootFilesystem), show(sc.Privileged))
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
		t.Errorf("container capabilities = %+v, want drop ALL and add none", sc.Capabilities)
	}
	if !isFalse(spec.AutomountServiceAccountToken) || !isFalse(b.account.AutomountServiceAccountToken) || spec.ServiceAccountName != b.account.Name {
		t.Errorf("the pod runs as service account %q (automount %s; the base's %q, automount %s): want the base's, with no token mounted",
			spec.ServiceAccountName, show(spec.AutomountServiceAccountToken), b.account.Name, show(b.account.AutomountServiceAccountToken))
	}
	req, lim := c.Resources.Requests, c.Resources.Limits
	if req.Cpu().IsZero() || req.Memory().IsZero() || lim.Memory().IsZero() {
		t.Errorf("resources = %+v; want CPU and memory requested and memory limited", c.Resources)
	}
}

// TestDisruptionBudgetKeepsReplicas checks that the PodDisruptionBudget
// covers the Deployment's pods and lets a node drain take one at a time
// while others serve.
func TestDisruptionBudgetKeepsReplicas(t *testing.T) {
	b := loadBase(t)
	sel := b.pdb.Spec.Selector
	if sel == nil || len(sel.MatchLabels) == 0 {
		t.Fatal("the PodDisruptionBudget selects no pods")
	}
	for k, v := range sel.MatchLabels {
		if b.deployment.Spec.Template.Labels[k] != v {
			t.Errorf("the PodDisruptionBudget selects %s=%s, which the pods lack", k, v)
		}
	}
	replicas := int32(1)
	if r := b.deployment.Spec.Replicas; r != nil {
		replicas = *r
	}
	if replicas < 2 {
		t.Errorf("the Deployment runs %d replica(s); a disruption budget needs two to keep one serving", replicas)
	}
	if mu := b.pdb.Spec.MaxUnavailable; mu == nil || b.pdb.Spec.MinAvailable != nil || mu.IntValue() != 1 {
		t.Errorf("the PodDisruptionBudget = %+v, want maxUnavailable 1", b.pdb.Spec)
	}
}
