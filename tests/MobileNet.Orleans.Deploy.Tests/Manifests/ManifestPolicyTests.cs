using System.Text.Json.Nodes;

namespace MobileNet.Orleans.Deploy.Tests.Manifests;

public sealed class ManifestPolicyTests
{
    [SkippableTheory]
    [InlineData("overlays/local")]
    [InlineData("overlays/azure")]
    [InlineData("overlays/keda")]
    public async Task Check_EachOverlay_NoViolations(string overlay)
    {
        var objects = await Kustomize.RenderObjectsAsync(overlay);

        var violations = ManifestPolicy.Check(objects);

        Assert.True(violations.Count == 0, string.Join('\n', violations));
        Assert.Contains(objects, o => o["kind"]?.GetValue<string>() == "Deployment" && o["metadata"]?["name"]?.GetValue<string>() == ManifestPolicy.SiloDeployment);
    }

    [SkippableTheory]
    [InlineData("overlays/local")]
    [InlineData("overlays/azure")]
    public async Task Check_SubmitJobAppliedOverOverlay_NoViolations(string overlay)
    {
        // The Job refers to the ServiceAccount and storage Secret/ConfigMap an overlay creates: check them together.
        var objects = (await Kustomize.RenderObjectsAsync(overlay)).Concat(await Kustomize.RenderObjectsAsync("jobs")).ToList();

        var violations = ManifestPolicy.Check(objects);

        Assert.True(violations.Count == 0, string.Join('\n', violations));
        var job = Assert.Single(objects, o => o["kind"]?.GetValue<string>() == "Job");
        Assert.Equal("true", job["spec"]?["template"]?["metadata"]?["labels"]?["mobilenet-orleans/client"]?.GetValue<string>());
        Assert.Contains("--wait", job["spec"]!["template"]!["spec"]!["containers"]![0]!["args"]!.AsArray().Select(a => a!.GetValue<string>()));
    }

    [SkippableFact]
    public async Task Check_SubmitJobWithStorageKeyOrWithoutCertificate_ReportsViolations()
    {
        var objects = (await Kustomize.RenderObjectsAsync("overlays/local")).Concat(await Kustomize.RenderObjectsAsync("jobs")).ToList();
        var job = objects.Single(o => o["kind"]?.GetValue<string>() == "Job");
        var container = job["spec"]!["template"]!["spec"]!["containers"]![0]!.AsObject();
        container["envFrom"] = new JsonArray(new JsonObject { ["secretRef"] = new JsonObject { ["name"] = "mobilenet-storage" } });
        var mounts = container["volumeMounts"]!.AsArray();
        mounts.Remove(mounts.Single(m => m!["name"]!.GetValue<string>() == "tls"));

        var violations = ManifestPolicy.Check(objects);

        Assert.Contains(violations, v => v.Rule == "client-storage-key" && v.Object == "Job/mobilenet-submit");
        Assert.Contains(violations, v => v.Rule == "tls" && v.Object == "Job/mobilenet-submit");
    }

    [SkippableFact]
    public async Task Check_SubmitJobForAnotherCluster_ReportsViolation()
    {
        var objects = (await Kustomize.RenderObjectsAsync("overlays/local")).Concat(await Kustomize.RenderObjectsAsync("jobs")).ToList();
        var job = objects.Single(o => o["kind"]?.GetValue<string>() == "Job");
        var env = job["spec"]!["template"]!["spec"]!["containers"]![0]!["env"]!.AsArray();
        env.Single(e => e!["name"]!.GetValue<string>() == "MOBILENET_CLUSTER_ID")!["value"] = "mobilenet-local";

        var violations = ManifestPolicy.Check(objects);

        Assert.Contains(violations, v => v.Rule == "orleans-ids" && v.Object == "Job/mobilenet-submit");
    }

    [SkippableTheory]
    [InlineData("overlays/local")]
    [InlineData("overlays/azure")]
    public async Task DrainTimeout_SiloDeployment_GracePeriodExceedsDrainPlusShutdown(string overlay)
    {
        var objects = await Kustomize.RenderObjectsAsync(overlay);
        var silo = Silo(objects);

        var drain = ManifestPolicy.DrainTimeout(objects, silo);
        var grace = TimeSpan.FromSeconds(silo["spec"]!["template"]!["spec"]!["terminationGracePeriodSeconds"]!.GetValue<long>());

        // Read from the generated ConfigMap, not assumed: base/silo.env sets 20 s.
        Assert.Equal(TimeSpan.FromSeconds(20), drain);
        Assert.True(grace > drain + ManifestPolicy.ShutdownMargin, $"grace {grace} vs drain {drain}");
    }

