package deploy_test

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/breakwater/breakwater/interceptors/breaker"
)

// manifests is the kustomize base, built and decoded into the API types.
type manifests struct {
	deployments map[string]*appsv1.Deployment
	services    map[string]*corev1.Service
	pdbs        map[string]*policyv1.PodDisruptionBudget
	configMaps  map[string]*corev1.ConfigMap // by their generated (hashed) names
	objects     []metav1.Object
}

// strictDecoder decodes what the API server would accept with
// fieldValidation=Strict: an unknown or duplicate field is an error, not a
// silently dropped setting. Only the kinds the base may hold are known.
func strictDecoder(t *testing.T) runtime.Decoder {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{appsv1.AddToScheme, corev1.AddToScheme, policyv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}

// buildKustomize runs `kustomize build deploy/kubernetes` through the
// kustomize API, with the defaults `kubectl apply -k` uses (files only from
// the kustomization's own directory).
func buildKustomize(t *testing.T) manifests {
	t.Helper()
	return buildKustomizeDir(t, filesys.MakeFsOnDisk(), "kubernetes")
}

func buildKustomizeDir(t *testing.T, fs filesys.FileSystem, dir string) manifests {
	t.Helper()
	rm, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, dir)
	if err != nil {
		t.Fatal(err)
	}
	dec := strictDecoder(t)
	m := manifests{
		deployments: map[string]*appsv1.Deployment{},
		services:    map[string]*corev1.Service{},
		pdbs:        map[string]*policyv1.PodDisruptionBudget{},
		configMaps:  map[string]*corev1.ConfigMap{},
	}
	for _, r := range rm.Resources() {
		b, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		obj, gvk, err := dec.Decode(b, nil, nil)
		if err != nil {
			t.Fatalf("%s %s: %v", r.GetKind(), r.GetName(), err)
		}
		switch o := obj.(type) {
		case *appsv1.Deployment:
			m.deployments[o.Name] = o
			m.objects = append(m.objects, o)
		case *corev1.Service:
			m.services[o.Name] = o
			m.objects = append(m.objects, o)
		case *policyv1.PodDisruptionBudget:
			m.pdbs[o.Name] = o
			m.objects = append(m.objects, o)
		case *corev1.ConfigMap:
			m.configMaps[o.Name] = o
			m.objects = append(m.objects, o)
		default:
			// A Secret in particular: the base must never carry one.
			t.Errorf("unexpected %s %s", gvk.Kind, r.GetName())
		}
	}
	return m
}

// TestKubernetesStrictDecoding: the decoder the other tests rely on does
// reject an unknown field.
func TestKubernetesStrictDecoding(t *testing.T) {
	_, _, err := strictDecoder(t).Decode([]byte(`{"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": {"name": "x"}, "spec": {"replica": 2}}`), nil, nil)
	if !runtime.IsStrictDecodingError(err) {
		t.Fatalf("unknown field: got %v, want a strict decoding error", err)
	}
}

func TestKubernetesObjects(t *testing.T) {
	m := buildKustomize(t)
	var names []string
	for _, o := range m.objects {
		names = append(names, fmt.Sprintf("%T %s", o, o.GetName()))
		if o.GetNamespace() != "" {
			t.Errorf("%s %s: namespace %q in a base", fmt.Sprintf("%T", o), o.GetName(), o.GetNamespace())
		}
		if o.GetLabels()["app.kubernetes.io/part-of"] != "breakwater" {
			t.Errorf("%s: no app.kubernetes.io/part-of label", o.GetName())
		}
		if errs := validation.IsDNS1123Subdomain(o.GetName()); len(errs) > 0 {
			t.Errorf("name %q: %v", o.GetName(), errs)
		}
		for k, v := range o.GetLabels() {
			if errs := append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...); len(errs) > 0 {
				t.Errorf("%s: label %s=%s: %v", o.GetName(), k, v, errs)
			}
		}
	}
	for _, svc := range services {
		for _, kind := range []struct {
			ok   bool
			kind string
		}{
			{m.deployments[svc.name] != nil, "Deployment"},
			{m.services[svc.name] != nil, "Service"},
			{m.pdbs[svc.name] != nil, "PodDisruptionBudget"},
		} {
			if !kind.ok {
				t.Errorf("no %s %s", kind.kind, svc.name)
			}
		}
	}
	if len(m.objects) != 9 {
		t.Errorf("objects %v: want 2 Deployments, 3 Services (AdProvider's headless one too), 2 PodDisruptionBudgets, 2 ConfigMaps", names)
	}
}

