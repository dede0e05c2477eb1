using System.Globalization;
using System.Text.Json.Nodes;
using MobileNet.Orleans.Grains.Workers;
using MobileNet.Orleans.Silo.Hosting;

namespace MobileNet.Orleans.Deploy.Tests.Manifests;

/// <summary>One broken rule: which object, which rule, what is wrong.</summary>
internal sealed record PolicyViolation(string Object, string Rule, string Message)
{
    public override string ToString() => $"{Object}: [{Rule}] {Message}";
}

/// <summary>
/// The deployment rules every rendered overlay must keep, checked on the objects `kubectl kustomize` emits:
/// containers are sized, probed and locked down; images are pinned; selectors select what they mean to; the
/// silo advertises its pod IP, carries Orleans' labels, and gets more time to stop than it takes to drain.
/// </summary>
internal static class ManifestPolicy
{
    public const string SiloDeployment = "mobilenet-silo";

    /// <summary>The silo's own DrainTimeout default, used when the manifests do not set Worker__DrainTimeout.</summary>
    public static readonly TimeSpan DefaultDrainTimeout = new WorkerOptions().DrainTimeout;

    /// <summary>What the silo's host allows Orleans to stop after the drain (leave membership, deactivate grains).</summary>
    public static readonly TimeSpan ShutdownMargin = SiloHostingExtensions.ShutdownAfterDrain;

    // Kubernetes' default when a pod spec leaves terminationGracePeriodSeconds out.
    private const int DefaultGracePeriodSeconds = 30;

    private static readonly string[] LongRunningKinds = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"];

    public static List<PolicyViolation> Check(IReadOnlyList<JsonObject> objects)
    {
        var violations = new List<PolicyViolation>();
        var workloads = objects.Select(o => (Object: o, Pod: PodTemplate(o))).Where(w => w.Pod is not null).ToList();

        foreach (var (workload, template) in workloads)
        {
            CheckWorkload(objects, workload, template!, violations);
        }

        foreach (var obj in objects)
        {
            switch (Kind(obj))
            {
                case "Service":
                    CheckSelects(obj, obj["spec"]?["selector"] as JsonObject, workloads, "service-selector", violations, required: true);
                    CheckServicePorts(obj, workloads, violations);
                    break;
                case "PodDisruptionBudget":
                    CheckSelects(obj, obj["spec"]?["selector"]?["matchLabels"] as JsonObject, workloads, "pdb-selector", violations, required: true);
                    break;
                case "NetworkPolicy":
                    CheckSelects(obj, obj["spec"]?["podSelector"]?["matchLabels"] as JsonObject, workloads, "networkpolicy-selector", violations, required: false);
                    CheckNetworkPolicyPorts(obj, workloads, violations);
                    CheckGatewayIngress(obj, violations);
                    break;
                case "HorizontalPodAutoscaler":
                case "ScaledObject":
                    CheckScaleTarget(objects, obj, violations);
                    break;
                case "ServiceAccount":
                    if (obj["automountServiceAccountToken"]?.GetValue<bool>() != false)
                    {
                        violations.Add(new(Id(obj), "serviceaccount-token", "automountServiceAccountToken must be false: nothing here calls the Kubernetes API"));
                    }

                    break;
            }
        }

        var silo = objects.FirstOrDefault(o => Kind(o) == "Deployment" && Name(o) == SiloDeployment);
        if (silo is not null)
        {
            CheckSilo(objects, silo, violations);
            CheckTls(objects, silo, Containers(PodTemplate(silo)!).FirstOrDefault() ?? [], "Tls__CertificateDirectory", violations);
        }

        foreach (var (client, template) in workloads.Where(w => Labels(w.Pod!)[ClientLabel]?.GetValue<string>() == "true"))
        {
            foreach (var container in Containers(template!))
            {
                CheckTls(objects, client, container, "MOBILENET_TLS_DIR", violations);
                CheckNoStorageKey(client, container, violations);
            }
        }

        return violations;
    }

    /// <summary>The pod label the silos' NetworkPolicy admits to the gateway.</summary>
    public const string ClientLabel = "mobilenet-orleans/client";