    [SkippableFact]
    public async Task Check_KedaOverlay_ReplacesCpuAutoscalerWithScaledObject()
    {
        var objects = await Kustomize.RenderObjectsAsync("overlays/keda");

        Assert.DoesNotContain(objects, o => o["kind"]?.GetValue<string>() == "HorizontalPodAutoscaler");
        var scaled = Assert.Single(objects, o => o["kind"]?.GetValue<string>() == "ScaledObject");
        Assert.Equal(ManifestPolicy.SiloDeployment, scaled["spec"]?["scaleTargetRef"]?["name"]?.GetValue<string>());
        Assert.Contains("mobilenet_images_pending", scaled["spec"]!["triggers"]![0]!["metadata"]!["query"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [SkippableTheory]
    [InlineData("no-requests", "resources")]
    [InlineData("no-readiness-probe", "probes")]
    [InlineData("runs-as-root", "security")]
    [InlineData("writable-root", "security")]
    [InlineData("latest-tag", "image")]
    [InlineData("untagged-image", "image")]
    [InlineData("short-grace-period", "grace-period")]
    [InlineData("long-drain-timeout", "grace-period")]
    [InlineData("selector-mismatch", "workload-selector")]
    [InlineData("service-selects-nothing", "service-selector")]
    [InlineData("pdb-selects-nothing", "pdb-selector")]
    [InlineData("networkpolicy-selects-nothing", "networkpolicy-selector")]
    [InlineData("hpa-wrong-target", "scale-target")]
    [InlineData("hpa-wrong-target", "autoscaling")]
    [InlineData("cluster-id-label-drift", "orleans-ids")]
    [InlineData("no-advertised-ip", "advertised-ip")]
    [InlineData("max-unavailable-1", "rollout")]
    [InlineData("missing-configmap", "references")]
    [InlineData("api-token-mounted", "serviceaccount-token")]
    [InlineData("gateway-port-renamed", "service-ports")]
    [InlineData("tls-insecure", "tls")]
    [InlineData("tls-not-mounted", "tls")]
    [InlineData("tls-from-emptydir", "tls")]
    [InlineData("gateway-open-to-namespace", "gateway-ingress")]
    [InlineData("gateway-open-to-ip-range", "gateway-ingress")]
    public async Task Check_BrokenManifest_ReportsViolation(string breakage, string expectedRule)
    {
        var objects = await Kustomize.RenderObjectsAsync("overlays/local");
        Break(objects, breakage);

        var violations = ManifestPolicy.Check(objects);

        Assert.Contains(violations, v => v.Rule == expectedRule);
    }

    [Fact]
    public void Check_HandWrittenBadDeployment_ReportsEveryMissingSafeguard()
    {
        const string yaml = """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: bad
            spec:
              selector:
                matchLabels:
                  app: bad
              template:
                metadata:
                  labels:
                    app: other
                spec:
                  containers:
                    - name: app
                      image: registry.local:5000/app
            """;

        var rules = ManifestPolicy.Check(YamlObjects.Parse(yaml)).Select(v => v.Rule).ToHashSet();

        Assert.Equal(
            new HashSet<string> { "workload-selector", "serviceaccount-token", "resources", "probes", "image", "security" },
            rules);
    }

    private static void Break(List<JsonObject> objects, string breakage)
    {
        var silo = Silo(objects);
        var pod = silo["spec"]!["template"]!["spec"]!.AsObject();
        var container = pod["containers"]![0]!.AsObject();
        JsonObject Single(string kind) => objects.Single(o => o["kind"]?.GetValue<string>() == kind);

        switch (breakage)
        {
            case "no-requests":
                container["resources"]!.AsObject().Remove("requests");
                break;
            case "no-readiness-probe":
                container.Remove("readinessProbe");
                break;
            case "runs-as-root":
                pod["securityContext"]!["runAsUser"] = 0;
                break;
            case "writable-root":
                container["securityContext"]!["readOnlyRootFilesystem"] = false;
                break;
            case "latest-tag":
                container["image"] = "mobilenet-silo:latest";
                break;
            case "untagged-image":
                container["image"] = "registry.local:5000/mobilenet-silo";
                break;
            case "short-grace-period":
                pod["terminationGracePeriodSeconds"] = 25;
                break;
            case "long-drain-timeout":
                objects.Single(o => o["kind"]?.GetValue<string>() == "ConfigMap" && o["data"]?["Worker__DrainTimeout"] is not null)["data"]!["Worker__DrainTimeout"] = "00:01:00";
                break;
            case "selector-mismatch":
                silo["spec"]!["selector"]!["matchLabels"]!["app.kubernetes.io/component"] = "worker";
                break;
            case "service-selects-nothing":
                objects.Single(o => o["metadata"]?["name"]?.GetValue<string>() == "mobilenet-gateway")["spec"]!["selector"]!["app.kubernetes.io/name"] = "mobilenet-gateway";
                break;
            case "pdb-selects-nothing":
                Single("PodDisruptionBudget")["spec"]!["selector"]!["matchLabels"]!["app.kubernetes.io/component"] = "gateway";
                break;
            case "networkpolicy-selects-nothing":
                Single("NetworkPolicy")["spec"]!["podSelector"]!["matchLabels"]!["app.kubernetes.io/name"] = "silo";
                break;
            case "hpa-wrong-target":
                Single("HorizontalPodAutoscaler")["spec"]!["scaleTargetRef"]!["name"] = "mobilenet-worker";
                break;
            case "cluster-id-label-drift":
                silo["spec"]!["template"]!["metadata"]!["labels"]!["orleans/clusterId"] = "another-cluster";
                break;
            case "no-advertised-ip":
                var env = container["env"]!.AsArray();
                env.Remove(env.Single(e => e!["name"]!.GetValue<string>() == "Silo__AdvertisedIp"));
                break;
            case "max-unavailable-1":
                silo["spec"]!["strategy"]!["rollingUpdate"]!["maxUnavailable"] = 1;
                break;
            case "missing-configmap":
                container["envFrom"]![0]!["configMapRef"]!["name"] = "mobilenet-silo-config";
                break;
            case "api-token-mounted":
                pod["automountServiceAccountToken"] = true;
                break;
            case "gateway-port-renamed":
                foreach (var port in container["ports"]!.AsArray())
                {
                    if (port!["name"]!.GetValue<string>() == "gateway")
                    {
                        port["name"] = "orleans-gw";
                    }
                }

                break;
            case "tls-insecure":
                container["env"]!.AsArray().Add(new JsonObject { ["name"] = "Tls__Insecure", ["value"] = "true" });
                break;
            case "tls-not-mounted":
                var mounts = container["volumeMounts"]!.AsArray();
                mounts.Remove(mounts.Single(m => m!["name"]!.GetValue<string>() == "tls"));
                break;
            case "tls-from-emptydir":
                var volume = pod["volumes"]!.AsArray().Single(v => v!["name"]!.GetValue<string>() == "tls")!.AsObject();
                volume.Remove("secret");
                volume["emptyDir"] = new JsonObject();
                break;
            case "gateway-open-to-namespace":
                GatewayPeers(Single("NetworkPolicy")).Add(new JsonObject { ["namespaceSelector"] = new JsonObject() });
                break;
            case "gateway-open-to-ip-range":
                GatewayPeers(Single("NetworkPolicy")).Add(new JsonObject { ["ipBlock"] = new JsonObject { ["cidr"] = "0.0.0.0/0" } });
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(breakage), breakage, "unknown breakage");
        }
    }

    private static JsonObject Silo(List<JsonObject> objects) =>
        objects.Single(o => o["kind"]?.GetValue<string>() == "Deployment" && o["metadata"]?["name"]?.GetValue<string>() == ManifestPolicy.SiloDeployment);

    private static JsonArray GatewayPeers(JsonObject policy) =>
        policy["spec"]!["ingress"]!.AsArray().Select(r => r!.AsObject())
            .Single(r => r["ports"]!.AsArray().Any(p => p!["port"]!.ToJsonString() == "\"gateway\""))["from"]!.AsArray();
}