// TestKubernetesConfigMaps: the generated ConfigMaps exist under the names
// the Deployments refer to, and the breaker config in one is deploy/
// breakers.json, loadable by the services.
func TestKubernetesConfigMaps(t *testing.T) {
	m := buildKustomize(t)
	for _, svc := range services {
		t.Run(svc.name, func(t *testing.T) {
			pod := m.deployments[svc.name].Spec.Template.Spec
			c := pod.Containers[0]
			var envFrom int
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef == nil {
					t.Errorf("envFrom %+v: only ConfigMaps expected", ef)
					continue
				}
				envFrom++
				cm := m.configMaps[ef.ConfigMapRef.Name]
				if cm == nil {
					t.Fatalf("envFrom: no ConfigMap %s", ef.ConfigMapRef.Name)
				}
				for k := range cm.Data {
					if errs := validation.IsEnvVarName(k); len(errs) > 0 {
						t.Errorf("ConfigMap %s: %s: %v", cm.Name, k, errs)
					}
				}
				for k, v := range map[string]string{"BREAKER_CONFIG": breakerConfigPath, "LOG_FORMAT": "json", "LOG_LEVEL": "info"} {
					if cm.Data[k] != v {
						t.Errorf("ConfigMap %s: %s=%q, want %q", cm.Name, k, cm.Data[k], v)
					}
				}
			}
			if envFrom != 1 {
				t.Errorf("%d envFrom ConfigMaps, want 1", envFrom)
			}

			mount := slices.IndexFunc(c.VolumeMounts, func(vm corev1.VolumeMount) bool { return vm.MountPath == path.Dir(breakerConfigPath) })
			if mount < 0 || !c.VolumeMounts[mount].ReadOnly {
				t.Fatalf("no read-only volume mounted at %s", path.Dir(breakerConfigPath))
			}
			vol := slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == c.VolumeMounts[mount].Name })
			if vol < 0 || pod.Volumes[vol].ConfigMap == nil {
				t.Fatalf("volume %s: want a ConfigMap", c.VolumeMounts[mount].Name)
			}
			src := pod.Volumes[vol].ConfigMap
			if src.DefaultMode == nil || *src.DefaultMode != 0o444 {
				mode := "unset"
				if src.DefaultMode != nil {
					mode = fmt.Sprintf("%#o", *src.DefaultMode)
				}
				t.Errorf("breaker config volume defaultMode %s, want 0444", mode)
			}
			cm := m.configMaps[src.Name]
			if cm == nil {
				t.Fatalf("volume: no ConfigMap %s", src.Name)
			}
			data, ok := cm.Data[path.Base(breakerConfigPath)]
			if !ok {
				t.Fatalf("ConfigMap %s has no %s", cm.Name, path.Base(breakerConfigPath))
			}
			if _, err := breaker.ParseConfig([]byte(data)); err != nil {
				t.Error(err)
			}
			if !bytes.Equal([]byte(data), readFile(t, "breakers.json")) {
				t.Error("the breaker config ConfigMap is not deploy/breakers.json")
			}
		})
	}
}

// TestKubernetesSecretRefs: the database URL and the admin token come from
// the Secret the operator creates (deploy/README.md), never from a value
// in the manifests.
func TestKubernetesSecretRefs(t *testing.T) {
	m := buildKustomize(t)
	for _, svc := range services {
		t.Run(svc.name, func(t *testing.T) {
			c := m.deployments[svc.name].Spec.Template.Spec.Containers[0]
			refs := map[string]*corev1.SecretKeySelector{}
			for _, e := range c.Env {
				if errs := validation.IsEnvVarName(e.Name); len(errs) > 0 {
					t.Errorf("env %s: %v", e.Name, errs)
				}
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					refs[e.Name] = e.ValueFrom.SecretKeyRef
				}
				if regexp.MustCompile(`(?i)postgres(ql)?://|password|token`).MatchString(e.Value) {
					t.Errorf("env %s has a literal value that looks secret", e.Name)
				}
			}
			for name, want := range map[string]struct {
				key      string
				optional bool
			}{
				"DATABASE_URL": {"database-url", false},
				// Optional: without a token the services refuse breaker writes.
				"ADMIN_TOKEN": {"admin-token", true},
			} {
				ref := refs[name]
				if ref == nil {
					t.Errorf("%s: no secretKeyRef", name)
					continue
				}
				if ref.Name != "breakwater" || ref.Key != want.key || (ref.Optional != nil && *ref.Optional) != want.optional {
					t.Errorf("%s: secretKeyRef %s/%s optional=%v, want breakwater/%s optional=%v",
						name, ref.Name, ref.Key, ref.Optional != nil && *ref.Optional, want.key, want.optional)
				}
				if errs := validation.IsConfigMapKey(ref.Key); len(errs) > 0 {
					t.Errorf("%s: key %q: %v", name, ref.Key, errs)
				}
			}
			if len(refs) != 2 {
				t.Errorf("secret refs %v, want DATABASE_URL and ADMIN_TOKEN", refs)
			}
		})
	}
}