    /// <summary>
    /// Mutual TLS needs the certificate folder (<paramref name="setting"/>) to be a read-only Secret volume, and
    /// plain TCP (Tls__Insecure) is never deployed.
    /// </summary>
    private static void CheckTls(IReadOnlyList<JsonObject> objects, JsonObject workload, JsonObject container, string setting, List<PolicyViolation> violations)
    {
        var id = Id(workload);
        if (EnvValue(objects, workload, container, "Tls__Insecure") is { } insecure && insecure.Equals("true", StringComparison.OrdinalIgnoreCase))
        {
            violations.Add(new(id, "tls", "Tls__Insecure=true turns off TLS and every role check: never deploy it"));
        }

        var directory = EnvValue(objects, workload, container, setting);
        if (directory is null)
        {
            violations.Add(new(id, "tls", $"{setting} is not set: the certificate folder (tls.crt, tls.key, ca.crt) must be configured"));
            return;
        }

        var mount = (container["volumeMounts"] as JsonArray ?? []).OfType<JsonObject>().FirstOrDefault(m => m["mountPath"]?.GetValue<string>()?.TrimEnd('/') == directory.TrimEnd('/'));
        var volumeName = mount?["name"]?.GetValue<string>();
        var volume = (PodTemplate(workload)?["spec"]?["volumes"] as JsonArray ?? []).OfType<JsonObject>().FirstOrDefault(v => v["name"]?.GetValue<string>() == volumeName);
        if (mount is null || volume?["secret"]?["secretName"] is null)
        {
            violations.Add(new(id, "tls", $"{setting} '{directory}' must be a mounted Secret volume (cert-manager Certificate or kubectl create secret)"));
        }
        else if (mount["readOnly"]?.GetValue<bool>() != true)
        {
            violations.Add(new(id, "tls", $"the certificate volume at '{directory}' must be mounted readOnly"));
        }
    }

    /// <summary>Clients reach the cluster with a certificate: a storage key in a client pod is full control of the account.</summary>
    private static void CheckNoStorageKey(JsonObject workload, JsonObject container, List<PolicyViolation> violations)
    {
        var secrets = (container["envFrom"] as JsonArray ?? []).OfType<JsonObject>().Select(f => f["secretRef"]?["name"]?.GetValue<string>())
            .Concat((container["env"] as JsonArray ?? []).OfType<JsonObject>().Select(e => e["valueFrom"]?["secretKeyRef"]?["name"]?.GetValue<string>()));
        var direct = (container["env"] as JsonArray ?? []).OfType<JsonObject>().Any(e => e["name"]?.GetValue<string>() == "MOBILENET_STORAGE");
        if (direct || secrets.Any(n => n == "mobilenet-storage"))
        {
            violations.Add(new(Id(workload), "client-storage-key", "a client pod must not get the storage connection string: job commands go through the gateway with a certificate"));
        }
    }