func TestKubernetesDeployments(t *testing.T) {
	m := buildKustomize(t)
	for _, svc := range services {
		t.Run(svc.name, func(t *testing.T) {
			d := m.deployments[svc.name]
			if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
				t.Errorf("replicas %v, want 2", d.Spec.Replicas)
			}
			sel := d.Spec.Selector
			if want := map[string]string{"app.kubernetes.io/name": svc.name}; sel == nil || len(sel.MatchExpressions) > 0 || !labels.Equals(sel.MatchLabels, want) {
				// Selectors are immutable: kustomize's labels must stay out.
				t.Errorf("selector %v, want exactly %v", sel, want)
			}
			if d.Spec.Template.Labels["app.kubernetes.io/part-of"] != "breakwater" {
				t.Error("pod template: no app.kubernetes.io/part-of label (kustomize labels, includeTemplates)")
			}
			if s := selector(t, sel); !s.Matches(labels.Set(d.Spec.Template.Labels)) {
				t.Errorf("selector %s does not select the pod template's labels %v", s, d.Spec.Template.Labels)
			}
			if ru := d.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 {
				t.Error("rolling update: want maxUnavailable 0, so both replicas serve during a rollout")
			}

			ann := d.Spec.Template.Annotations
			if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != strconv.Itoa(int(svc.adminPort)) || ann["prometheus.io/path"] != "/metrics" {
				t.Errorf("annotations %v: want prometheus.io scrape of :%d/metrics", ann, svc.adminPort)
			}

			pod := d.Spec.Template.Spec
			if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
				t.Error("automountServiceAccountToken: want false (no API access needed)")
			}
			if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
				t.Error("enableServiceLinks: want false (no ADPROVIDER_PORT_... variables)")
			}
			if len(pod.Containers) != 1 {
				t.Fatalf("%d containers, want 1", len(pod.Containers))
			}
			c := pod.Containers[0]
			if want := "breakwater/" + svc.name + ":"; len(c.Image) < len(want) || c.Image[:len(want)] != want {
				t.Errorf("image %q, want %s<tag>", c.Image, want)
			}

			ports := map[string]int32{}
			for _, p := range c.Ports {
				if errs := validation.IsValidPortName(p.Name); len(errs) > 0 {
					t.Errorf("port name %q: %v", p.Name, errs)
				}
				ports[p.Name] = p.ContainerPort
			}
			if ports["grpc"] != svc.grpcPort || ports["admin"] != svc.adminPort || len(ports) != 2 {
				t.Errorf("ports %v, want grpc %d, admin %d", ports, svc.grpcPort, svc.adminPort)
			}
			env := map[string]string{}
			for _, e := range c.Env {
				env[e.Name] = e.Value
			}
			if env[svc.env+"_ADDR"] != ":"+strconv.Itoa(int(svc.grpcPort)) || env[svc.env+"_ADMIN_ADDR"] != ":"+strconv.Itoa(int(svc.adminPort)) {
				t.Errorf("%s_ADDR=%q %[1]s_ADMIN_ADDR=%q: want the container ports", svc.env, env[svc.env+"_ADDR"], env[svc.env+"_ADMIN_ADDR"])
			}

			// Probes: native gRPC health on the gRPC port (plaintext).
			rp, lp := c.ReadinessProbe, c.LivenessProbe
			if rp == nil || rp.GRPC == nil || rp.GRPC.Port != svc.grpcPort || rp.GRPC.Service == nil || *rp.GRPC.Service != svc.healthName {
				t.Errorf("readiness: want grpc {port: %d, service: %s}", svc.grpcPort, svc.healthName)
			}
			// "": the process is up. Liveness must not follow the database, or
			// an outage would restart every pod.
			if lp == nil || lp.GRPC == nil || lp.GRPC.Port != svc.grpcPort || (lp.GRPC.Service != nil && *lp.GRPC.Service != "") {
				t.Errorf("liveness: want grpc {port: %d, service: \"\"}", svc.grpcPort)
			}
			for name, p := range map[string]*corev1.Probe{"readiness": rp, "liveness": lp} {
				if p != nil && (p.TimeoutSeconds < 1 || p.PeriodSeconds < 1 || p.FailureThreshold < 1) {
					t.Errorf("%s probe: timeout, period and failure threshold must be set", name)
				}
			}

			// Shutdown: preStop, then SIGTERM and the drain, inside the grace period.
			var preStop int64
			if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
				preStop = c.Lifecycle.PreStop.Sleep.Seconds
			}
			if preStop <= 0 {
				t.Error("preStop: want a sleep (the image has no shell), so endpoints drop the pod before the drain")
			}
			if g := pod.TerminationGracePeriodSeconds; g == nil || *g <= preStop+drainTimeout {
				t.Errorf("terminationGracePeriodSeconds %v: want more than preStop %ds + drain %ds", g, preStop, drainTimeout)
			}

			checkResources(t, c)
			checkSecurityContext(t, pod)
		})
	}
}