    /// <summary>The gateway port admits only pods carrying the client label (any namespace selector must come with it), never address ranges.</summary>
    private static void CheckGatewayIngress(JsonObject policy, List<PolicyViolation> violations)
    {
        foreach (var rule in (policy["spec"]?["ingress"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var ports = (rule["ports"] as JsonArray ?? []).OfType<JsonObject>().Select(p => p["port"]?.ToJsonString()).ToList();
            if (ports.Count > 0 && !ports.Contains("\"gateway\"") && !ports.Contains("30000"))
            {
                continue;
            }

            var peers = (rule["from"] as JsonArray ?? []).OfType<JsonObject>().ToList();
            if (peers.Count == 0)
            {
                violations.Add(new(Id(policy), "gateway-ingress", "an ingress rule reaching the gateway admits everyone (no 'from')"));
            }

            foreach (var peer in peers)
            {
                if (peer["podSelector"]?["matchLabels"]?[ClientLabel]?.GetValue<string>() != "true")
                {
                    violations.Add(new(Id(policy), "gateway-ingress", $"gateway peer {peer.ToJsonString()} must select pods labelled {ClientLabel}=true"));
                }
            }
        }
    }

    /// <summary>The DrainTimeout the silo container gets: its env, else the ConfigMaps it loads, else the silo default.</summary>
    public static TimeSpan DrainTimeout(IReadOnlyList<JsonObject> objects, JsonObject siloDeployment)
    {
        var container = Containers(PodTemplate(siloDeployment)!).FirstOrDefault();
        var value = container is null ? null : EnvValue(objects, siloDeployment, container, "Worker__DrainTimeout");
        return value is null ? DefaultDrainTimeout : TimeSpan.Parse(value, CultureInfo.InvariantCulture);
    }

    private static void CheckWorkload(IReadOnlyList<JsonObject> objects, JsonObject workload, JsonObject template, List<PolicyViolation> violations)
    {
        var id = Id(workload);
        var pod = template["spec"] as JsonObject ?? [];
        var podSecurity = pod["securityContext"] as JsonObject;

        if (workload["spec"]?["selector"] is JsonObject selector && Kind(workload) != "Job")
        {
            var matchLabels = selector["matchLabels"] as JsonObject;
            if (matchLabels is null || matchLabels.Count == 0)
            {
                violations.Add(new(id, "workload-selector", "spec.selector.matchLabels is empty"));
            }
            else if (!Selects(matchLabels, Labels(template)))
            {
                violations.Add(new(id, "workload-selector", $"spec.selector {Show(matchLabels)} does not match the pod template labels {Show(Labels(template))}"));
            }
        }

        var serviceAccount = pod["serviceAccountName"]?.GetValue<string>();
        if (serviceAccount is not null && !objects.Any(o => Kind(o) == "ServiceAccount" && Name(o) == serviceAccount && Namespace(o) == Namespace(workload)))
        {
            violations.Add(new(id, "references", $"serviceAccountName '{serviceAccount}' is not among the rendered ServiceAccounts"));
        }

        if (pod["automountServiceAccountToken"]?.GetValue<bool>() != false)
        {
            violations.Add(new(id, "serviceaccount-token", "pod spec must set automountServiceAccountToken: false"));
        }

        var longRunning = LongRunningKinds.Contains(Kind(workload));
        foreach (var container in Containers(template))
        {
            var cid = $"{id} container '{container["name"]}'";
            var requests = container["resources"]?["requests"] as JsonObject;
            if (requests?["cpu"] is null || requests["memory"] is null)
            {
                violations.Add(new(cid, "resources", "resources.requests must set cpu and memory"));
            }

            if (container["resources"]?["limits"]?["memory"] is null)
            {
                violations.Add(new(cid, "resources", "resources.limits.memory must be set"));
            }

            // A Job's container runs to completion: its health is its exit code, so only servers need probes.
            if (longRunning && (container["livenessProbe"] is null || container["readinessProbe"] is null))
            {
                violations.Add(new(cid, "probes", "long-running containers need a livenessProbe and a readinessProbe"));
            }

            CheckImage(cid, container["image"]?.GetValue<string>(), violations);
            CheckSecurity(cid, podSecurity, container["securityContext"] as JsonObject, violations);
            CheckEnvReferences(objects, workload, cid, container, violations);
        }
    }

    private static void CheckImage(string cid, string? image, List<PolicyViolation> violations)
    {
        if (string.IsNullOrWhiteSpace(image))
        {
            violations.Add(new(cid, "image", "no image"));
            return;
        }

        if (image.Contains('@', StringComparison.Ordinal))
        {
            return; // Pinned by digest.
        }

        var lastSlash = image.LastIndexOf('/');
        var colon = image.IndexOf(':', lastSlash + 1);
        var tag = colon < 0 ? null : image[(colon + 1)..];
        if (tag is null)
        {
            violations.Add(new(cid, "image", $"image '{image}' has no tag: pin a version"));
        }
        else if (tag.Equals("latest", StringComparison.OrdinalIgnoreCase))
        {
            violations.Add(new(cid, "image", $"image '{image}' uses 'latest': pin a version"));
        }
    }

    private static void CheckSecurity(string cid, JsonObject? pod, JsonObject? container, List<PolicyViolation> violations)
    {
        // Container settings override the pod's.
        bool? Effective(string field) => (container?[field] ?? pod?[field])?.GetValue<bool>();

        if (Effective("runAsNonRoot") != true)
        {
            violations.Add(new(cid, "security", "runAsNonRoot must be true (pod or container securityContext)"));
        }

        var user = container?["runAsUser"] ?? pod?["runAsUser"];
        if (Integer(user) == 0)
        {
            violations.Add(new(cid, "security", "runAsUser must not be 0 (root)"));
        }

        if (container?["allowPrivilegeEscalation"]?.GetValue<bool>() != false)
        {
            violations.Add(new(cid, "security", "allowPrivilegeEscalation must be false"));
        }

        if (container?["readOnlyRootFilesystem"]?.GetValue<bool>() != true)
        {
            violations.Add(new(cid, "security", "readOnlyRootFilesystem must be true (mount an emptyDir where the process writes)"));
        }

        var drop = container?["capabilities"]?["drop"] as JsonArray;
        if (drop is null || !drop.Any(c => c?.GetValue<string>() == "ALL"))
        {
            violations.Add(new(cid, "security", "capabilities.drop must contain ALL"));
        }

        var seccomp = (container?["seccompProfile"] ?? pod?["seccompProfile"])?["type"]?.GetValue<string>();
        if (seccomp is not ("RuntimeDefault" or "Localhost"))
        {
            violations.Add(new(cid, "security", "seccompProfile.type must be RuntimeDefault (or Localhost)"));
        }
    }

    private static void CheckEnvReferences(IReadOnlyList<JsonObject> objects, JsonObject workload, string cid, JsonObject container, List<PolicyViolation> violations)
    {
        void Require(string kind, JsonNode? reference, string where)
        {
            var name = reference?["name"]?.GetValue<string>();
            if (name is null || reference?["optional"]?.GetValue<bool>() == true)
            {
                return;
            }

            if (!objects.Any(o => Kind(o) == kind && Name(o) == name && Namespace(o) == Namespace(workload)))
            {
                violations.Add(new(cid, "references", $"{where} names {kind} '{name}', which is not rendered (and not optional)"));
            }
        }

        foreach (var from in (container["envFrom"] as JsonArray ?? []).OfType<JsonObject>())
        {
            Require("ConfigMap", from["configMapRef"], "envFrom");
            Require("Secret", from["secretRef"], "envFrom");
        }

        foreach (var env in (container["env"] as JsonArray ?? []).OfType<JsonObject>())
        {
            Require("ConfigMap", env["valueFrom"]?["configMapKeyRef"], $"env {env["name"]}");
            Require("Secret", env["valueFrom"]?["secretKeyRef"], $"env {env["name"]}");
        }
    }

    private static void CheckSelects(JsonObject obj, JsonObject? selector, List<(JsonObject Object, JsonObject? Pod)> workloads, string rule, List<PolicyViolation> violations, bool required)
    {
        if (selector is null || selector.Count == 0)
        {
            if (required)
            {
                violations.Add(new(Id(obj), rule, "has no label selector"));
            }

            return;
        }

        if (!SelectedPods(obj, selector, workloads).Any())
        {
            violations.Add(new(Id(obj), rule, $"selector {Show(selector)} selects no pod of any rendered workload"));
        }
    }

    private static void CheckServicePorts(JsonObject service, List<(JsonObject Object, JsonObject? Pod)> workloads, List<PolicyViolation> violations)
    {
        if (service["spec"]?["selector"] is not JsonObject selector || selector.Count == 0)
        {
            return;
        }

        var pods = SelectedPods(service, selector, workloads).ToList();
        foreach (var port in (service["spec"]?["ports"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var target = port["targetPort"] ?? port["port"];
            if (pods.Count > 0 && !pods.All(p => ExposesPort(p, target)))
            {
                violations.Add(new(Id(service), "service-ports", $"targetPort {target?.ToJsonString()} is not a container port of the selected pods"));
            }
        }
    }

    private static void CheckNetworkPolicyPorts(JsonObject policy, List<(JsonObject Object, JsonObject? Pod)> workloads, List<PolicyViolation> violations)
    {
        var selector = policy["spec"]?["podSelector"]?["matchLabels"] as JsonObject ?? [];
        var pods = SelectedPods(policy, selector, workloads).ToList();
        foreach (var rule in (policy["spec"]?["ingress"] as JsonArray ?? []).OfType<JsonObject>())
        {
            foreach (var port in (rule["ports"] as JsonArray ?? []).OfType<JsonObject>())
            {
                if (pods.Count > 0 && !pods.All(p => ExposesPort(p, port["port"])))
                {
                    violations.Add(new(Id(policy), "networkpolicy-ports", $"ingress port {port["port"]?.ToJsonString()} is not a container port of the selected pods"));
                }
            }
        }
    }

    private static void CheckScaleTarget(IReadOnlyList<JsonObject> objects, JsonObject scaler, List<PolicyViolation> violations)
    {
        var target = scaler["spec"]?["scaleTargetRef"];
        var kind = target?["kind"]?.GetValue<string>() ?? "Deployment";
        var name = target?["name"]?.GetValue<string>();
        if (!objects.Any(o => Kind(o) == kind && Name(o) == name && Namespace(o) == Namespace(scaler)))
        {
            violations.Add(new(Id(scaler), "scale-target", $"scaleTargetRef {kind}/{name} is not among the rendered objects"));
        }
    }

    private static void CheckSilo(IReadOnlyList<JsonObject> objects, JsonObject silo, List<PolicyViolation> violations)
    {
        var id = Id(silo);
        var template = PodTemplate(silo)!;
        var container = Containers(template).FirstOrDefault() ?? [];

        var scalers = objects.Where(o => Kind(o) is "HorizontalPodAutoscaler" or "ScaledObject"
            && o["spec"]?["scaleTargetRef"]?["name"]?.GetValue<string>() == SiloDeployment && Namespace(o) == Namespace(silo)).ToList();
        if (scalers.Count != 1)
        {
            violations.Add(new(id, "autoscaling", $"exactly one autoscaler (HPA or KEDA ScaledObject) must target the silo Deployment; found {scalers.Count}"));
        }

        var maxUnavailable = silo["spec"]?["strategy"]?["rollingUpdate"]?["maxUnavailable"];
        if (maxUnavailable?.ToJsonString() is not ("0" or "\"0%\""))
        {
            violations.Add(new(id, "rollout", "strategy.rollingUpdate.maxUnavailable must be 0: start a new silo before stopping an old one"));
        }

        var drain = DrainTimeout(objects, silo);
        var grace = Integer(template["spec"]?["terminationGracePeriodSeconds"]) ?? DefaultGracePeriodSeconds;
        if (TimeSpan.FromSeconds(grace) <= drain + ShutdownMargin)
        {
            violations.Add(new(id, "grace-period", $"terminationGracePeriodSeconds {grace} must exceed DrainTimeout {drain.TotalSeconds:0} s + {ShutdownMargin.TotalSeconds:0} s the silo allows Orleans to stop"));
        }

        var advertised = (container["env"] as JsonArray ?? []).OfType<JsonObject>().FirstOrDefault(e => e["name"]?.GetValue<string>() == "Silo__AdvertisedIp");
        if (advertised?["valueFrom"]?["fieldRef"]?["fieldPath"]?.GetValue<string>() != "status.podIP")
        {
            violations.Add(new(id, "advertised-ip", "Silo__AdvertisedIp must come from the downward API (fieldRef status.podIP)"));
        }

        var labels = Labels(template);
        foreach (var (label, setting) in new[] { ("orleans/serviceId", "Silo__ServiceId"), ("orleans/clusterId", "Silo__ClusterId") })
        {
            var configured = EnvValue(objects, silo, container, setting);
            var actual = labels[label]?.GetValue<string>();
            if (configured is null)
            {
                violations.Add(new(id, "orleans-ids", $"{setting} is not configured"));
            }
            else if (actual != configured)
            {
                violations.Add(new(id, "orleans-ids", $"pod label {label}='{actual}' differs from {setting}='{configured}'"));
            }
        }

        // In-cluster clients (deploy/k8s/jobs) must look for the silos' cluster, not the CLI's local default.
        var clusterId = EnvValue(objects, silo, container, "Silo__ClusterId");
        foreach (var client in objects.Where(o => o != silo && PodTemplate(o) is not null && Namespace(o) == Namespace(silo)))
        {
            foreach (var c in Containers(PodTemplate(client)!))
            {
                var wanted = EnvValue(objects, client, c, "MOBILENET_CLUSTER_ID");
                if (wanted is not null && wanted != clusterId)
                {
                    violations.Add(new(Id(client), "orleans-ids", $"MOBILENET_CLUSTER_ID '{wanted}' differs from the silos' Silo__ClusterId '{clusterId}'"));
                }
            }
        }

        var mounts = (container["volumeMounts"] as JsonArray ?? []).OfType<JsonObject>().Select(m => m["mountPath"]?.GetValue<string>()).ToList();
        var cache = EnvValue(objects, silo, container, "Worker__CacheDirectory");
        if (cache is null || !mounts.Contains(cache))
        {
            violations.Add(new(id, "model-cache", $"the model cache directory '{cache}' must be a mounted volume (the root filesystem is read-only)"));
        }

        if (!mounts.Contains("/tmp"))
        {
            violations.Add(new(id, "model-cache", "/tmp must be a mounted volume (the root filesystem is read-only)"));
        }
    }

    private static string? EnvValue(IReadOnlyList<JsonObject> objects, JsonObject workload, JsonObject container, string name)
    {
        var direct = (container["env"] as JsonArray ?? []).OfType<JsonObject>().LastOrDefault(e => e["name"]?.GetValue<string>() == name);
        if (direct?["value"] is JsonNode value)
        {
            return value.GetValue<string>();
        }

        // Later envFrom entries win, as in Kubernetes.
        string? found = null;
        foreach (var from in (container["envFrom"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var mapName = from["configMapRef"]?["name"]?.GetValue<string>();
            var map = objects.FirstOrDefault(o => Kind(o) == "ConfigMap" && Name(o) == mapName && Namespace(o) == Namespace(workload));
            if (map?["data"]?[name] is JsonNode data)
            {
                found = data.GetValue<string>();
            }
        }

        return found;
    }

    private static IEnumerable<JsonObject> SelectedPods(JsonObject selecting, JsonObject selector, List<(JsonObject Object, JsonObject? Pod)> workloads) =>
        workloads.Where(w => Namespace(w.Object) == Namespace(selecting) && Selects(selector, Labels(w.Pod!))).Select(w => w.Pod!);

    private static bool ExposesPort(JsonObject podTemplate, JsonNode? port)
    {
        var ports = Containers(podTemplate).SelectMany(c => (c["ports"] as JsonArray ?? []).OfType<JsonObject>()).ToList();
        return port switch
        {
            null => false,
            JsonValue v when v.TryGetValue<string>(out var named) => ports.Any(p => p["name"]?.GetValue<string>() == named),
            _ => ports.Any(p => Integer(p["containerPort"]) == Integer(port)),
        };
    }

    // Numbers arrive as int or long depending on who built the node (YAML reader or a test's edit).
    private static long? Integer(JsonNode? node) =>
        node is null ? null : long.Parse(node.ToJsonString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

    private static bool Selects(JsonObject selector, JsonObject labels) =>
        selector.All(kv => labels[kv.Key]?.GetValue<string>() == kv.Value?.GetValue<string>());

    internal static JsonObject? PodTemplate(JsonObject obj) => Kind(obj) switch
    {
        "Deployment" or "StatefulSet" or "DaemonSet" or "ReplicaSet" or "Job" => obj["spec"]?["template"] as JsonObject,
        "CronJob" => obj["spec"]?["jobTemplate"]?["spec"]?["template"] as JsonObject,
        "Pod" => obj,
        _ => null,
    };

    private static IEnumerable<JsonObject> Containers(JsonObject template) =>
        new[] { "initContainers", "containers" }
            .SelectMany(k => (template["spec"]?[k] as JsonArray ?? []).OfType<JsonObject>());

    private static JsonObject Labels(JsonObject obj) => obj["metadata"]?["labels"] as JsonObject ?? [];

    private static string Kind(JsonObject obj) => obj["kind"]?.GetValue<string>() ?? "";

    private static string Name(JsonObject obj) => obj["metadata"]?["name"]?.GetValue<string>() ?? "";

    private static string Namespace(JsonObject obj) => obj["metadata"]?["namespace"]?.GetValue<string>() ?? "";

    private static string Id(JsonObject obj) => $"{Kind(obj)}/{Name(obj)}";

    private static string Show(JsonObject labels) => labels.ToJsonString();
}