// checkResources: requests and limits for both CPU and memory, requests
// within limits, and a GOMEMLIMIT below the memory limit.
func checkResources(t *testing.T, c corev1.Container) {
	t.Helper()
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, okReq := c.Resources.Requests[r]
		lim, okLim := c.Resources.Limits[r]
		if !okReq || !okLim || req.IsZero() || lim.IsZero() {
			t.Errorf("%s: want a request and a limit", r)
			continue
		}
		if req.Cmp(lim) > 0 {
			t.Errorf("%s: request %s above limit %s", r, req.String(), lim.String())
		}
	}
	var gomemlimit string
	for _, e := range c.Env {
		if e.Name == "GOMEMLIMIT" {
			gomemlimit = e.Value
		}
	}
	soft, err := parseGoMemLimit(gomemlimit)
	if err != nil {
		t.Errorf("GOMEMLIMIT: %v", err)
		return
	}
	if limit := c.Resources.Limits.Memory().Value(); soft >= limit || soft < limit/2 {
		t.Errorf("GOMEMLIMIT %s: want between half and all of the memory limit (%d bytes)", gomemlimit, limit)
	}
}

// parseGoMemLimit reads GOMEMLIMIT's syntax (runtime/debug.SetMemoryLimit):
// a number of bytes with an optional B, KiB, MiB, GiB or TiB suffix.
func parseGoMemLimit(s string) (int64, error) {
	m := regexp.MustCompile(`^(\d+)(B|KiB|MiB|GiB|TiB)?$`).FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%q is not a GOMEMLIMIT value", s)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, err
	}
	shift := map[string]uint{"": 0, "B": 0, "KiB": 10, "MiB": 20, "GiB": 30, "TiB": 40}[m[2]]
	return n << shift, nil
}

// checkSecurityContext: what the Pod Security Standards' "restricted"
// profile requires, plus a read-only root filesystem and the image's user.
func checkSecurityContext(t *testing.T, pod corev1.PodSpec) {
	t.Helper()
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Error("pod: want runAsNonRoot")
	}
	if psc == nil || psc.RunAsUser == nil || *psc.RunAsUser != 65532 || psc.RunAsGroup == nil || *psc.RunAsGroup != 65532 {
		t.Error("pod: want runAsUser and runAsGroup 65532 (the image's user)")
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("pod: want seccompProfile RuntimeDefault")
	}
	for _, c := range append(pod.InitContainers, pod.Containers...) {
		sc := c.SecurityContext
		switch {
		case sc == nil:
			t.Errorf("%s: no securityContext", c.Name)
			continue
		case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
			t.Errorf("%s: want allowPrivilegeEscalation false", c.Name)
		case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
			t.Errorf("%s: want readOnlyRootFilesystem", c.Name)
		case sc.Privileged != nil && *sc.Privileged:
			t.Errorf("%s: privileged", c.Name)
		case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
			t.Errorf("%s: want capabilities drop [ALL], add none", c.Name)
		}
		if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			t.Errorf("%s: runAsUser 0", c.Name)
		}
	}
}

// TestKubernetesServices: ClusterIP Services that select the Deployment's
// pods, with named gRPC and admin ports on the containers' named ports.
func TestKubernetesServices(t *testing.T) {
	m := buildKustomize(t)
	for _, svc := range services {
		t.Run(svc.name, func(t *testing.T) {
			s, d := m.services[svc.name], m.deployments[svc.name]
			if s.Spec.Type != corev1.ServiceTypeClusterIP {
				t.Errorf("type %s, want ClusterIP", s.Spec.Type)
			}
			if !labels.Equals(s.Spec.Selector, d.Spec.Selector.MatchLabels) {
				t.Errorf("selector %v, want the Deployment's %v", s.Spec.Selector, d.Spec.Selector.MatchLabels)
			}
			containerPorts := map[string]int32{}
			for _, p := range d.Spec.Template.Spec.Containers[0].Ports {
				containerPorts[p.Name] = p.ContainerPort
			}
			want := map[string]struct {
				port        int32
				appProtocol string
			}{"grpc": {svc.grpcPort, "grpc"}, "admin": {svc.adminPort, "http"}}
			if len(s.Spec.Ports) != len(want) {
				t.Errorf("%d ports, want %d", len(s.Spec.Ports), len(want))
			}
			for _, p := range s.Spec.Ports {
				w, ok := want[p.Name]
				if !ok {
					t.Errorf("unexpected port %s", p.Name)
					continue
				}
				if p.Port != w.port || p.TargetPort.String() != p.Name || containerPorts[p.TargetPort.String()] != w.port {
					t.Errorf("port %s: %d → %s, want %d → the container's %[1]s port", p.Name, p.Port, p.TargetPort.String(), w.port)
				}
				if p.AppProtocol == nil || *p.AppProtocol != w.appProtocol {
					t.Errorf("port %s: appProtocol %v, want %s", p.Name, p.AppProtocol, w.appProtocol)
				}
			}
		})
	}

}

// TestKubernetesHeadlessService: AdProvider's pods also behind a headless
// Service (no cluster IP: one A record per ready pod), on the container's
// gRPC port, and Recommender dialling it through gRPC's DNS resolver, so
// that it sees every replica rather than one connection through kube-proxy.
func TestKubernetesHeadlessService(t *testing.T) {
	m := buildKustomize(t)
	hl, d := m.services["adprovider-headless"], m.deployments["adprovider"]
	if hl == nil {
		t.Fatal("no Service adprovider-headless")
	}
	if hl.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("clusterIP %q, want None", hl.Spec.ClusterIP)
	}
	if hl.Spec.PublishNotReadyAddresses {
		t.Error("publishNotReadyAddresses: a replica that is not ready must not be dialled")
	}
	if !labels.Equals(hl.Spec.Selector, d.Spec.Selector.MatchLabels) {
		t.Errorf("selector %v, want the Deployment's %v", hl.Spec.Selector, d.Spec.Selector.MatchLabels)
	}
	var grpcPort int32
	for _, p := range d.Spec.Template.Spec.Containers[0].Ports {
		if p.Name == "grpc" {
			grpcPort = p.ContainerPort
		}
	}
	if len(hl.Spec.Ports) != 1 || hl.Spec.Ports[0].Name != "grpc" || hl.Spec.Ports[0].Port != grpcPort ||
		hl.Spec.Ports[0].TargetPort.String() != "grpc" {
		t.Errorf("ports %v, want only grpc: %d → the container's grpc port", hl.Spec.Ports, grpcPort)
	}
	var target string
	for _, e := range m.deployments["recommender"].Spec.Template.Spec.Containers[0].Env {
		if e.Name == "ADPROVIDER_TARGET" {
			target = e.Value
		}
	}
	if want := "dns:///" + hl.Name + ":" + strconv.Itoa(int(grpcPort)); target != want {
		t.Errorf("recommender ADPROVIDER_TARGET=%q, want %q", target, want)
	}
}

// TestKubernetesPodDisruptionBudgets: one pod of each may be evicted at a
// time, and never the last.
func TestKubernetesPodDisruptionBudgets(t *testing.T) {
	m := buildKustomize(t)
	for _, svc := range services {
		t.Run(svc.name, func(t *testing.T) {
			p, d := m.pdbs[svc.name], m.deployments[svc.name]
			if p.Spec.MinAvailable == nil || p.Spec.MinAvailable.String() != "1" || p.Spec.MaxUnavailable != nil {
				t.Errorf("minAvailable %v maxUnavailable %v, want minAvailable 1 only", p.Spec.MinAvailable, p.Spec.MaxUnavailable)
			}
			if *d.Spec.Replicas <= int32(p.Spec.MinAvailable.IntValue()) {
				t.Errorf("replicas %d ≤ minAvailable %s: a node drain would block", *d.Spec.Replicas, p.Spec.MinAvailable)
			}
			if s := selector(t, p.Spec.Selector); !s.Matches(labels.Set(d.Spec.Template.Labels)) {
				t.Errorf("selector %s does not select the Deployment's pods", s)
			}
		})
	}
}

func selector(t *testing.T, ls *metav1.LabelSelector) labels.Selector {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		t.Fatal(err)
	}
	if s.Empty() {
		t.Fatal("empty selector selects everything")
	}
	return s
}

// TestKubernetesReadmeOverlays builds the overlays deploy/README.md shows
// (each a ```yaml block that starts with "# overlays/<name>/kustomization.yaml")
// on top of the base, so the documented patches apply and do what it says.
func TestKubernetesReadmeOverlays(t *testing.T) {
	// deploy/ in memory: the base as it is, the overlays in deploy/overlays/<name>.
	fs := filesys.MakeFsInMemory()
	files, err := os.ReadDir("kubernetes")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := fs.WriteFile(path.Join("/deploy/kubernetes", f.Name()), readFile(t, "kubernetes", f.Name())); err != nil {
			t.Fatal(err)
		}
	}
	blocks := regexp.MustCompile("(?s)\n( *)```yaml\n *(# overlays/([a-z-]+)/kustomization.yaml\n.*?)```").
		FindAllStringSubmatch(string(readFile(t, "README.md")), -1)
	overlays := map[string]manifests{}
	for _, b := range blocks {
		indent, text, name := b[1], b[2], b[3]
		text = strings.ReplaceAll(text, "\n"+indent, "\n") // a block inside a list item
		dir := path.Join("/deploy/overlays", name)
		if err := fs.WriteFile(path.Join(dir, "kustomization.yaml"), []byte(text)); err != nil {
			t.Fatal(err)
		}
		overlays[name] = buildKustomizeDir(t, fs, dir)
	}

	cnpg, ok := overlays["cnpg"]
	if !ok {
		t.Fatal("README.md: no overlays/cnpg block")
	}
	for _, svc := range services {
		env := map[string]corev1.EnvVar{}
		for _, e := range cnpg.deployments[svc.name].Spec.Template.Spec.Containers[0].Env {
			env[e.Name] = e
		}
		if ref := env["DATABASE_URL"].ValueFrom; ref == nil || ref.SecretKeyRef == nil ||
			ref.SecretKeyRef.Name != "breakwater-db-app" || ref.SecretKeyRef.Key != "uri" {
			t.Errorf("cnpg overlay, %s: DATABASE_URL %+v, want the operator's Secret breakwater-db-app/uri", svc.name, env["DATABASE_URL"])
		}
		if env["PGSSLMODE"].Value != "require" {
			t.Errorf("cnpg overlay, %s: PGSSLMODE=%q, want require", svc.name, env["PGSSLMODE"].Value)
		}
		if ref := env["ADMIN_TOKEN"].ValueFrom; ref == nil || ref.SecretKeyRef == nil || ref.SecretKeyRef.Name != "breakwater" {
			t.Errorf("cnpg overlay, %s: ADMIN_TOKEN no longer from the breakwater Secret", svc.name)
		}
	}

	prod, ok := overlays["production"]
	if !ok {
		t.Fatal("README.md: no overlays/production block")
	}
	for _, svc := range services {
		if img, want := prod.deployments[svc.name].Spec.Template.Spec.Containers[0].Image,
			"registry.example.com/breakwater/"+svc.name+":v0.1.0"; img != want {
			t.Errorf("production overlay, %s: image %s, want %s", svc.name, img, want)
		}
	}
}
